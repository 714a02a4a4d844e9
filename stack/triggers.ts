/**
 * Storage API triggers ("Group Triggers") and token management ("Group Tokens and Permissions") for a
 * StackClient: small functions over StackClient.request, so errors are classified like every other call.
 */
import { z } from 'zod';
import type { StackClient } from './client';
import { ProjectTokenSchema, TriggerSchema, type ProjectToken, type Trigger } from './schemas';

export interface CreateTriggerInput {
  runWithTokenId: number | string;
  /** `orchestration` (legacy orchestrations) per the blueprint. */
  component: string;
  configurationId: string;
  coolDownPeriodMinutes: number;
  tableIds: string[];
}

export interface CreateTokenInput {
  description: string;
  canManageBuckets?: boolean;
  canReadAllFileUploads?: boolean;
  canPurgeTrash?: boolean;
  bucketPermissions?: Record<string, 'read' | 'write' | string>;
  componentAccess?: string[];
  expiresIn?: number;
}

export async function listTriggers(client: StackClient, filter: { component?: string; configurationId?: string } = {}): Promise<Trigger[]> {
  return (await client.request('GET', '/triggers', TriggerSchema, { query: { ...filter }, list: true })) as unknown as Trigger[];
}

export async function createTrigger(client: StackClient, input: CreateTriggerInput): Promise<Trigger> {
  return (await client.request('POST', '/triggers', TriggerSchema, { json: { ...input, runWithTokenId: Number(input.runWithTokenId) } }))!;
}

export async function deleteTrigger(client: StackClient, id: number | string): Promise<void> {
  await client.request('DELETE', `/triggers/${encodeURIComponent(String(id))}`, z.unknown());
}

/** Tokens of the project, without their secrets (needs a token with `canManageTokens`, e.g. a master token). */
export async function listTokens(client: StackClient): Promise<ProjectToken[]> {
  return (await client.request('GET', '/tokens', ProjectTokenSchema, { list: true })) as unknown as ProjectToken[];
}

/** Creates a (non-master) token; answers it without its secret. */
export async function createToken(client: StackClient, input: CreateTokenInput): Promise<ProjectToken> {
  const json = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  return (await client.request('POST', '/tokens', ProjectTokenSchema, { json }))!;
}
