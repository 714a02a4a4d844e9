/** Where a stack's services live: the API index (`GET /v2/storage` → `services`) lists their URLs by ID. */
import type { StackClient } from './client';
import { StackError } from './errors';

export async function serviceUrl(client: StackClient, id: string): Promise<string> {
  const index = await client.apiIndex();
  const url = index.services.find((s) => s.id === id)?.url;
  if (!url) {
    throw new StackError({
      kind: 'not-found',
      endpoint: 'GET /v2/storage',
      message: `the stack ${client.url} does not offer the service "${id}" (its API index does not list it)`,
    });
  }
  return url.replace(/\/+$/, '');
}
