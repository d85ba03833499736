/** The public surface of the coordination core. Cloud-agnostic: no cloud SDK is imported here. */
export * from './errors';
export * from './model';
export * from './ports';
export * from './config';
export * from './logger';
export * from './events/schemas';
export * from './events/normalize';
export * from './coordinator/coordinator';
export * from './coordinator/outcomes';
export * from './routing/rules-router';
export * from './routing/eligibility';
export * from './routing/llm-router';
export * from './routing/validate';
export * from './routing/prompt';
export * from './routing/guards';
export { toView } from './routing/agent-view';
export * from './invocation';
