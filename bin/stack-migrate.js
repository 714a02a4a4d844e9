#!/usr/bin/env node
// The CLI is TypeScript; tsx loads it (and got, which is ESM-only) without a build step.
require('tsx/cjs');
require('../client/main.ts').main();
