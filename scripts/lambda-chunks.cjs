// An esbuild plugin that keeps the Lambda handlers' optional, configuration-dependent modules
// out of the handler's file. Each group of them is built into a file of its own,
// `chunks/<name>.js` beside the handler (so in the same function artifact), and that file is
// loaded only where the code loads the module lazily (`require()` or `import()`), on first use.
// What a handler's file holds is what V8 compiles at every cold start; a chunk costs nothing
// until a configuration uses it.
//
// A chunk does not carry copies of what the handler's file already holds (the core, the SDK's
// @smithy parts): it takes the handler's own instances of those modules, so the core's error
// classes (`instanceof`), the SDK's module state and the like are the same objects on both sides.
//
// Per output folder (serverless-esbuild builds every function into one folder, scripts/build.mjs
// each into its own), once for all the handlers built into it at the same time:
//   1. the module every handler imports (`host`, the AWS composition root) is analysed with the
//      chunks' modules left out: which chunk modules it loads, and which modules are in its file
//      (so in every handler's file);
//   2. each chunk is built with each of those modules replaced by a stub that takes it from the
//      handler's file: export by export for an ES module (each export a pure call, so that the
//      chunk keeps only the exports it uses; a re-export comes from the module it names), whole
//      for a CommonJS one. What the handler's file does not hold is bundled into the chunk;
//   3. in the handler's own build, a lazy load of a chunk's module becomes
//      `require('./chunks/<name>.js')(host)('<id>')` (an id is a short hash of the module's
//      path), and a module that the handler's entry imports publishes `host`: the exports step 2
//      found the chunks use, and only those. It imports them (a module that is `require`d
//      instead is wrapped, keeps every export and makes every module it imports wrapped too).
// An `import` statement of a chunk's module fails the build: it would load the chunk at every
// cold start. Both Lambda builds use this plugin (scripts/lambda-esbuild.cjs): serverless-esbuild
// zips every file of its build folder but the other functions' bundles into each artifact, so
// the chunks travel with every function.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
/** The chunks' folder beside the handler's file. */
const CHUNK_DIR = 'chunks';

/**
 * The optional modules of the AWS runtime (shared/runtime/aws.ts), grouped by the configuration
 * that loads them. A `.ts` module is matched by its path, a package by its name.
 */
const AWS_CHUNKS = [
  // The claim-check store and @aws-sdk/client-s3: with PAYLOAD_BUCKET, on the first large payload.
  { name: 's3', modules: ['shared/adapters/aws/s3-payload-store.ts'] },
  // The Bedrock LLM client and @aws-sdk/client-bedrock-runtime: ROUTER=bedrock.
  { name: 'bedrock', modules: ['shared/adapters/aws/bedrock-client.ts'] },
  // Per-agent SQS queues and @aws-sdk/client-sqs: with AGENT_QUEUE_URL_TEMPLATE.
  { name: 'sqs', modules: ['shared/adapters/aws/sqs-bus.ts'] },
  // Powertools Tracer and the X-Ray SDK: POWERTOOLS_TRACE_ENABLED=true.
  { name: 'tracer', modules: ['@aws-lambda-powertools/tracer'] },
  // OpenTelemetry: with the OTEL_* variables that turn it on.
  { name: 'otel', modules: ['shared/adapters/otel/otel-telemetry.ts'] },
  // The SDK's credential and region sources after the environment (shared config and SSO
  // files, web identity, container and instance metadata) with the STS/SSO clients they use:
  // Lambda gives every function its credentials and region in the environment.
  {
    name: 'credentials',
    modules: [
      '@aws-sdk/credential-provider-ini',
      '@aws-sdk/credential-provider-sso',
      '@aws-sdk/credential-provider-process',
      '@aws-sdk/credential-provider-web-identity',
      '@aws-sdk/credential-provider-http',
      '@smithy/credential-provider-imds',
    ],
  },
];

