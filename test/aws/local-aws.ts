/**
 * Local AWS stand-ins for the AWS tests: dynalite (DynamoDB), a PutEvents server (EventBridge)
 * and credentials/endpoints for the real SDK clients. Everything listens on 127.0.0.1:0.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dynamoTableDefinition } from '../../shared/adapters/aws/dynamo-store';

export const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
export const region = 'us-east-1';

export function urlOf(server: http.Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return urlOf(server);
}

export async function close(server: http.Server): Promise<void> {
  server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface Dynalite {
  endpoint: string;
  client: DynamoDBClient;
  /** Creates a fresh table with the store's key design and returns its name. */
  createTable(): Promise<string>;
  stop(): Promise<void>;
}

export async function startDynalite(): Promise<Dynalite> {
  const dynalite = require('dynalite') as (o: object) => http.Server;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const endpoint = await listen(server);
  const client = new DynamoDBClient({ endpoint, region, credentials });
  return {
    endpoint,
    client,
    async createTable() {
      const name = `t-${randomUUID().slice(0, 8)}`;
      await client.send(new CreateTableCommand(dynamoTableDefinition(name)));
      return name;
    },
    async stop() {
      client.destroy();
      await close(server);
    },
  };
}

export interface PutEventsEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  EventBusName?: string;
  Time?: number | string;
}

export interface PutEventsRequest {
  target: string;
  body: { Entries: PutEventsEntry[] };
}

/**
 * A server speaking the EventBridge PutEvents wire format (awsJson1_1). `reply` decides each
 * entry's fate (undefined = accepted, or an error code); every request is recorded.
 */
export async function startEventBridge(
  reply: (entry: PutEventsEntry, call: number) => string | undefined = () => undefined,
): Promise<{
  endpoint: string;
  requests: PutEventsRequest[];
  accepted: PutEventsEntry[];
  stop(): Promise<void>;
}> {
  const requests: PutEventsRequest[] = [];
  const accepted: PutEventsEntry[] = [];
  let calls = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as PutEventsRequest['body'];
      requests.push({ target, body });
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (target !== 'AWSEvents.PutEvents' || !Array.isArray(body.Entries) || body.Entries.length > 10) {
        res.statusCode = 400;
        res.setHeader('x-amzn-errortype', 'ValidationException');
        res.end(JSON.stringify({ __type: 'ValidationException', message: `bad request ${target}` }));
        return;
      }
      calls += 1;
      let failed = 0;
      const entries = body.Entries.map((entry) => {
        const code = reply(entry, calls);
        if (code) {
          failed += 1;
          return { ErrorCode: code, ErrorMessage: `${code} for this entry` };
        }
        accepted.push(entry);
        return { EventId: randomUUID() };
      });
      res.end(JSON.stringify({ FailedEntryCount: failed, Entries: entries }));
    });
  });
  const endpoint = await listen(server);
  return { endpoint, requests, accepted, stop: () => close(server) };
}
