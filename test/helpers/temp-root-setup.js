// One temporary folder per test run (Jest's globalSetup; temp-root-teardown.js removes it). TMPDIR points into it,
// so the tests' own folders and those of the servers they start (emulators, object stores, Temporal) land there,
// and a test that stops half-way leaves nothing in the machine's temporary folder.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

module.exports = async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-migrate-tests-'));
  process.env.STACK_MIGRATE_TEST_TMP_ROOT = root;
  process.env.TMPDIR = root;
};
