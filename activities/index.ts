// Every activity of the migration, built from its dependencies (samples-typescript style).
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';
import { createBucketActivities } from './buckets';
import { createCleanupActivities } from './cleanup';
import { createConfigurationActivities } from './configurations';
import { createCreatedEntityActivities } from './verify-created';
import { createNotificationActivities } from './notifications';
import { createOrchestrationActivities } from './orchestrations';
import { createPermanentFileActivities } from './permanent-files';
import { createProjectActivities } from './project';
import { createReportActivities } from './report';
import { createScheduleActivities } from './schedules';
import { createSnapshotActivities } from './snapshot';
import { createSyncActivities } from './sync';
import { createTableActivities } from './tables';
import { createTableGroupActivities } from './table-groups';
import { createValidateActivities } from './validate';
import { createVerifyActivities } from './verify';
import { createWriterActivities } from './writers';

export function createActivities(deps: ActivityDeps) {
  return withFailureMapping({
    ...createValidateActivities(deps),
    ...createSnapshotActivities(deps),
    ...createProjectActivities(deps),
    ...createBucketActivities(deps),
    ...createTableActivities(deps),
    ...createTableGroupActivities(deps),
    ...createConfigurationActivities(deps),
    ...createOrchestrationActivities(deps),
    ...createNotificationActivities(deps),
    ...createPermanentFileActivities(deps),
    ...createVerifyActivities(deps),
    ...createCreatedEntityActivities(deps),
    ...createReportActivities(deps),
    ...createCleanupActivities(deps),
    ...createWriterActivities(deps),
    ...createSyncActivities(deps),
    ...createScheduleActivities(deps),
  });
}

export type MigrationActivities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps';
export { createActivityDeps } from './deps';
