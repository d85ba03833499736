/**
 * What the Function App registers with the Functions host: the host's `@azure/functions-core`
 * module (provided by the Node worker at run time) is stood in for, and `azure/index.ts` is
 * loaded as the worker would load it.
 */
const registered: Array<{ name: string; bindings: Record<string, Record<string, unknown>> }> = [];

jest.mock(
  '@azure/functions-core',
  () => ({
    setProgrammingModel: () => undefined,
    registerFunction: (metadata: { name: string; bindings: Record<string, Record<string, unknown>> }) => {
      registered.push({ name: metadata.name, bindings: metadata.bindings });
      return { dispose: () => undefined };
    },
  }),
  { virtual: true },
);

test('registers the queue and topic triggers, the HTTP API and the sweep timer', () => {
  jest.isolateModules(() => require('../../azure/index'));
  const byName = Object.fromEntries(
    registered.map((r) => [
      r.name,
      Object.values(r.bindings).find((b) => String(b.type).endsWith('Trigger')),
    ]),
  );
  expect(Object.keys(byName).sort()).toEqual(['agent-events', 'api', 'inbound-queue', 'sweep']);
  expect(byName['inbound-queue']).toMatchObject({
    type: 'serviceBusTrigger',
    queueName: 'coordinator-inbound',
    connection: 'SERVICE_BUS_CONNECTION',
    cardinality: 'one',
  });
  expect(byName['agent-events']).toMatchObject({
    type: 'serviceBusTrigger',
    topicName: '%SERVICE_BUS_TOPIC%',
    subscriptionName: 'coordinator',
    cardinality: 'one',
  });
  expect(byName.api).toMatchObject({ type: 'httpTrigger', authLevel: 'function', route: '{*path}' });
  expect(byName.sweep).toMatchObject({ type: 'timerTrigger', schedule: '%SWEEP_SCHEDULE%' });
});
