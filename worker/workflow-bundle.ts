// The worker's workflow code is bundled by webpack. Done in the worker process, webpack's ~130 MB stay with the
// worker for its lifetime (measured: an idle worker peaked at 402 MB, and at 268 MB with the bundle built
// elsewhere). So `npm run worker` builds it in a short-lived child process, at every start: never stale.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, type BundleOptions } from '@temporalio/worker';

/**
 * What the bundle leaves out. Zod's translations of its messages into 40-odd languages (`z.locales`, which nothing
 * here uses; English is registered by the schemas themselves) were 405 KB of the bundle's 1.6 MB of code, parsed
 * and held by the worker's main thread and again by its workflow thread (BENCHMARKS.md, "Issue 13: configurations
 * beside the tables"). The SDK replaces a left-out module with an empty one. Only zod's CommonJS build needs this,
 * the one the compiled worker's workflows require; bundled from the TypeScript sources (the tests), webpack takes
 * its ES modules and drops the unused ones by itself.
 */
export const WORKFLOW_BUNDLER_OPTIONS: Pick<BundleOptions, 'ignoreModules'> = {
  ignoreModules: [path.join(path.dirname(require.resolve('zod/package.json')), 'v4', 'locales', 'index.cjs')],
};

/** Builds the bundle in a child process and answers the path of the file it wrote. */
export function buildWorkflowBundle(): string {
  const codePath = path.join(os.tmpdir(), `stack-migrate-workflows-${process.pid}.js`);
  // execArgv carries the worker's Node flags (and tsx's loader when it runs from the sources), so the child runs
  // this file as the worker does, compiled or not.
  const child = spawnSync(process.execPath, [...process.execArgv, __filename, codePath], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (child.status !== 0) throw new Error(`building the workflow bundle failed (exit ${child.status ?? child.signal}): see the output above`);
  return codePath;
}

if (require.main === module) {
  bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('WARN'), ...WORKFLOW_BUNDLER_OPTIONS }).then(
    ({ code }) => writeFileSync(process.argv[2], code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
