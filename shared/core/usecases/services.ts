/**
 * What every use case is given: the domain services, the router and the runtime's clock,
 * logger, settings and telemetry. Built once per coordinator (per cold start).
 */
import type { CoreSettings } from '../config';
import type { DecisionRecord, TaskRecord } from '../model';
import type { PayloadLimits } from '../limits';
import type { A2aGateway, Clock, Logger, PayloadStore, Router, Telemetry } from '../ports';
import type { Outbox } from '../outbox/outbox';
import type { Registry } from '../services/registry';
import type { TaskLedger } from '../services/task-ledger';

export interface CoreServices {
  registry: Registry;
  ledger: TaskLedger;
  outbox: Outbox;
  router: Router;
  clock: Clock;
  logger: Logger;
  settings: CoreSettings;
  telemetry: Telemetry;
  /** The claim-check bucket, when configured. */
  payloads?: PayloadStore;
  /** The store's record and the bus's event size limits. */
  limits: PayloadLimits;
  /** Agents that speak A2A (card registration, polling, notifications); absent: none. */
  a2a?: A2aGateway;
}

/** What a coordination request (or a direct assignment) answers. */
export interface CoordinationResult {
  task_id: string;
  status: TaskRecord['status'];
  action?: DecisionRecord['action'];
  assigned_agents: string[];
  router?: DecisionRecord['router'];
  path?: string;
  reasoning?: string;
  duplicate?: boolean;
}

export function summary(t: TaskRecord): CoordinationResult {
  const r: CoordinationResult = {
    task_id: t.task_id,
    status: t.status,
    assigned_agents: t.assigned_agents,
  };
  if (t.decision) {
    r.action = t.decision.action;
    r.router = t.decision.router;
    r.path = t.decision.path;
    r.reasoning = t.decision.reasoning;
  }
  return r;
}
