const fs = require('node:fs');
const path = require('node:path');

// Some dependencies are ESM-only (p-map); Jest on Node 20 cannot require them (docs/architecture.md#toolchain-traps).
// Every package that declares "type": "module" is transpiled to CommonJS by ts-jest; the rest stay untouched.
function esmOnlyPackages(root = path.join(__dirname, 'node_modules')) {
  const names = [];
  for (const entry of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    const dirs = entry.startsWith('@') ? fs.readdirSync(path.join(root, entry)).map((n) => `${entry}/${n}`) : [entry];
    for (const name of dirs) {
      try {
        const manifest = JSON.parse(fs.readFileSync(path.join(root, name, 'package.json'), 'utf8'));
        if (manifest.type === 'module') names.push(name);
      } catch {
        // not a package folder (.bin, .cache)
      }
    }
  }
  return names;
}

// The AWS SDK warns once per process that its 2027 releases need Node 22; tests on Node 20 are not the audience.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }],
    '^.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022' }, isolatedModules: true }],
  },
  transformIgnorePatterns: [`node_modules/(?!(${esmOnlyPackages().map(escape).join('|')})/)`],
  testTimeout: 120000,
  globalSetup: '<rootDir>/test/helpers/temp-root-setup.js',
  globalTeardown: '<rootDir>/test/helpers/temp-root-teardown.js',
};
