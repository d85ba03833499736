/**
 * The sweep for a Cloud Scheduler HTTP job: runs `{"type":"sweep"}` through the HTTP API, so
 * it has the same AUTH_TOKEN check (send it as `x-api-key`; Authorization carries the
 * scheduler's OIDC token) and the same error mapping (503 on a transient failure, so the
 * scheduler retries). A Pub/Sub schedule needs no function of its own: publish
 * `{"type":"sweep"}` to the coordinator's inbound topic.
 */
import type { HttpFunction, Request, Response } from '@google-cloud/functions-framework';
import type { GcpRuntime } from '../shared/runtime/gcp';

export function sweepHandler(runtime: () => Promise<GcpRuntime>): HttpFunction {
  return async (req: Request, res: Response) => {
    const out = await (
      await runtime()
    ).api({
      method: 'POST',
      path: '/events',
      headers: { authorization: req.get('authorization'), 'x-api-key': req.get('x-api-key') },
      body: JSON.stringify({ type: 'sweep' }),
      ...(req.ip ? { remoteAddress: req.ip } : {}),
    });
    res.status(out.status).set(out.headers).send(out.body);
  };
}
