#!/usr/bin/env node
// The `agent-coordinator` command. Runs the built CLI (dist/cli/index.js, from `npm run build`)
// when it is at least as new as the sources; otherwise bundles cli/index.ts on the fly with
// esbuild into .esbuild/ (as scripts/run-ts.js does), which takes well under a second.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const built = path.join(root, 'dist', 'cli', 'index.js');
const source = path.join(root, 'cli', 'index.ts');

/** Newest modification time of the .ts files under these folders (0 when there are none). */
function newestSource(dirs) {
  let newest = 0;
  const walk = (dir) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  for (const d of dirs) walk(path.join(root, d));
  return newest;
}

const mtime = (file) => (fs.existsSync(file) ? fs.statSync(file).mtimeMs : -1);

function entryPoint() {
  const hasSource = fs.existsSync(source);
  if (!hasSource && fs.existsSync(built)) return built;
  const newest = hasSource ? newestSource(['cli', 'shared']) : 0;
  if (mtime(built) >= newest) return built;
  const outfile = path.join(root, '.esbuild', 'cli.cjs');
  if (mtime(outfile) >= newest) return outfile;
  if (!hasSource) {
    process.stderr.write('agent-coordinator: neither dist/cli/index.js nor cli/index.ts was found\n');
    process.exit(1);
  }
  let bundleTs;
  try {
    require.resolve('esbuild');
    ({ bundleTs } = require('../scripts/bundle-ts'));
  } catch {
    process.stderr.write(
      'agent-coordinator: dist/cli/index.js is missing or older than the sources: run "npm run build"\n',
    );
    process.exit(1);
  }
  return bundleTs(source, outfile);
}

require(entryPoint())
  .main()
  .catch((err) => {
    process.stderr.write(`agent-coordinator: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });
