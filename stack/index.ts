/** Typed client of a Keboola stack's Storage API (got + zod). See stack/client.ts. */
export * from './errors';
export * from './schemas';
export * from './client';
export * from './orchestrator';
export * from './triggers';
export * from './services';
export * from './encryption';
export * from './gooddata';
export * from './limiter';
