/** Snowflake workspaces of the project or of one configuration (blueprint "Group Workspaces"). */
import { WorkspaceCreatedSchema, WorkspacePasswordSchema, WorkspaceSchema, type Workspace, type WorkspaceCreated } from '../schemas';
import { seg } from '../transport';
import { StackResource, compact, configurationPath } from './resource';

export interface CreateWorkspaceInput {
  /** Creates the workspace for this configuration (Storage lists it among the configuration's workspaces). */
  configuration?: { componentId: string; configId: string };
  backend?: 'snowflake';
  backendSize?: string;
  readOnlyStorageAccess?: boolean;
  loginType?: string;
}

type ConfigurationRef = NonNullable<CreateWorkspaceInput['configuration']>;

function workspacesPath(configuration?: ConfigurationRef): string {
  return configuration ? `${configurationPath(configuration.componentId, configuration.configId)}/workspaces` : '/branch/default/workspaces';
}

export class WorkspacesResource extends StackResource {
  /** A Snowflake workspace of the project (or of a configuration), created synchronously; the only answer with its password. */
  async create(input: CreateWorkspaceInput = {}): Promise<WorkspaceCreated> {
    const { configuration, ...body } = input;
    return this.transport.request('POST', workspacesPath(configuration), WorkspaceCreatedSchema, { json: compact({ backend: 'snowflake', ...body }) });
  }

  /** The project's workspaces, or those created for one configuration. */
  async list(configuration?: ConfigurationRef): Promise<Workspace[]> {
    return this.transport.list('GET', workspacesPath(configuration), WorkspaceSchema);
  }

  /** The workspace, or null when it does not exist. */
  async get(workspaceId: number | string): Promise<Workspace | null> {
    return this.transport.request('GET', `/branch/default/workspaces/${seg(workspaceId)}`, WorkspaceSchema, { allow404: true });
  }

  async delete(workspaceId: number | string): Promise<void> {
    await this.transport.send('DELETE', `/branch/default/workspaces/${seg(workspaceId)}`);
  }

  /** A new password for a workspace (the old one stops working). */
  async resetPassword(workspaceId: number | string): Promise<string> {
    return (await this.transport.request('POST', `/branch/default/workspaces/${seg(workspaceId)}/password`, WorkspacePasswordSchema)).password;
  }
}
