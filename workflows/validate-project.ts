// validateProject: the dry run behind `stack-migrate validate`. Tokens live only on the worker, so the CLI cannot
// validate by itself: this short workflow runs the migration's own validation activity (reads both projects,
// writes nothing) and returns its findings and plan. No approval, no snapshot, no search attribute changes.
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { MigrationActivities } from '../activities';
import { componentRules, describeIssues, migrationInputSchema, type MigrationInputDraft } from './input';
import { activityRetry } from './retry';
import type { ValidationReport } from './types';

export async function validateProject(rawInput: MigrationInputDraft): Promise<ValidationReport> {
  const parsed = migrationInputSchema.safeParse(rawInput);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`invalid migration input: ${describeIssues(parsed.error)}`, 'InvalidInput');
  const { source, destination, resume, options } = parsed.data;
  // A dry run answers an operator who is waiting: a few attempts, then the failure (a migration itself waits out outages).
  const { validateMigration } = proxyActivities<MigrationActivities>({
    startToCloseTimeout: '10m',
    heartbeatTimeout: `${options.heartbeatTimeoutSeconds}s`,
    retry: { ...activityRetry, maximumAttempts: 4 },
  });
  return validateMigration({ source, destination, resume, components: componentRules(options) });
}
