/**
 * The ports: the only ways the core talks to the world. Adapters (DynamoDB, Cosmos DB,
 * Firestore, LevelDB, EventBridge, Service Bus, Pub/Sub, Bedrock, ...) implement them; the
 * core never imports a cloud SDK. One file per port under ports/; this barrel re-exports them.
 */
export * from './ports/store';
export * from './ports/bus';
export * from './ports/a2a';
export * from './ports/router';
export * from './ports/clock';
export * from './ports/logger';
export * from './ports/payload-store';
export * from './ports/telemetry';
