/**
 * The Cloud Functions (2nd gen) entry point: registers every function with the functions
 * framework. Deploy each with `--entry-point` set to its name (see docs/gcp.md). The runtime
 * (Firestore, Pub/Sub, router) is built once per instance, on the first invocation.
 */
import * as ff from '@google-cloud/functions-framework';
import { gcpRuntime } from '../shared/runtime/gcp';
import { httpHandler } from './http';
import { pubsubHandler } from './pubsub';
import { sweepHandler } from './sweep';

export const FUNCTIONS = {
  pubsub: 'coordinatorPubSub',
  http: 'coordinatorHttp',
  sweep: 'coordinatorSweep',
} as const;

ff.cloudEvent(FUNCTIONS.pubsub, pubsubHandler(gcpRuntime));
ff.http(FUNCTIONS.http, httpHandler(gcpRuntime));
ff.http(FUNCTIONS.sweep, sweepHandler(gcpRuntime));
