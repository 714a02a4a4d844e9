export { migrateProject } from './migrate-project';
export * from './controls';
export { snapshotTableBatch, restoreTableBatch, batchProgressQuery } from './table-batches';
export { validateProject } from './validate-project';
