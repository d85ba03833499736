/**
 * The core stays cloud-agnostic: no file of shared/ outside adapters/ and runtime/ imports a
 * cloud SDK or an adapter, and the lint rule that guards it actually fires.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.resolve(__dirname, '../..');
const CLOUD =
  /(?:from\s+|require\(\s*|import\(\s*)['"](@aws-sdk\/|@azure\/|@google-cloud\/|@smithy\/|@aws-lambda-powertools\/|@opentelemetry\/|aws-lambda|classic-level)/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('no core file imports a cloud SDK', () => {
  const core = files(path.join(root, 'shared')).filter((f) => !/\/shared\/(adapters|runtime)\//.test(f));
  expect(core.length).toBeGreaterThan(10);
  const leaks = core.filter((f) => CLOUD.test(readFileSync(f, 'utf8'))).map((f) => path.relative(root, f));
  expect(leaks).toEqual([]);
});

/** Lints `code` as if it were the file at `file`, through the ESLint CLI (as `npm run lint` does). */
function lint(code: string, file: string): string {
  const run = spawnSync(
    process.execPath,
    [
      path.join(root, 'node_modules/eslint/bin/eslint.js'),
      '--stdin',
      '--stdin-filename',
      file,
      '--format',
      'json',
    ],
    {
      cwd: root,
      input: code,
      encoding: 'utf8',
    },
  );
  return run.stdout;
}

test('the lint rule rejects a cloud SDK or an adapter imported into the core', () => {
  const sdk =
    "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nexport const c = DynamoDBClient;\n";
  expect(lint(sdk, 'shared/core/leak.ts')).toContain('no-restricted-imports');
  const adapter = "import { LocalBus } from '../adapters/local/local-bus';\nexport const b = LocalBus;\n";
  expect(lint(adapter, 'shared/core/coordinator/leak.ts')).toContain('no-restricted-imports');
  expect(lint(sdk, 'shared/adapters/aws/ok.ts')).not.toContain('no-restricted-imports');
});

test('the rule holds in every folder of the core, and use cases reach records only through services', () => {
  const sdk = "import { trace } from '@opentelemetry/api';\nexport const t = trace;\n";
  for (const folder of [
    'coordinator',
    'usecases',
    'usecases/sweep',
    'services',
    'outbox',
    'routing',
    'events',
    'ports',
  ])
    expect(lint(sdk, `shared/core/${folder}/leak.ts`)).toContain('no-restricted-imports');
  const raw = "import { VersionedRecords } from '../services/records';\nexport const r = VersionedRecords;\n";
  expect(lint(raw, 'shared/core/usecases/leak.ts')).toContain('no-restricted-imports');
  expect(lint(raw, 'shared/core/coordinator/ok.ts')).not.toContain('no-restricted-imports');
});

/** Lines as `wc -l` counts them: a final newline ends the last line, it does not start another. */
const lines = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

test('every core file stays under 300 lines: one use case or service per file', () => {
  const core = files(path.join(root, 'shared/core'));
  const big = core
    .map((f) => ({ f: path.relative(root, f), n: lines(readFileSync(f, 'utf8')) }))
    .filter(({ n }) => n > 300);
  expect(big).toEqual([]);
});
