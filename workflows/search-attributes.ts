import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Registered on the server by `npm run temporal` and the test server (scripts/temporal-server.ts).
export const MIGRATION_STEP = defineSearchAttributeKey('MigrationStep', SearchAttributeType.KEYWORD);
export const SOURCE_STACK = defineSearchAttributeKey('SourceStack', SearchAttributeType.KEYWORD);
export const DESTINATION_STACK = defineSearchAttributeKey('DestinationStack', SearchAttributeType.KEYWORD);
export const SOURCE_PROJECT_ID = defineSearchAttributeKey('SourceProjectId', SearchAttributeType.KEYWORD);
/** Where a migration kept in sync stands: copying, in-sync, cutting-over, cut-over (docs/sync.md). */
export const MIGRATION_PHASE = defineSearchAttributeKey('MigrationPhase', SearchAttributeType.KEYWORD);
