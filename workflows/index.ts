export { migrateProject, approveSignal, rejectSignal, statusQuery } from './migrate-project';
export { snapshotTableBatch, restoreTableBatch, batchProgressQuery } from './table-batches';
