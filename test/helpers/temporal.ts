/**
 * A real Temporal server for tests (docs/architecture.md#sdk-and-server): `$TEMPORAL_ADDRESS` when set, otherwise
 * the Temporal CLI dev server started by the SDK from the binary that scripts/temporal-cli.ts resolves. Never a
 * time-skipping or fake server.
 */
import type { Client } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { NativeConnection } from '@temporalio/worker';
import { resolveTemporalCli, SDK_DOWNLOAD } from '../../scripts/temporal-cli';

export const SEARCH_ATTRIBUTES = {
  MigrationStep: defineSearchAttributeKey('MigrationStep', SearchAttributeType.KEYWORD),
  MigrationPhase: defineSearchAttributeKey('MigrationPhase', SearchAttributeType.KEYWORD),
  SourceStack: defineSearchAttributeKey('SourceStack', SearchAttributeType.KEYWORD),
  DestinationStack: defineSearchAttributeKey('DestinationStack', SearchAttributeType.KEYWORD),
  SourceProjectId: defineSearchAttributeKey('SourceProjectId', SearchAttributeType.KEYWORD),
} as const;

/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD (@temporalio/proto is not a direct dependency). */
export const INDEXED_VALUE_TYPE_KEYWORD = 2;

export const SEARCH_ATTRIBUTE_LIST = Object.values(SEARCH_ATTRIBUTES);

/** Enough for a first-time `go install` of the CLI inside a test run; a cached binary starts in seconds. */
export const TEMPORAL_STARTUP_TIMEOUT_MS = 15 * 60_000;

export interface TestTemporal {
  address: string;
  namespace: string;
  client: Client;
  nativeConnection: NativeConnection;
  env: TestWorkflowEnvironment;
  teardown(): Promise<void>;
}

/** Registers our search attributes on an existing server (idempotent: only the missing ones). */
async function ensureSearchAttributes(env: TestWorkflowEnvironment, namespace: string): Promise<void> {
  const { customAttributes } = await env.connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTE_LIST.filter((k) => !(customAttributes && k.name in customAttributes));
  if (missing.length === 0) return;
  const searchAttributes: Record<string, number> = {};
  for (const k of missing) searchAttributes[k.name] = INDEXED_VALUE_TYPE_KEYWORD;
  await env.connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
}

export async function startTestTemporal(): Promise<TestTemporal> {
  let env: TestWorkflowEnvironment;
  const existing = process.env.TEMPORAL_ADDRESS;
  if (existing) {
    const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
    env = await TestWorkflowEnvironment.createFromExistingServer({ address: existing, namespace });
    await ensureSearchAttributes(env, namespace);
  } else {
    const cli = await resolveTemporalCli({ build: true });
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        // SDK_DOWNLOAD: leave executable undefined, the SDK downloads its own binary
        executable: cli === SDK_DOWNLOAD ? undefined : { type: 'existing-path', path: cli },
        searchAttributes: SEARCH_ATTRIBUTE_LIST,
      },
    });
  }
  return {
    address: env.address,
    namespace: env.namespace ?? 'default',
    client: env.client,
    nativeConnection: env.nativeConnection,
    env,
    teardown: () => env.teardown(),
  };
}
