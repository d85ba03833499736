import { appendFileSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalBus } from '../../shared/adapters/local/local-bus';
import type { OutboundEvent } from '../../shared/core/model';

const event = (id: string): OutboundEvent => ({
  id,
  type: 'Task Assignment',
  task_id: id.split(':')[0]!,
  target_agent: 'a',
  detail: { x: id },
  time: '2026-01-01T00:00:00.000Z',
});

test('the journal keeps what was published, and duplicate detection, across a restart and a torn last line', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ac-bus-'));
  const journal = path.join(dir, 'assignments.jsonl');
  try {
    const first = new LocalBus(100, journal);
    await first.publish([event('t1:1:a'), event('t2:1:a')]);
    appendFileSync(journal, '{"id":"t3:1:a","type":"Task Ass'); // a crash mid-append
    const second = new LocalBus(100, journal);
    expect(second.list().map((e) => e.id)).toEqual(['t1:1:a', 't2:1:a']);
    await second.publish([event('t1:1:a'), event('t3:1:a')]);
    expect(second.duplicatesDropped).toBe(1);
    expect(second.list().map((e) => [e.id, e.sequence])).toEqual([
      ['t1:1:a', 1],
      ['t2:1:a', 2],
      ['t3:1:a', 3],
    ]);
    expect(new LocalBus(100, journal).list().map((e) => e.id)).toEqual(['t1:1:a', 't2:1:a', 't3:1:a']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the journal is compacted to the kept capacity', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ac-bus-'));
  const journal = path.join(dir, 'assignments.jsonl');
  try {
    const bus = new LocalBus(10, journal);
    for (let i = 0; i < 25; i++) await bus.publish([event(`t${i}:1:a`)]);
    const lines = readFileSync(journal, 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(20);
    expect(new LocalBus(10, journal).list().map((e) => e.id)).toEqual(bus.list().map((e) => e.id));
    expect(bus.list()).toHaveLength(10);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