/**
 * The optional modules of the Azure Function App (shared/runtime/azure.ts): the adapter modules
 * that make each SDK's client, required when the runtime makes that client (on the first
 * invocation) and only when the configuration uses it. Adapter modules rather than the SDK
 * packages, so that each SDK is bundled from its ES modules (what an `import` resolves to) and
 * tree-shaken, not from the CommonJS build a `require` of the package would take. One chunk each:
 * a key configuration never compiles the identity chunk, nor one without PAYLOAD_BUCKET the blob one.
 */
const AZURE_CHUNKS = [
  // The claim-check store and @azure/storage-blob (with apache-arrow and @azure/storage-common):
  // with PAYLOAD_BUCKET, on the first large payload.
  { name: 'blob', modules: ['shared/adapters/azure/blob-payload-store.ts'] },
  // DefaultAzureCredential and MSAL: only without COSMOS_KEY or SERVICE_BUS_CONNECTION.
  { name: 'identity', modules: ['shared/adapters/azure/default-credential.ts'] },
  // The Cosmos DB client: when the runtime is built (not with an injected store or container).
  { name: 'cosmos', modules: ['shared/adapters/azure/cosmos-client.ts'] },
  // The Service Bus client and its AMQP stack: when the runtime is built (not with injected senders).
  { name: 'service-bus', modules: ['shared/adapters/azure/service-bus-client.ts'] },
];

const HOST = 'lambda-chunks:host';
/** The global (a registered symbol) through which a handler's file gives its chunks its modules. */
const HOST_KEY = 'agent-coordinator.lambda-chunks.host';
/** The prefix of a picked export's marker in a chunk's file. */
const PICK = 'lambda-chunks:pick:';
const BOX = 'lambda-chunks:box';
const NS = {
  ref: 'lambda-chunk-ref',
  host: 'lambda-chunk-host',
  entry: 'lambda-chunk-entry',
  box: 'lambda-chunk-box',
};
const SKIP = { lambdaChunks: 'skip' };
const LAZY_KINDS = new Set(['require-call', 'dynamic-import']);

/** id -> absolute file of every module given an id in this process. */
const files = new Map();
/**
 * A module's id between a handler and its chunks: a short hash of its path from the repository
 * root (the handler's file holds a table of them; a collision fails the build).
 */
function idOf(file) {
  const relative = path.relative(root, file).split(path.sep).join('/');
  const id = crypto.createHash('sha256').update(relative).digest('base64url').slice(0, 6);
  const known = files.get(id);
  if (known === undefined) files.set(id, file);
  else if (known !== file) throw new Error(`lambda-chunks: ${known} and ${file} have the same id ${id}`);
  return id;
}
const fileOf = (id) => files.get(id);
const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Which chunk, if any, an import (specifier and resolved file) is a module of. */
function matcher(chunks) {
  const byFile = new Map();
  const byPackage = new Map();
  const patterns = [];
  for (const c of chunks) {
    for (const m of c.modules) {
      if (m.endsWith('.ts')) {
        byFile.set(path.join(root, m), c);
        patterns.push(`(^|/)${escapeRegExp(path.basename(m, '.ts'))}(\\.ts)?$`);
      } else {
        byPackage.set(m, c);
        patterns.push(`^${escapeRegExp(m)}$`);
      }
    }
  }
  return {
    filter: new RegExp(patterns.join('|')),
    chunkOf: (specifier, file) => byPackage.get(specifier) ?? byFile.get(file),
  };
}

/** The options of a build that the extra builds take over (not its entry, output or plugins). */
function baseOptions(initial) {
  const own = ['entryPoints', 'outfile', 'outdir', 'outbase', 'plugins', 'metafile', 'write', 'stdin'];
  return Object.fromEntries(Object.entries(initial).filter(([k]) => !own.includes(k)));
}

/** The entry points' files of a build. */
function entryFilesOf(initial) {
  const points = initial.entryPoints ?? [];
  if (Array.isArray(points)) return points.map((p) => (typeof p === 'string' ? p : p.in));
  return Object.values(points);
}

/** Resolves an import as esbuild would without this plugin. */
async function resolveAs(build, args) {
  const r = await build.resolve(args.path, {
    kind: args.kind,
    importer: args.importer,
    resolveDir: args.resolveDir,
    pluginData: SKIP,
  });
  return r.errors.length > 0 || r.external ? undefined : r.path;
}

