#!/usr/bin/env node
// The CLI is TypeScript; tsx loads it without a build step.
require('tsx/cjs');
require('../client/main.ts').main();
