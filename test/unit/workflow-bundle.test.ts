// What the compiled worker's workflow bundle holds: its main thread and its workflow thread each parse and keep it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../scripts/go-tools';
import { compileWorker } from '../../scripts/worker-process';

test("the compiled worker's workflow bundle leaves zod's translations out and keeps its English messages", () => {
  compileWorker();
  const bundlePath = path.join(os.tmpdir(), `workflow-bundle-${process.pid}.js`);
  // what `npm run worker` runs at its start (worker/workflow-bundle.ts)
  const built = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'dist/worker/workflow-bundle.js'), bundlePath], { encoding: 'utf8' });
  expect(built.stderr).toBe('');
  expect(built.status).toBe(0);
  const code = readFileSync(bundlePath, 'utf8');
  const zodModules = [...code.matchAll(/^\/\*\*\*\/ "[^"]*node_modules\/zod\/(v4\/[^"]+)"$/gm)].map((m) => m[1]);
  expect(zodModules).toContain('v4/classic/schemas.cjs');
  expect(zodModules.filter((m) => m.startsWith('v4/locales/'))).toEqual(['v4/locales/en.cjs']);
}, 120_000);
