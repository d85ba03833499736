/**
 * The slot release of the stores whose lists change by position only (DynamoDB's `REMOVE
 * #ids[n]`, a Cosmos DB patch path): read the agent, find the task's position in its slots,
 * remove at that position on the condition that it still holds the task. Claims only append, so
 * only a concurrent release of an earlier slot of the same agent moves it; then the position is
 * read again, at most RELEASE_ATTEMPTS times. The store supplies the read and the conditional
 * remove, with its own error mapping; a failed condition must throw `ConditionFailedError`.
 */
import { ConditionFailedError } from '../core/errors';
import type { AgentRecord } from '../core/model';

/** Position conflicts a release reads again past (only concurrent releases of one agent cause them). */
export const RELEASE_ATTEMPTS = 16;

export async function releaseSlotByPosition(
  agentId: string,
  taskId: string,
  read: () => Promise<AgentRecord | undefined>,
  removeAt: (position: number) => Promise<AgentRecord | undefined>,
): Promise<AgentRecord | undefined> {
  for (let attempt = 0; attempt < RELEASE_ATTEMPTS; attempt++) {
    const agent = await read();
    const at = agent?.active_task_ids.indexOf(taskId) ?? -1;
    if (!agent || at < 0) return agent;
    try {
      return await removeAt(at);
    } catch (err) {
      if (!(err instanceof ConditionFailedError)) throw err;
    }
  }
  throw new ConditionFailedError(
    `agent ${agentId}: its slots kept moving during ${RELEASE_ATTEMPTS} releases`,
  );
}
