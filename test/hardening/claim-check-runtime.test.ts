/**
 * The claim check end to end on the local runtime: PAYLOAD_BUCKET names a directory; a request
 * whose task_data is over CLAIM_CHECK_BYTES is stored there, the task and the published
 * assignment carry the reference, and the reference reads back the exact data.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLocalRuntime } from '../../shared/runtime/local';

test('large task data goes to the payload directory; the assignment carries its reference', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ac-claim-'));
  const rt = await createLocalRuntime({
    STORE: 'memory',
    PAYLOAD_BUCKET: dir,
    CLAIM_CHECK_BYTES: '2048',
    LOG_LEVEL: 'silent',
  });
  try {
    await rt.coordinator.handle({
      type: 'agent_state_change',
      agent_id: 'w',
      new_state: 'available',
      capabilities: ['x'],
    });
    const data = { rows: Array.from({ length: 200 }, (_, i) => ({ i, text: 'lorem ipsum dolor' })) };
    const small = { note: 'stays inline' };
    const [big] = await rt.coordinator.handle({
      type: 'coordination_request',
      task_id: 'big',
      task_type: 'x',
      task_data: data,
    });
    await rt.coordinator.handle({
      type: 'coordination_request',
      task_id: 'small',
      task_type: 'x',
      task_data: small,
    });
    expect(big?.status).toBe('done');
    const task = await rt.coordinator.findTask('big');
    expect(task?.task_data).toBeUndefined();
    expect(task?.task_data_ref?.uri).toMatch(/^file:\/\//);
    expect((await rt.coordinator.findTask('small'))?.task_data).toEqual(small);
    const [assignment] = rt.bus.list({ task_id: 'big', type: 'Task Assignment' });
    const ref = (assignment!.detail.task_message as { task_data_ref: { uri: string; size: number } })
      .task_data_ref;
    expect(ref).toEqual(task?.task_data_ref);
    expect(JSON.parse(Buffer.from(await rt.payloads!.get(ref.uri)).toString('utf8'))).toEqual(data);
    expect((await readdir(dir, { recursive: true })).length).toBeGreaterThan(0);
  } finally {
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  }
});