/**
 * The plugin. `host` is the module every handler imports, `chunks` the optional modules
 * (default: the AWS runtime's).
 */
function lambdaChunks({ host = 'shared/runtime/aws.ts', chunks = AWS_CHUNKS } = {}) {
  const match = matcher(chunks);
  /**
   * The chunks of the builds running at the same time with the same options, by those options
   * and the output folder's place: the same files serve every such folder. Dropped once built.
   */
  const preparing = new Map();

  return {
    name: 'lambda-chunks',
    setup(build) {
      const initial = build.initialOptions;
      const cwd = initial.absWorkingDir ?? process.cwd();
      const outdir = path.resolve(cwd, initial.outdir ?? path.dirname(initial.outfile));
      let prepared;
      build.onStart(() => {
        prepared = undefined;
      });
      /** Steps 1 and 2, then the chunks written into this build's folder. */
      const prepare = () =>
        (prepared ??= (async () => {
          const base = baseOptions(initial);
          const key = JSON.stringify([base, host, path.relative(outdir, root)]);
          let p = preparing.get(key);
          if (!p) {
            p = buildChunks(build.esbuild, base, outdir, path.join(root, host), chunks, match);
            preparing.set(key, p);
            const forget = () => preparing.delete(key);
            p.then(forget, forget);
          }
          const built = await p;
          const here = (file) => path.join(outdir, path.relative(built.outdir, file));
          for (const file of built.outputFiles) {
            fs.mkdirSync(path.dirname(here(file.path)), { recursive: true });
            fs.writeFileSync(here(file.path), file.contents);
          }
          const outputs = {};
          for (const metafile of built.metafiles)
            for (const [file, output] of Object.entries(metafile.outputs))
              outputs[path.relative(cwd, here(path.resolve(cwd, file)))] = output;
          const inputs = Object.assign({}, ...built.metafiles.map((m) => m.inputs));
          return { ...built, metafile: { inputs, outputs } };
        })());

      // 3. A chunk's module, loaded lazily: a reference into the chunk's file.
      build.onResolve({ filter: match.filter }, async (args) => {
        if (args.pluginData?.lambdaChunks === 'skip' || args.namespace !== 'file') return undefined;
        const file = await resolveAs(build, args);
        const chunk = file && match.chunkOf(args.path, file);
        if (!chunk) return undefined;
        if (!LAZY_KINDS.has(args.kind))
          return {
            errors: [
              {
                text: `${args.path} belongs in ${CHUNK_DIR}/${chunk.name}.js: load it with require() or import() where it is used (an import statement would load it at every cold start)`,
              },
            ],
          };
        return { path: `${chunk.name}:${idOf(file)}`, namespace: NS.ref };
      });
      build.onLoad({ filter: /.*/, namespace: NS.ref }, async (args) => {
        const [name, id] = [
          args.path.slice(0, args.path.indexOf(':')),
          args.path.slice(args.path.indexOf(':') + 1),
        ];
        const { entries } = await prepare();
        if (!entries.get(name)?.includes(id))
          return {
            errors: [
              {
                text: `${fileOf(id)} is loaded outside ${host}, so it is not in ${CHUNK_DIR}/${name}.js: load it from there`,
              },
            ],
          };
        const file = `./${CHUNK_DIR}/${name}.js`;
        return {
          contents: `module.exports = require(${JSON.stringify(file)})(globalThis[Symbol.for(${JSON.stringify(HOST_KEY)})])(${JSON.stringify(id)});\n`,
          resolveDir: root,
          loader: 'js',
        };
      });
      build.onResolve({ filter: new RegExp(`^\\./${CHUNK_DIR}/`), namespace: NS.ref }, (args) => ({
        path: args.path,
        external: true,
      }));
      // The handler's modules that the chunks use, by id: a module the handler's entry imports
      // (so that they stay ordinary, tree-shaken modules: a module that is `require`d is wrapped,
      // and so is every module it imports) publishes them in a global for the chunks' loaders.
      const entries = entryFilesOf(initial).map((f) => path.resolve(cwd, f));
      build.onLoad({ filter: new RegExp(`^(${entries.map(escapeRegExp).join('|')})$`) }, async (args) => {
        const source = await fs.promises.readFile(args.path, 'utf8');
        return {
          contents: `${source}\nimport ${JSON.stringify(HOST)};\n`,
          loader: path.extname(args.path).includes('t') ? 'ts' : 'js',
          resolveDir: path.dirname(args.path),
        };
      });
      build.onResolve({ filter: new RegExp(`^${escapeRegExp(HOST)}$`) }, () => ({
        path: 'host',
        namespace: NS.host,
      }));
      build.onLoad({ filter: /.*/, namespace: NS.host }, async () => {
        const { hostIds, formats, picks } = await prepare();
        const imports = [];
        const table = [];
        [...hostIds].forEach(([id, how], i) => {
          const file = JSON.stringify(fileOf(id));
          const key = JSON.stringify(id);
          if (formats.get(id) !== 'esm') {
            // CommonJS (and JSON) modules are wrapped anyway.
            table.push(`  ${key}: () => require(${file}),`);
          } else if (how === 'whole') {
            imports.push(`import * as m${i} from ${file};`);
            table.push(`  ${key}: () => esModule(m${i}),`);
          } else if (picks.has(id)) {
            // Only the exports the chunks use, as they are when a chunk loads.
            const names = [...picks.get(id)].sort();
            const as = names.map((n, j) => [JSON.stringify(n), `m${i}_${j}`]);
            imports.push(`import { ${as.map(([n, v]) => `${n} as ${v}`).join(', ')} } from ${file};`);
            table.push(`  ${key}: () => ({ ${as.map(([n, v]) => `${n}: ${v}`).join(', ')} }),`);
          }
        });
        return {
          contents: [
            ...imports,
            '/** An ES module namespace as a CommonJS module of the chunk sees it (live bindings). */',
            'const esModule = (ns) => {',
            '  const m = Object.defineProperty({}, "__esModule", { value: true });',
            '  for (const k of Object.keys(ns)) Object.defineProperty(m, k, { get: () => ns[k], enumerable: true });',
            '  return m;',
            '};',
            'const modules = {',
            ...table,
            '};',
            'const loaded = new Map();',
            `globalThis[Symbol.for(${JSON.stringify(HOST_KEY)})] = (id) => {`,
            "  if (!modules[id]) throw new Error(`a chunk asks for module ${id}, which this handler's file does not hold: the chunks and the handler come from different builds`);",
            '  if (!loaded.has(id)) loaded.set(id, modules[id]());',
            '  return loaded.get(id);',
            '};',
          ].join('\n'),
          resolveDir: root,
          loader: 'js',
        };
      });
      // The chunks' outputs join the handler's metafile (for size reports).
      build.onEnd(async (result) => {
        if (!prepared || result.errors.length > 0 || !result.metafile) return;
        const { metafile } = await prepared;
        Object.assign(result.metafile.outputs, metafile.outputs);
        for (const [k, v] of Object.entries(metafile.inputs)) result.metafile.inputs[k] ??= v;
      });
    },
  };
}

