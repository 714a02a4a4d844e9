export { migrateProject } from './migrate-project';
export * from './controls';
export { snapshotTableBatch, restoreTableBatch, fingerprintTableBatch, syncTableBatch, batchProgressQuery } from './table-batches';
export { restoreProject } from './restore-project';
export { validateProject } from './validate-project';
