#!/usr/bin/env node
// Runs a TypeScript entry point: esbuild bundles it (dependencies stay external) into
// .esbuild/, then Node runs the bundle. Takes well under a second; no ts-node, no flags.
'use strict';
const path = require('node:path');
const { bundleTs } = require('./bundle-ts');

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: node scripts/run-ts.js <entry.ts> [args...]\n');
  process.exit(2);
}
const root = path.resolve(__dirname, '..');
const outfile = path.join(root, '.esbuild', `${entry.replace(/[\\/]/g, '_').replace(/\.ts$/, '')}.cjs`);
bundleTs(path.resolve(root, entry), outfile);
process.argv = [process.argv[0], outfile, ...args];
const mod = require(outfile);
if (typeof mod.main === 'function') {
  Promise.resolve(mod.main()).catch((err) => {
    process.stderr.write(`${entry}: ${err && err.message ? err.message : err}\n`);
    process.exit(1);
  });
}
