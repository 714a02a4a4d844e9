/**
 * The items of a JSON array read as a stream (stack/transport.ts, listItems): for the listings the Storage API does
 * not page (a component's configurations: 10,000 of them are one answer of tens of MB), so that a worker holds one
 * item at a time rather than the answer's text, its parse and its validated copy at once.
 */
import { JSONParser } from '@streamparser/json';

/** Why a body could not be read as a list (the caller names the endpoint). */
export class NotAJsonList extends Error {
  constructor(
    message: string,
    /** What the body was instead: "an object", "not JSON" (no list at all) or "cut short". */
    readonly found: 'an object' | 'a value' | 'not JSON' | 'cut short',
  ) {
    super(message);
  }
}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * The items of the JSON array in `chunks`, in order; more of the body is read only when the consumer asks for the
 * next item. Throws NotAJsonList when the body is not an array (an object, an empty body or broken JSON) or ends
 * before the array closes; errors of `chunks` itself are thrown as they are.
 */
export async function* jsonArrayItems(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const parser = new JSONParser({ paths: ['$.*'], keepStack: false });
  const ready: unknown[] = [];
  let failure: Error | undefined;
  parser.onValue = ({ value }) => ready.push(value);
  parser.onError = (error) => (failure ??= error);
  let opening: number | undefined; // the body's first character that is not whitespace
  for await (const chunk of chunks) {
    if (opening === undefined) {
      const first = chunk.findIndex((byte) => !WHITESPACE.has(byte));
      if (first >= 0) opening = chunk[first];
      if (opening === 0x7b) throw new NotAJsonList('the body is an object, not a list', 'an object');
      if (opening !== undefined && opening !== 0x5b) throw new NotAJsonList('the body is not a list', 'a value');
    }
    parser.write(chunk);
    if (failure) throw new NotAJsonList(`the body is not JSON: ${failure.message}`, 'not JSON');
    // The items of one chunk are handed over one by one; the next chunk is read after the last of them.
    while (ready.length) yield ready.shift();
  }
  if (opening === undefined) throw new NotAJsonList('the body is empty', 'not JSON');
  if (!parser.isEnded) throw new NotAJsonList('the body ends before its list does', 'cut short');
}
