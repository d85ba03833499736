/**
 * An `LlmClient` for Azure OpenAI chat completions. The wire format is OpenAI's, so this only
 * builds the Azure URL (the deployment is in the path, the API version in the query) and the
 * `api-key` header; the decision is a forced tool call, 429 is retried after `retry-after` and
 * 5xx with backoff, both only while the coordination timeout (the caller's signal) allows.
 * Guard rails and the rules fallback are the core's (`llmRouter`).
 */
import { ConfigError } from '../../core/errors';
import { OpenAiCompatibleClient } from '../openai/openai-client';

export interface AzureOpenAiOptions {
  /** `https://<resource>.openai.azure.com` */
  endpoint: string;
  deployment: string;
  apiVersion: string;
  apiKey: string;
  maxRetries?: number;
  /** Bytes of a reply read at most (default 256 KiB, as for every OpenAI-compatible server). */
  maxReplyBytes?: number;
  fetch?: typeof fetch;
}

export function azureOpenAiUrl(endpoint: string, deployment: string, apiVersion: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return `${base}/openai/deployments/${encodeURIComponent(deployment)}/chat/completions?api-version=${encodeURIComponent(apiVersion)}`;
}

export class AzureOpenAiClient extends OpenAiCompatibleClient {
  /** The deployment is the model as far as decision records and logs are concerned. */
  override readonly model: string;

  constructor(options: AzureOpenAiOptions) {
    if (!/^https?:\/\//.test(options.endpoint))
      throw new ConfigError(`AZURE_OPENAI_ENDPOINT must be a URL, got "${options.endpoint}"`);
    super({
      url: azureOpenAiUrl(options.endpoint, options.deployment, options.apiVersion),
      headers: { 'api-key': options.apiKey },
      provider: 'azure-openai',
      ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
      ...(options.maxReplyBytes !== undefined ? { maxReplyBytes: options.maxReplyBytes } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.model = options.deployment;
  }
}
