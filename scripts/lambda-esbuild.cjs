// The esbuild options of the Lambda bundles, in one place: `serverless package/deploy/offline`
// bundles with them through serverless-esbuild (`custom.esbuild.config` in serverless.yml), and
// `npm run build` (scripts/build.mjs) uses the same ones for dist/aws/ and its size report.
'use strict';
const { lambdaChunks } = require('./lambda-chunks.cjs');

/** Node target of the Lambda runtime in serverless.yml (`nodejs22.x`). */
const LAMBDA_TARGET = 'node22';

/** esbuild options shared by both builds (everything bundled; the runtime's SDK is not used). */
const lambdaEsbuildOptions = {
  bundle: true,
  platform: 'node',
  target: LAMBDA_TARGET,
  format: 'cjs',
  // A package's ES modules before its CommonJS build (esbuild's default for node is the other
  // way round): the AWS SDK's clients are then tree-shaken to the commands and schemas in use
  // (DynamoDB's client is a third of its CommonJS size) instead of coming whole.
  mainFields: ['module', 'main'],
  minify: true,
  // Linked source maps: stack traces name the TypeScript sources with --enable-source-maps,
  // and the map is only read when a stack trace is formatted.
  sourcemap: 'linked',
  legalComments: 'none',
  // The optional modules (S3 claim check, Bedrock, per-agent SQS, X-Ray, OpenTelemetry, the
  // SDK's non-environment credential sources) go to files of their own beside the handler's,
  // loaded on first use (scripts/lambda-chunks.cjs).
  plugins: [lambdaChunks()],
};

/** serverless-esbuild calls this with the serverless instance; its own options join esbuild's. */
module.exports = () => ({
  ...lambdaEsbuildOptions,
  // Nothing is left external, so nothing is installed into the artifacts (no `npm install`).
  external: [],
  exclude: [],
  packager: 'npm',
  packagerOptions: { noInstall: true },
  // `npm run dev:aws` gives serverless offline a work folder of its own, so that a concurrent
  // `serverless package` (which empties .esbuild/.build when it is done) cannot pull it away.
  ...(process.env.SERVERLESS_ESBUILD_WORK_FOLDER
    ? { outputWorkFolder: process.env.SERVERLESS_ESBUILD_WORK_FOLDER }
    : {}),
});
module.exports.lambdaEsbuildOptions = lambdaEsbuildOptions;
module.exports.LAMBDA_TARGET = LAMBDA_TARGET;
