#!/usr/bin/env node
// Builds every deployable bundle with esbuild and prints each one's size.
//   dist/aws/<function>/index.js   one per Lambda handler in functions/, and beside it
//   dist/aws/<function>/chunks/    its optional modules, loaded on first use (lambda-chunks.cjs)
//   dist/azure/index.js            the Azure Function App (azure/index.ts), and beside it
//   dist/azure/chunks/             its SDK clients, loaded when the runtime makes them
//   dist/gcp/index.js              the Cloud Functions entry (gcp/index.ts)
//   dist/local/index.js            the local runtime
//   dist/cli/index.js              the CLI
// `node scripts/build.mjs aws` builds one group. After the sizes it prints, per bundle, what
// dominates it (esbuild's metafile: the packages or source folders with the most bytes in it).
// The Lambda bundles use the very options `serverless package` bundles with
// (scripts/lambda-esbuild.cjs).
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { lambdaEsbuildOptions } = require('./lambda-esbuild.cjs');
const { lambdaChunks, AZURE_CHUNKS } = require('./lambda-chunks.cjs');
/** How many of a bundle's biggest inputs the report names. */
const TOP_INPUTS = Number(process.env.BUNDLE_REPORT_TOP || 6);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv[2];

const entries = [];
const fnDir = path.join(root, 'functions');
if (existsSync(fnDir)) {
  for (const file of readdirSync(fnDir)) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts') || file.endsWith('.d.ts')) continue;
    const name = file.replace(/\.ts$/, '');
    entries.push({ group: 'aws', name, entry: `functions/${file}`, out: `dist/aws/${name}/index.js` });
  }
}
for (const [group, entry, out] of [
  ['azure', 'azure/index.ts', 'dist/azure/index.js'],
  ['gcp', 'gcp/index.ts', 'dist/gcp/index.js'],
  ['local', 'shared/runtime/local-main.ts', 'dist/local/index.js'],
  ['cli', 'cli/index.ts', 'dist/cli/index.js'],
]) {
  if (existsSync(path.join(root, entry))) entries.push({ group, name: group, entry, out });
}

const selected = entries.filter((e) => !only || e.group === only);
if (selected.length === 0) {
  console.error(`nothing to build${only ? ` for "${only}"` : ''}`);
  process.exit(1);
}

/** The Function App folder needs host.json and a package.json whose `main` is the bundle. */
async function packageFunctionApp(dir) {
  const { copyFileSync, writeFileSync, readFileSync } = await import('node:fs');
  copyFileSync(path.join(root, 'azure', 'host.json'), path.join(dir, 'host.json'));
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const app = {
    name: `${pkg.name}-azure`,
    version: pkg.version,
    private: true,
    main: 'index.js',
    engines: { node: '>=20' },
  };
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(app, null, 2)}\n`);
}

/**
 * Cloud Functions installs these from dist/gcp/package.json instead of the bundle carrying them:
 * the platform's invoker must load the very functions-framework module the bundle registers
 * with (its registry is per module instance), and the Google SDKs read files beside their code.
 */
const GCP_DEPENDENCIES = [
  '@google-cloud/functions-framework',
  '@google-cloud/firestore',
  '@google-cloud/pubsub',
  'google-auth-library',
];

/** The Cloud Functions source folder: the bundle and a package.json pinning its dependencies. */
async function packageCloudFunctions(dir) {
  const { writeFileSync, readFileSync } = await import('node:fs');
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const dependencies = Object.fromEntries(GCP_DEPENDENCIES.map((d) => [d, pkg.dependencies[d]]));
  const app = {
    name: `${pkg.name}-gcp`,
    version: pkg.version,
    private: true,
    main: 'index.js',
    engines: { node: '>=20' },
    dependencies,
  };
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(app, null, 2)}\n`);
}

/** A metafile input's group: its npm package, or its first two path segments (shared/core). */
function inputGroup(file) {
  const m = file.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  return m ? m[1] : file.split('/').slice(0, 2).join('/');
}