/** Steps 1 and 2, the chunks' files built for `outdir` (not written). */
async function buildChunks(esbuild, base, outdir, hostFile, chunks, match) {
  // 1. The host's file, with the chunks' modules left out: which of them it loads, and what it holds.
  const entries = new Map(chunks.map((c) => [c.name, []]));
  const analysis = await esbuild.build({
    ...base,
    entryPoints: [hostFile],
    outfile: path.join(outdir, 'lambda-chunks-analysis.js'),
    write: false,
    metafile: true,
    sourcemap: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'lambda-chunks-analysis',
        setup(build) {
          build.onResolve({ filter: match.filter }, async (args) => {
            if (args.pluginData?.lambdaChunks === 'skip') return undefined;
            const file = await resolveAs(build, args);
            const chunk = file && match.chunkOf(args.path, file);
            if (!chunk) return undefined;
            const list = entries.get(chunk.name);
            if (!list.includes(idOf(file))) list.push(idOf(file));
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  // A module of which nothing is left in the file (tree-shaken away) has no instance there to share.
  const cwd = base.absWorkingDir ?? process.cwd();
  const [output] = Object.values(analysis.metafile.outputs);
  const inHost = new Set(
    Object.entries(output.inputs)
      .filter(([f, { bytesInOutput }]) => bytesInOutput > 0 && !f.includes(':'))
      .map(([f]) => idOf(path.resolve(cwd, f))),
  );
  const formats = new Map(
    Object.entries(analysis.metafile.inputs)
      .filter(([f]) => !f.includes(':'))
      .map(([f, input]) => [idOf(path.resolve(cwd, f)), input.format]),
  );
  // 2. Each chunk, taking from the host every module the host's file holds: id -> how
  // ('whole', or 'picks': export by export).
  const hostIds = new Map();
  for (const ids of entries.values()) ids.sort();
  const built = await Promise.all(
    chunks
      .filter((c) => entries.get(c.name).length > 0) // the others are not loaded by this host
      .map((c) =>
        esbuild.build({
          ...base,
          entryPoints: [`${NS.entry}:${c.name}`],
          outfile: path.join(outdir, CHUNK_DIR, `${c.name}.js`),
          write: false,
          metafile: true,
          plugins: [chunkPlugin(esbuild, entries.get(c.name), inHost, formats, hostIds)],
        }),
      ),
  );
  // The exports the chunks pick of each module (the rest of the host's modules are taken whole).
  const picks = new Map();
  const marker = new RegExp(`"${escapeRegExp(PICK)}([A-Za-z0-9_-]{6}):((?:[^"\\\\]|\\\\.)*)"`, 'g');
  for (const file of built.flatMap((r) => r.outputFiles).filter((f) => f.path.endsWith('.js')))
    for (const [, id, name] of file.text.matchAll(marker)) {
      if (!picks.has(id)) picks.set(id, new Set());
      picks.get(id).add(JSON.parse(`"${name}"`));
    }
  return {
    entries,
    formats,
    picks,
    hostIds: new Map([...hostIds].sort(([a], [b]) => (a < b ? -1 : 1))),
    outdir,
    outputFiles: built.flatMap((r) => r.outputFiles),
    metafiles: built.map((r) => r.metafile),
  };
}

const barrels = new Map();
/**
 * Whether a module only re-exports others (`export * from`, `export { a } from`, or imports and
 * `export { a }` of them). A chunk takes the modules behind such a barrel one by one rather
 * than the barrel, so that the handler's file keeps only those modules whole, not every module
 * the barrel re-exports (the AWS SDK's and zod's index modules are such barrels).
 */
function reexportsOnly(file) {
  if (!/\.m?js$/.test(file)) return false;
  let only = barrels.get(file);
  if (only === undefined) {
    const statements = fs
      .readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '')
      .split(/;|\n/)
      .map((s) => s.trim())
      .filter(Boolean);
    only =
      statements.length > 0 &&
      statements.every(
        (s) =>
          /^(export|import)\s*(\*(\s*as\s+[\w$]+)?|\{[^}]*\})\s*from\s*(['"])[^'"]+\4$/.test(s) ||
          /^export\s*\{[^}]*\}$/.test(s),
      );
    barrels.set(file, only);
  }
  return only;
}

/**
 * A chunk's build. Its file exports `(host) => (id) => module`; every module the host's file
 * holds is taken from the host (by id), the rest is bundled.
 */
function chunkPlugin(esbuild, ids, inHost, formats, hostIds) {
  return {
    name: 'lambda-chunks-chunk',
    setup(build) {
      build.onResolve({ filter: new RegExp(`^${NS.entry}:`) }, (args) => ({
        path: args.path,
        namespace: NS.entry,
      }));
      build.onLoad({ filter: /.*/, namespace: NS.entry }, () => ({
        contents: [
          `const box = require(${JSON.stringify(BOX)});`,
          'const modules = {',
          ...ids.map((id) => `  ${JSON.stringify(id)}: () => require(${JSON.stringify(fileOf(id))}),`),
          '};',
          'module.exports = (host) => {',
          '  box.host = host;',
          '  return (id) => modules[id]();',
          '};',
        ].join('\n'),
        resolveDir: root,
        loader: 'js',
      }));
      build.onResolve({ filter: new RegExp(`^${escapeRegExp(BOX)}$`) }, () => ({
        path: 'box',
        namespace: NS.box,
      }));
      build.onLoad({ filter: /.*/, namespace: NS.box }, () => ({
        contents: [
          'module.exports = {',
          '  host: undefined,',
          `  /** One export of a host module, by its marker "${PICK}<id>:<name>". */`,
          `  pick: (marker) => module.exports.host(marker.slice(${PICK.length}, ${PICK.length + 6}))[marker.slice(${PICK.length + 7})],`,
          '};',
        ].join('\n'),
        loader: 'js',
      }));
      // A module the host's file holds, wherever the chunk imports it from: the host's instance.
      build.onLoad({ filter: /.*/, namespace: 'file' }, async (args) => {
        const id = idOf(args.path);
        if (!inHost.has(id) || reexportsOnly(args.path)) return undefined;
        const names = formats.get(id) === 'esm' ? await exportNames(esbuild, args.path) : undefined;
        hostIds.set(id, names ? 'picks' : 'whole');
        // A CommonJS module, or an ES module whose exports cannot be picked one by one: whole.
        if (!names)
          return {
            contents: `module.exports = require(${JSON.stringify(BOX)}).host(${JSON.stringify(id)});\n`,
            resolveDir: root,
            loader: 'js',
          };
        // An export it re-exports from another module comes from that module (which the host
        // holds or the chunk bundles); each of its own exports is a pure call naming it: the chunk
        // keeps those it uses, and the marker in its file tells the host which to keep (step 3).
        const reexports = reexportsOf(args.path);
        const own = names.filter((n) => !reexports.has(n));
        return {
          contents: [
            `const box = require(${JSON.stringify(BOX)});`,
            ...own.map(
              (n, i) => `const v${i} = /* @__PURE__ */ box.pick(${JSON.stringify(`${PICK}${id}:${n}`)});`,
            ),
            `export { ${own.map((n, i) => `v${i} as ${JSON.stringify(n)}`).join(', ')} };`,
            ...[...reexports].map(
              ([n, r]) =>
                `export { ${JSON.stringify(r.name)} as ${JSON.stringify(n)} } from ${JSON.stringify(r.from)};`,
            ),
          ].join('\n'),
          resolveDir: path.dirname(args.path),
          loader: 'js',
        };
      });
    },
  };
}

/**
 * The exports of a module that are re-exports (`export { a as b } from './c'`): exported name ->
 * the module's specifier and its name there (TypeScript's `type` exports left out).
 */
function reexportsOf(file) {
  const reexports = new Map();
  const source = fs
    .readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '');
  for (const [, list, , from] of source.matchAll(
    /(?:^|[\s;])export\s*\{([^}]*)\}\s*from\s*(['"])([^'"]+)\2/g,
  ))
    for (const item of list.split(',').map((i) => i.trim())) {
      const m = /^(type\s+)?([\w$]+)(?:\s+as\s+([\w$]+))?$/.exec(item);
      if (m && !m[1]) reexports.set(m[3] ?? m[2], { name: m[2], from });
    }
  return reexports;
}

const exportLists = new Map();
/**
 * The export names of an ES module, or undefined when they cannot be taken one by one: it
 * re-exports `*` of another module, or exports a `let`/`var` (whose value may change later: a
 * chunk takes a picked export's value when it loads).
 */
function exportNames(esbuild, file) {
  let names = exportLists.get(file);
  if (!names) {
    names = esbuild
      .build({
        entryPoints: [file],
        bundle: false,
        write: false,
        metafile: true,
        format: 'esm',
        logLevel: 'silent',
      })
      .then((r) => {
        const text = r.outputFiles[0].text;
        if (/(^|[\s;])export\s*\*|(^|[\s;])export\s+(let|var)\s/m.test(text)) return undefined;
        return Object.values(r.metafile.outputs)[0].exports;
      });
    exportLists.set(file, names);
  }
  return names;
}

module.exports = { lambdaChunks, AWS_CHUNKS, AZURE_CHUNKS, CHUNK_DIR };
