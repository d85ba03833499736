/** `agent-coordinator/gcp`: the Google Cloud runtime (Firestore, Pub/Sub, Vertex AI) for embedding. */
export {
  createGcpRuntime,
  gcpRuntime,
  useGcpRuntime,
  type GcpRuntime,
  type GcpRuntimeOverrides,
} from '../runtime/gcp';
export { FirestoreStateStore, type FirestoreStoreOptions } from '../adapters/gcp/firestore-store';
export { PubSubBus } from '../adapters/gcp/pubsub-bus';
export { VertexGeminiClient, type VertexClientOptions } from '../adapters/gcp/vertex-client';
