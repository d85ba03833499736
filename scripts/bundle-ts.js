// Bundles one TypeScript entry point for Node with esbuild (dependencies stay external): what
// scripts/run-ts.js and bin/agent-coordinator.js run when no prebuilt bundle will do.
'use strict';
const fs = require('node:fs');

/** Builds `entry` into `outfile`, under a private name first so a concurrent run never loads half a file. */
function bundleTs(entry, outfile) {
  const { buildSync } = require('esbuild');
  const partial = `${outfile}.${process.pid}.tmp.cjs`;
  buildSync({
    entryPoints: [entry],
    outfile: partial,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  fs.renameSync(partial, outfile);
  return outfile;
}

module.exports = { bundleTs };
