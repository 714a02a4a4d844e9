/**
 * A small reader of Keboola's API Blueprint files (the Storage API and the legacy Orchestrator API). It knows just
 * enough of the format to pull out what our reference fixtures hold: example responses (`+ Response 200` with a
 * JSON body, or a reference to a named `+ Model`), models, request bodies and MSON data structures.
 *
 * The blueprints' JSON is sloppy (trailing commas, missing commas between lines, comments, single quotes), so bodies
 * are repaired before parsing (`repairJson`).
 *
 * Used by `npm run conformance` (scripts/conformance.ts) only: tests read the checked-in fixtures, never a blueprint.
 */
import { existsSync, readFileSync } from 'node:fs';

export type ApiName = 'storage' | 'orchestrator';

/** An example answer of an action. */
export interface BlueprintExample {
  /** the action heading found, e.g. "Token verification [GET]" */
  heading: string;
  /** the headings above it and itself, outermost first ("Group " dropped), e.g. ["Tokens and Permissions", ...] */
  headings: string[];
  status: number;
  body: unknown;
}

export interface ExampleOptions {
  /** a response code (default: the first response of the action) */
  status?: number;
  /** the n-th response among those (e.g. the GCP variant of `files/prepare`) */
  index?: number;
}

const headingLevel = (line: string) => /^(#{1,6})\s/.exec(line)?.[1]!.length ?? 0;
const headingText = (line: string) => line.replace(/^#{1,6}\s+/, '').trim();
const FENCE = /^\s*```/;

/** Repairs the blueprint's JSON: comments, trailing commas, missing commas between lines, single-quoted strings. */
export function repairJson(text: string): string {
  const out: string[] = [];
  const src = text
    .split('\n')
    .map((l) => l.replace(/\s+\/\/.*$/, ''))
    .filter((l) => l.trim() !== '');
  for (let i = 0; i < src.length; i++) {
    let line = src[i]!.replace(/:\s*'([^']*)'/g, ': "$1"');
    const next = src[i + 1]?.trim() ?? '';
    const endsValue = /("|\d|true|false|null|}|\])\s*$/.test(line.trim()) && !/^[[{]\s*$/.test(line.trim());
    if (endsValue && /^["{[]/.test(next)) line += ',';
    out.push(line);
  }
  return out.join('\n').replace(/,(\s*[}\]])/g, '$1');
}

export class Blueprint {
  readonly lines: string[];

  constructor(
    text: string,
    /** for error messages only */
    readonly name = 'the blueprint',
  ) {
    this.lines = text.split(/\r?\n/);
  }

  /** Reads a blueprint file; a missing file is a clear error, not a stack trace from `readFileSync`. */
  static read(file: string): Blueprint {
    if (!existsSync(file)) throw new Error(`blueprint file not found: ${file}`);
    return new Blueprint(readFileSync(file, 'utf8'), file);
  }

  /** Which API this blueprint documents, from its title (`# Storage API`, `# Keboola Orchestrator API`) or HOST. */
  detectApi(): ApiName | undefined {
    const title = this.lines.find((l) => headingLevel(l) === 1) ?? '';
    const host = this.lines.find((l) => /^HOST:/.test(l)) ?? '';
    if (/orchestrator/i.test(title) || /orchestrator/i.test(host)) return 'orchestrator';
    if (/storage api/i.test(title)) return 'storage';
    return undefined;
  }

  private findHeading(query: string, from = 0, levelMax = 6): number {
    let partial = -1;
    for (let i = from; i < this.lines.length; i++) {
      const level = headingLevel(this.lines[i]!);
      if (!level || level > levelMax) continue;
      const text = headingText(this.lines[i]!);
      if (text === query) return i;
      if (partial < 0 && text.includes(query)) partial = i;
    }
    return partial;
  }

  /** Where the section of heading line `h` ends (the next heading of the same or a higher level). */
  private sectionEnd(h: number): number {
    const level = headingLevel(this.lines[h]!);
    let end = h + 1;
    while (end < this.lines.length && !(headingLevel(this.lines[end]!) && headingLevel(this.lines[end]!) <= level)) end++;
    return end;
  }

  /** The heading trail of line `h`: the enclosing headings of lower levels, then its own ("Group " dropped). */
  headingsOf(h: number): string[] {
    const trail: string[] = [headingText(this.lines[h]!)];
    let level = headingLevel(this.lines[h]!);
    for (let i = h - 1; i >= 0 && level > 1; i--) {
      const l = headingLevel(this.lines[i]!);
      if (l && l < level) {
        trail.unshift(headingText(this.lines[i]!));
        level = l;
      }
    }
    return trail.map((t) => t.replace(/^Group\s+/, ''));
  }

  /**
   * Finds an action. `action` is a heading text ("Token verification [GET]") or a part of it (a path); "Section >
   * Action" picks an action below a given section heading (level 1 or 2), for names used several times.
   */
  private findAction(action: string): number {
    const parts = action.split(' > ');
    if (parts.length === 2) {
      const start = this.findHeading(parts[0]!, 0, 2);
      if (start < 0) throw new Error(`section "${parts[0]}" not found in ${this.name}`);
      const h = this.findHeading(parts[1]!, start + 1);
      if (h < 0) throw new Error(`action "${action}" not found in ${this.name}`);
      return h;
    }
    const h = this.findHeading(action);
    if (h < 0) throw new Error(`action "${action}" not found in ${this.name}`);
    return h;
  }

  /** The JSON body that starts after line `from` (up to the next heading or response); fences are skipped. */
  private jsonAfter(from: number, what: string): unknown {
    let i = from;
    while (i < this.lines.length && !/^\s*[[{]/.test(this.lines[i]!)) {
      if (headingLevel(this.lines[i]!) || /^\s*\+ (Response|Request) /.test(this.lines[i]!)) throw new Error(`${what}: no JSON body after line ${from + 1} of ${this.name}`);
      i++;
    }
    const body: string[] = [];
    let depth = 0;
    let inString = false;
    for (; i < this.lines.length; i++) {
      const line = this.lines[i]!;
      body.push(line);
      for (let k = 0; k < line.length; k++) {
        const c = line[k];
        if (inString) {
          if (c === '\\') k++;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') depth--;
      }
      if (depth <= 0) break;
    }
    const repaired = repairJson(body.join('\n'));
    try {
      return JSON.parse(repaired) as unknown;
    } catch (e) {
      throw new Error(`${what}: cannot parse the JSON of ${this.name}: ${(e as Error).message}\n${repaired}`);
    }
  }

  /**
   * The example response of an action, with its status. A response that names a model (`[Manage Orchestration][]`,
   * as the Orchestrator blueprint does) answers that model; a response without a body has `body: undefined`.
   */
  example(action: string, opts: ExampleOptions = {}): BlueprintExample {
    const h = this.findAction(action);
    const end = this.sectionEnd(h);
    const responses: { line: number; status: number }[] = [];
    for (let i = h; i < end; i++) {
      const m = /^\s*\+ Response (\d+)/.exec(this.lines[i]!);
      if (m) responses.push({ line: i, status: Number(m[1]) });
    }
    const candidates = opts.status ? responses.filter((r) => r.status === opts.status) : responses;
    const chosen = candidates[opts.index ?? 0];
    if (!chosen) throw new Error(`action "${action}" has no response${opts.status ? ` ${opts.status}` : ''}${opts.index ? ` #${opts.index}` : ''} in ${this.name}`);
    const base = { heading: headingText(this.lines[h]!), headings: this.headingsOf(h), status: chosen.status };
    for (let i = chosen.line + 1; i < end; i++) {
      const line = this.lines[i]!;
      if (headingLevel(line) || /^\s*\+ (Response|Request) /.test(line)) break;
      const ref = /^\s*\[([^\]]+)\]\[\]\s*$/.exec(line);
      if (ref) return { ...base, body: this.model(ref[1]!).body };
      if (/^\s*[[{]/.test(line)) return { ...base, body: this.jsonAfter(i, `the example of "${action}"`) };
    }
    // a response without a body (204, or a 404 described in words)
    return { ...base, body: undefined };
  }

  /** The fenced JSON of the `+ Model` of resource section `## <name> [...]` (Orchestrator blueprint). */
  model(name: string): { headings: string[]; body: unknown } {
    const start = this.lines.findIndex((l) => l.startsWith(`## ${name} [`));
    if (start < 0) throw new Error(`model section "${name}" not found in ${this.name}`);
    const end = this.sectionEnd(start);
    const model = this.lines.findIndex((l, i) => i > start && i < end && /^\+ Model/.test(l));
    const open = this.lines.findIndex((l, i) => i > model && i < end && FENCE.test(l));
    const close = this.lines.findIndex((l, i) => i > open && FENCE.test(l));
    if (model < 0 || open < 0 || close < 0) throw new Error(`section "${name}" has no fenced model in ${this.name}`);
    const text = repairJson(this.lines.slice(open + 1, close).join('\n'));
    return { headings: this.headingsOf(start), body: JSON.parse(text) as unknown };
  }

  /** The request body example of an action heading (`Create a Orchestration [POST]`): the first fenced block in it. */
  request(heading: string): { headings: string[]; body: unknown } {
    const start = this.lines.findIndex((l) => headingLevel(l) > 0 && headingText(l).startsWith(heading));
    if (start < 0) throw new Error(`action "${heading}" not found in ${this.name}`);
    const end = this.sectionEnd(start);
    const open = this.lines.findIndex((l, i) => i > start && i < end && FENCE.test(l));
    const close = this.lines.findIndex((l, i) => i > open && FENCE.test(l));
    if (open < 0 || close < 0) throw new Error(`action "${heading}" has no fenced request body in ${this.name}`);
    return { headings: this.headingsOf(start), body: JSON.parse(repairJson(this.lines.slice(open + 1, close).join('\n'))) as unknown };
  }

  /**
   * An example object built from an MSON data structure (`### Workspace` under `## Data Structures`): `+ key: value
   * (type)` lines, nested by indentation. Values are placeholders of the declared type (0, false, [], ""); nullable
   * fields become null (a shape comparison accepts anything for null). `base` is the structure it inherits from
   * (`### WorkspaceCreated (Workspace)`): its fields come first and are overridden.
   */
  dataStructure(heading: string, base: Record<string, unknown> = {}): { headings: string[]; body: Record<string, unknown> } {
    const start = this.lines.findIndex((l) => l.trim() === `### ${heading}` || l.trim().startsWith(`### ${heading} (`));
    if (start < 0) throw new Error(`data structure "${heading}" not found in ${this.name}`);
    const root: Record<string, unknown> = structuredClone(base);
    const stack: Array<{ indent: number; node: Record<string, unknown> }> = [{ indent: -1, node: root }];
    for (let i = start + 1; i < this.lines.length && !/^#{1,3} /.test(this.lines[i]!); i++) {
      // `+ key: value (type, nullable) - description`; the description may hold parentheses of its own
      const m = /^(\s*)\+ ([A-Za-z]+)(?:\s*:\s*([^(]*))?\s*(?:\(([^)]*)\))?/.exec(this.lines[i]!);
      if (!m) continue;
      const indent = m[1]!.length;
      while (stack[stack.length - 1]!.indent >= indent) stack.pop();
      const parent = stack[stack.length - 1]!.node;
      const typeText = m[4] ?? '';
      const nested = !typeText && !m[3];
      if (nested) {
        const child = (parent[m[2]!] as Record<string, unknown>) ?? {};
        parent[m[2]!] = child;
        stack.push({ indent, node: child });
        continue;
      }
      const nullable = /nullable/.test(typeText);
      const type = /number/.test(typeText) ? 0 : /boolean/.test(typeText) ? false : /array/.test(typeText) ? [] : '';
      parent[m[2]!] = nullable ? null : type;
    }
    return { headings: this.headingsOf(start), body: root };
  }
}
