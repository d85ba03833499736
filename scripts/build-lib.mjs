#!/usr/bin/env node
// The library build that `npm pack` ships (run by `prepack`):
//   dist/lib/shared/**      every module of shared/ as CommonJS, one file per module (esbuild,
//                           no bundling: `agent-coordinator` and `agent-coordinator/aws` share
//                           one copy of the core, so its classes are the same objects), with
//                           the files they read at run time (dashboard assets, JSON imports)
//   dist/types/shared/**    the .d.ts declarations (tsc -p tsconfig.build.json)
// Dependencies stay external: they are the package's own dependencies.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'lib');
const ASSETS = /\.(html|css|js|svg|json)$/;

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}

const sources = walk(path.join(root, 'shared'));
const modules = sources.filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'));

rmSync(out, { recursive: true, force: true });
rmSync(path.join(root, 'dist', 'types'), { recursive: true, force: true });
await build({
  entryPoints: modules,
  outdir: out,
  outbase: root,
  bundle: false,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: false,
  logLevel: 'warning',
});

/** Copies a file of the repository to the same place under dist/lib (where the modules expect it). */
function copy(file) {
  const dest = path.join(out, path.relative(root, file));
  mkdirSync(path.dirname(dest), { recursive: true });
  copyFileSync(file, dest);
}
for (const f of sources) if (ASSETS.test(f)) copy(f);
// JSON files a module imports from outside shared/ (e.g. docs/openapi.json).
for (const m of modules) {
  for (const [, spec] of readFileSync(m, 'utf8').matchAll(/from\s+'(\.[^']+\.json)'/g)) {
    const file = path.resolve(path.dirname(m), spec);
    if (existsSync(file)) copy(file);
  }
}

const tsc = spawnSync(
  process.execPath,
  [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')],
  { cwd: root, stdio: 'inherit' },
);
if (tsc.status !== 0) {
  console.error('build-lib: tsc reported errors (see above)');
  process.exit(tsc.status ?? 1);
}
console.log(`build-lib: ${modules.length} modules in dist/lib, declarations in dist/types`);
