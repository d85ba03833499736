/**
 * A scripted LlmClient: answers instantly, through the decision tool, with each task's label
 * from the reference scenario (the preferred agent). It reads the task ids from the prompt,
 * so it answers exactly what the core asked. Usage is reported with the core's token estimate.
 */
import type { LlmClient, LlmRequest, LlmResponse } from '../../shared/core/ports';
import { BATCH_TOOL_NAME, estimateTokens } from '../../shared/core/routing/prompt';
import { taskIdsIn } from './counting';
import type { ScenarioExpectation } from './scenario-types';

/** The raw decision for a task (anything: it is validated by the core), or undefined to skip it. */
export type ScriptedAnswer = (taskId: string) => unknown;

export function labelAnswer(expectations: ReadonlyMap<string, ScenarioExpectation>): ScriptedAnswer {
  return (taskId) => {
    const expect = expectations.get(taskId);
    if (!expect) return { action: 'reject_task', target_agents: [], reasoning: `unknown task ${taskId}` };
    const targets = expect.action === 'queue_task' ? [] : expect.agents.slice(0, 1);
    return { action: expect.action, target_agents: targets, reasoning: `scripted: label for ${taskId}` };
  };
}

export class ScriptedLlm implements LlmClient {
  readonly provider = 'scripted';
  readonly model = 'scripted-label';

  constructor(private readonly answer: ScriptedAnswer) {}

  async complete(request: LlmRequest): Promise<LlmResponse> {
    const ids = taskIdsIn(request.prompt);
    // An answer of `undefined` leaves that task out of the reply (a model that skipped it).
    const decisions = ids.flatMap((id) => {
      const answer = this.answer(id);
      return answer === undefined ? [] : [{ task_id: id, ...(answer as object) }];
    });
    const toolInput = request.tool.name === BATCH_TOOL_NAME ? { decisions } : decisions[0];
    const input = request.system + request.prompt + JSON.stringify(request.tool);
    return {
      toolInput,
      usage: {
        input_tokens: estimateTokens(input),
        output_tokens: estimateTokens(JSON.stringify(toolInput)),
      },
      stopReason: 'tool_use',
      model: this.model,
    };
  }
}
