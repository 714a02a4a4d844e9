export { migrateProject, approveSignal, rejectSignal, statusQuery } from './migrate-project';
