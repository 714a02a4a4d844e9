/**
 * zod schemas of the answers the stack client reads, one file per API area, written from the documented fields of
 * Keboola's Storage API blueprint (and docs/CONTRACTS.md for the GCP file detail). Conventions: stack/schemas/common.ts.
 */
export * from './common';
export * from './tokens';
export * from './services';
export * from './buckets';
export * from './tables';
export * from './jobs';
export * from './files';
export * from './configurations';
export * from './workspaces';
export * from './triggers';
export * from './orchestrator';
export * from './gooddata';
export * from './encryption';
export * from './notifications';
export * from './scheduler';
