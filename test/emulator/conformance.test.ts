/**
 * Conformance with the Storage API blueprint: for every implemented endpoint with an example, every key of the
 * example exists in the emulator's answer with the same JSON type (recursively), and the status code matches.
 * The examples are the checked-in reference fixtures (test/fixtures/reference/storage-api); the cases, with the
 * keys ignored and why, are in ./conformance-cases.ts, shared with `npm run conformance`.
 */
import { startStack, type EmulatedStack } from '../../emulator/server';
import { shapeDiff, storageExample } from '../helpers/reference';
import { MAPS, OPAQUE, STORAGE_CASES } from './conformance-cases';
import { Api, SOURCE_SEED, SOURCE_TOKEN, tempDir } from './util';

let stack: EmulatedStack;
let stackOnGcp: EmulatedStack;
let api: Api;
let apiOnGcp: Api;

beforeAll(async () => {
  stack = await startStack({ dataDir: tempDir(), seed: SOURCE_SEED, jobDelayMs: 20 });
  stackOnGcp = await startStack({ dataDir: tempDir(), seed: SOURCE_SEED, jobDelayMs: 20, fileProvider: 'gcp' });
  api = new Api(stack.url, SOURCE_TOKEN);
  apiOnGcp = new Api(stackOnGcp.url, SOURCE_TOKEN);
});
afterAll(() => Promise.all([stack.close(), stackOnGcp.close()]));

describe('Storage API blueprint conformance', () => {
  test.each(STORAGE_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const example = storageExample(c.fixture);
    const actual = await c.call(c.fileProvider === 'gcp' ? apiOnGcp : api);
    expect({ status: actual.status }).toEqual({ status: example.status });
    const expected = c.pickExample ? c.pickExample(example.body) : example.body;
    expect(shapeDiff(expected, actual.body, { ignore: c.ignore, opaque: OPAQUE, maps: MAPS })).toEqual([]);
  });

  test('error shape (401, 404, 400) follows the blueprint: error + code (+ status "error")', async () => {
    const example = storageExample('error-not-found');
    const bad = await new Api(stack.url, 'nope').get('tokens/verify');
    expect(bad.status).toBe(401);
    expect(shapeDiff(example.body, bad.body)).toEqual([]);
    expect(bad.body).toMatchObject({ code: 'storage.tokenInvalid', status: 'error' });
    const missing = await api.get('buckets/in.c-nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'storage.buckets.notFound', status: 'error' });
    const dup = await api.post('buckets', { name: 'crm', stage: 'in' });
    expect(dup.status).toBe(400);
    expect(dup.body).toMatchObject({ code: 'storage.buckets.alreadyExists', status: 'error' });
    expect(typeof dup.body.error).toBe('string');
  });
});
