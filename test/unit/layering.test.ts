// The layering rules of docs/architecture.md, read from the source's own imports: no import cycle, the CLI and
// the worker apart, workflows that import activities' types only, no source file over 600 lines.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const SOURCE_FOLDERS = ['activities', 'client', 'emulator', 'snapshot', 'stack', 'temporal', 'worker', 'workflows', 'scripts', 'examples'];
const MAX_LINES = 600;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'seeds' ? [] : sourceFiles(full);
    return /\.ts$/.test(name) && !name.endsWith('.d.ts') ? [full] : [];
  });
}

interface Import {
  target: string;
  typeOnly: boolean;
}

/** The project files a file imports (relative specifiers resolved to files), and whether only types are taken. */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const found: Import[] = [];
  for (const match of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'/gm)) {
    const resolved = resolve(path.resolve(path.dirname(file), match[3]));
    if (resolved) found.push({ target: resolved, typeOnly: Boolean(match[2]) });
  }
  return found;
}

function resolve(base: string): string | undefined {
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

const files = SOURCE_FOLDERS.flatMap((folder) => sourceFiles(path.join(ROOT, folder)));
const graph = new Map(files.map((file) => [file, importsOf(file)]));
const rel = (file: string) => path.relative(ROOT, file);
const folderOf = (file: string) => rel(file).split(path.sep)[0];

test('the source has no import cycle', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (file: string, trail: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...trail.slice(trail.indexOf(file)), file].map(rel).join(' -> '));
      return;
    }
    state.set(file, 'visiting');
    for (const { target } of graph.get(file) ?? []) visit(target, [...trail, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  expect(cycles).toEqual([]);
});

test('the CLI and the worker do not import each other', () => {
  const crossings = files.flatMap((file) =>
    (graph.get(file) ?? [])
      .filter(({ target }) => (folderOf(file) === 'client' && folderOf(target) === 'worker') || (folderOf(file) === 'worker' && folderOf(target) === 'client'))
      .map(({ target }) => `${rel(file)} -> ${rel(target)}`),
  );
  expect(crossings).toEqual([]);
});

test('workflows import activities for their types only, and nothing that does I/O', () => {
  const forbidden = new Set(['activities', 'stack', 'snapshot', 'emulator', 'worker', 'client', 'temporal']);
  const leaks = files
    .filter((file) => folderOf(file) === 'workflows')
    .flatMap((file) => (graph.get(file) ?? []).filter(({ target, typeOnly }) => forbidden.has(folderOf(target)) && !typeOnly).map(({ target }) => `${rel(file)} -> ${rel(target)}`));
  expect(leaks).toEqual([]);
});

test(`no source file is longer than ${MAX_LINES} lines`, () => {
  const long = files.map((file) => [rel(file), readFileSync(file, 'utf8').split('\n').length] as const).filter(([, lines]) => lines > MAX_LINES);
  expect(long).toEqual([]);
});

test('the import reader sees the imports it checks', () => {
  // guards the checks above against a reader that finds nothing
  const runImports = graph.get(path.join(ROOT, 'workflows', 'migrate-project.ts'))!.map(({ target }) => rel(target));
  expect(runImports).toEqual(expect.arrayContaining([path.join('workflows', 'run.ts'), path.join('workflows', 'restore-steps.ts')]));
  expect(graph.get(path.join(ROOT, 'workflows', 'validate-project.ts'))).toContainEqual({ target: path.join(ROOT, 'activities', 'index.ts'), typeOnly: true });
});
