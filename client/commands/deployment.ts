// Worker Deployment Versioning for operators (README, "Upgrading workers"): which builds of the worker exist, which
// one new migrations start on, and making a new build the current one. Migrations are pinned to the build they
// started on, so the old build's workers keep serving them until its versions are drained.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { InputError } from './start';

const { WorkerDeploymentVersionStatus, VersionDrainageStatus, RoutingConfigUpdateState } = temporal.api.enums.v1;

export interface DeploymentBuild {
  buildId: string;
  /** current (new migrations start here), draining (pinned migrations still run here), drained, inactive, ramping */
  status: string;
  /** Whether migrations pinned to it still run (known once the server has looked: `drained` means none). */
  drainage?: string;
}

export interface DeploymentOverview {
  deploymentName: string;
  current?: string;
  builds: DeploymentBuild[];
}

const statusName = (status: number | null | undefined) =>
  (WorkerDeploymentVersionStatus[status ?? 0] ?? 'UNSPECIFIED').replace('WORKER_DEPLOYMENT_VERSION_STATUS_', '').toLowerCase();
const drainageName = (status: number | null | undefined) =>
  status ? (VersionDrainageStatus[status] ?? '').replace('VERSION_DRAINAGE_STATUS_', '').toLowerCase() || undefined : undefined;

async function describe(client: Client, deploymentName: string) {
  try {
    return await client.workflowService.describeWorkerDeployment({ namespace: client.options.namespace, deploymentName });
  } catch (error) {
    if ((error as { code?: number }).code === 5) return undefined; // NOT_FOUND: no versioned worker has polled yet
    throw error;
  }
}

/** The builds of a deployment and the current one. */
export async function describeDeployment(client: Client, deploymentName: string): Promise<DeploymentOverview> {
  const answer = await describe(client, deploymentName);
  const info = answer?.workerDeploymentInfo;
  return {
    deploymentName,
    current: info?.routingConfig?.currentDeploymentVersion?.buildId ?? undefined,
    builds: (info?.versionSummaries ?? []).map((v) => ({
      buildId: v.deploymentVersion?.buildId ?? v.version ?? '',
      status: statusName(v.status),
      ...(drainageName(v.drainageStatus) ? { drainage: drainageName(v.drainageStatus) } : {}),
    })),
  };
}

/**
 * Makes `buildId` the build new migrations start on, once a worker of it has polled (waits up to `waitMs` for
 * one); answers when the change has reached every task queue. Running migrations stay on their builds.
 */
export async function setCurrentBuild(client: Client, deploymentName: string, buildId: string, options: { waitMs?: number; identity?: string } = {}): Promise<{ previous?: string }> {
  const deadline = Date.now() + (options.waitMs ?? 60_000);
  let answer = await describe(client, deploymentName);
  const known = () => answer?.workerDeploymentInfo?.versionSummaries?.some((v) => v.deploymentVersion?.buildId === buildId);
  while (!known()) {
    if (Date.now() > deadline) {
      throw new InputError(
        `no worker of build ${buildId} has polled deployment ${deploymentName} yet: start the new workers (STACK_MIGRATE_BUILD_ID=${buildId}, STACK_MIGRATE_DEPLOYMENT_NAME=${deploymentName}) first`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    answer = await describe(client, deploymentName);
  }
  const previous = answer!.workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId ?? undefined;
  while (previous !== buildId) {
    try {
      await client.workflowService.setWorkerDeploymentCurrentVersion({
        namespace: client.options.namespace,
        deploymentName,
        buildId,
        conflictToken: answer!.conflictToken,
        identity: options.identity ?? 'stack-migrate CLI',
      });
      break;
    } catch (error) {
      // FAILED_PRECONDITION: the new build's worker has registered on some task queues of the current build but not
      // yet on all (workflow and activity queues register one by one after its first poll). It will; ask again.
      if ((error as { code?: number }).code !== 9) throw error;
      if (Date.now() > deadline) {
        throw new InputError(`build ${buildId} cannot become current in deployment ${deploymentName} yet: ${(error as Error).message.replace(/^9 FAILED_PRECONDITION: /, '')}. Start its workers on the same task queue as build ${previous} and try again`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      answer = await describe(client, deploymentName);
    }
  }
  for (;;) {
    const info = (await describe(client, deploymentName))?.workerDeploymentInfo;
    const propagated = info?.routingConfig?.currentDeploymentVersion?.buildId === buildId && info.routingConfigUpdateState !== RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_IN_PROGRESS;
    if (propagated) return previous ? { previous } : {};
    if (Date.now() > deadline) throw new Error(`build ${buildId} was made current in deployment ${deploymentName}, but the change has not reached every task queue yet: check with \`stack-migrate deployment show\``);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** What `stack-migrate deployment show` prints. */
export function formatDeployment(overview: DeploymentOverview): string {
  if (!overview.builds.length) return `deployment ${overview.deploymentName}: no versioned worker has polled yet (workers run unversioned without STACK_MIGRATE_BUILD_ID)`;
  const lines = [`deployment ${overview.deploymentName}: new migrations start on build ${overview.current ?? '(none: set one with `stack-migrate deployment set-current`)'}`];
  for (const build of overview.builds) lines.push(`  ${build.buildId}  ${build.status}${build.drainage && build.drainage !== build.status ? ` (${build.drainage})` : ''}`);
  return lines.join('\n');
}
