/**
 * Summarises a V8 CPU profile (`node --cpu-prof`) by self time: the functions the samples
 * land in, with their share of the run, and the same grouped by file.
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof scripts/run-ts.js bench/hot-path.ts memory 20000
 *   node scripts/run-ts.js bench/profile-summary.ts /tmp/prof/<file>.cpuprofile [top]
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fmt, print, table } from './lib/table';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  ms: number;
  share: number;
}

/**
 * For a bundle scripts/run-ts.js built (not minified), the source file of a bundle line: esbuild
 * starts each module with a `// path/to/file.ts` comment.
 */
function sourceMap(): (url: string, line: number) => string | undefined {
  const markers = new Map<string, Array<[number, string]>>();
  return (url, line) => {
    const file = url.replace(/^file:\/\//, '');
    if (!file.endsWith('.cjs') || !existsSync(file)) return undefined;
    let list = markers.get(file);
    if (!list) {
      list = [];
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((text, i) => {
          const m = /^\/\/ ((?:shared|bench|test|cli|functions)\/\S+\.ts)$/.exec(text);
          if (m) list!.push([i, m[1]!]);
        });
      markers.set(file, list);
    }
    let found: string | undefined;
    for (const [start, source] of list) {
      if (start > line) break;
      found = source;
    }
    return found;
  };
}

/** Self time per function (by name and location) and per file, largest first. */
export function selfTimes(profile: Profile): { functions: SelfTime[]; files: SelfTime[]; totalMs: number } {
  const byNode = new Map<number, number>();
  profile.samples.forEach((id, i) => byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const fns = new Map<string, SelfTime>();
  const files = new Map<string, SelfTime>();
  let total = 0;
  const sourceOf = sourceMap();
  for (const [id, us] of byNode) {
    const f = nodes.get(id)!.callFrame;
    const ms = us / 1000;
    total += ms;
    const file =
      sourceOf(f.url, f.lineNumber) ?? (f.url ? path.basename(f.url.replace(/^file:\/\//, '')) : '(native)');
    const name = f.functionName || '(anonymous)';
    const key = `${name}@${file}:${f.lineNumber + 1}`;
    const e = fns.get(key) ?? { name, where: file, ms: 0, share: 0 };
    e.ms += ms;
    fns.set(key, e);
    const g = files.get(file) ?? { name: file, where: '', ms: 0, share: 0 };
    g.ms += ms;
    files.set(file, g);
  }
  const done = (m: Map<string, SelfTime>) =>
    [...m.values()].map((e) => ({ ...e, share: e.ms / total })).sort((a, b) => b.ms - a.ms);
  return { functions: done(fns), files: done(files), totalMs: total };
}

export function main(): void {
  const file = process.argv[2];
  const top = Number(process.argv[3] ?? 25);
  if (!file) throw new Error('usage: bench/profile-summary.ts <file.cpuprofile> [top]');
  const s = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as Profile);
  print(`Profile: ${fmt(s.totalMs, 0)} ms sampled\n`);
  print(
    table(
      ['function (self time)', 'where', 'ms', 'share'],
      s.functions.slice(0, top).map((e) => [e.name, e.where, e.ms, `${fmt(e.share * 100, 1)}%`]),
    ),
  );
  print('');
  print(
    table(
      ['file (self time)', 'ms', 'share'],
      s.files
        .slice(0, Math.max(12, Math.ceil(top / 2)))
        .map((e) => [e.name, e.ms, `${fmt(e.share * 100, 1)}%`]),
    ),
  );
}