/** The output's bytes by input group, largest first. */
function dominantInputs(metafile, out) {
  const output = metafile.outputs[out] ?? Object.values(metafile.outputs).find((o) => o.entryPoint);
  const groups = new Map();
  for (const [file, { bytesInOutput }] of Object.entries(output?.inputs ?? {}))
    groups.set(inputGroup(file), (groups.get(inputGroup(file)) ?? 0) + bytesInOutput);
  return [...groups].sort((a, b) => b[1] - a[1]);
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
/** Builds one bundle: its size rows (the bundle, then any chunks) and what dominates it. */
async function buildBundle(e) {
  const rows = [];
  // No chunk of an earlier build stays behind.
  if (e.group === 'aws' || e.group === 'azure')
    rmSync(path.join(root, path.dirname(e.out), 'chunks'), { recursive: true, force: true });
  const result = await build({
    entryPoints: [path.join(root, e.entry)],
    outfile: path.join(root, e.out),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    ...(e.group === 'aws' ? lambdaEsbuildOptions : {}),
    // The Function App's SDK clients (Blob Storage, identity, Cosmos DB, Service Bus) go to
    // files of their own beside index.js, loaded when the runtime makes them: module init then
    // compiles none of them (scripts/lambda-chunks.cjs, as for the Lambda handlers).
    ...(e.group === 'azure'
      ? { plugins: [lambdaChunks({ host: 'shared/runtime/azure.ts', chunks: AZURE_CHUNKS })] }
      : {}),
    metafile: true,
    logLevel: 'warning',
    // Optional native/peer modules some SDKs probe for at run time.
    // `@azure/functions-core` is provided by the Azure Functions Node worker at run time.
    external: [
      'classic-level',
      'bufferutil',
      'utf-8-validate',
      'playwright-core',
      '@azure/functions-core',
      ...(e.group === 'gcp' ? GCP_DEPENDENCIES : []),
    ],
  });
  if (e.group === 'azure') await packageFunctionApp(path.dirname(path.join(root, e.out)));
  if (e.group === 'gcp') await packageCloudFunctions(path.dirname(path.join(root, e.out)));
  const size = statSync(path.join(root, e.out)).size;
  rows.push([e.group, e.name, e.out, size]);
  const report = [
    e.out,
    size,
    dominantInputs(result.metafile, path.relative(process.cwd(), path.join(root, e.out))),
  ];
  // The Lambda handlers' and the Function App's optional modules, in files of their own beside
  // the bundle's (scripts/lambda-chunks.cjs): loaded only by the configurations that use them.
  const chunkDir = `${path.dirname(e.out)}/chunks/`;
  for (const file of Object.keys(result.metafile.outputs).map((f) => path.relative(root, path.resolve(f))))
    if (file.startsWith(chunkDir) && file.endsWith('.js'))
      rows.push([e.group, e.name, file, statSync(path.join(root, file)).size]);
  return { rows, report };
}

// All at once: the Lambda handlers' chunks are then built once for all of them.
const built = await Promise.all(selected.map(buildBundle));
const rows = built.flatMap((b) => b.rows);
const reports = built.map((b) => b.report);
const w = Math.max(...rows.map((r) => r[2].length));
console.log(`${'group'.padEnd(6)} ${'bundle'.padEnd(w)}  size`);
for (const [group, , out, size] of rows) console.log(`${group.padEnd(6)} ${out.padEnd(w)}  ${kb(size)}`);
console.log(
  `\nwhat dominates each bundle (esbuild metafile, top ${TOP_INPUTS} inputs by bytes in the output)`,
);
for (const [out, size, inputs] of reports) {
  const top = inputs
    .slice(0, TOP_INPUTS)
    .map(([name, bytes]) => `${name} ${kb(bytes)} (${Math.round((100 * bytes) / size)}%)`);
  console.log(`${out}: ${top.join(', ')}`);
}
