// Removes the run's temporary folder (temp-root-setup.js), with whatever the tests and their servers left in it.
const fs = require('node:fs');

module.exports = async () => {
  const root = process.env.STACK_MIGRATE_TEST_TMP_ROOT;
  if (root) fs.rmSync(root, { recursive: true, force: true });
};
