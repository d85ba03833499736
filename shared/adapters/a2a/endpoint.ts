/** The A2A records live in the core model; the adapter's modules import them from here. */
export { A2aEndpoint, A2aSecurity, A2aTaskRef } from '../../core/model';
