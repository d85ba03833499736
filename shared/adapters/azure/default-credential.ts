/**
 * The app's Entra ID identity when no key or connection string is configured: `@azure/identity`'s
 * DefaultAzureCredential (the managed identity in Azure, developer sign-ins locally). A module of
 * its own, required only then, so that the Function App's bundle keeps @azure/identity and MSAL
 * in a chunk (scripts/lambda-chunks.cjs).
 */
import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';

export function defaultCredential(): TokenCredential {
  return new DefaultAzureCredential();
}
