/**
 * The stack client: one object per stack and project (one token), its API areas side by side over one shared
 * Transport (stack/transport.ts), each area a module of stack/resources/ built the same way (docs/CONTRACTS.md).
 *
 *   const stack = createStackClient({ url, token });
 *   await stack.buckets.list();  await stack.tables.export(tableId);  await stack.orchestrator.list();
 */
import { BranchesResource } from './resources/branches';
import { BucketsResource } from './resources/buckets';
import { ComponentsResource } from './resources/components';
import { ConfigurationsResource } from './resources/configurations';
import { EncryptionResource } from './resources/encryption';
import { FilesResource } from './resources/files';
import { GoodDataResource } from './resources/gooddata';
import { NotificationsResource } from './resources/notifications';
import { OrchestratorResource } from './resources/orchestrator';
import { SchedulerResource } from './resources/scheduler';
import { ServicesResource } from './resources/services';
import { TablesResource } from './resources/tables';
import { TokensResource } from './resources/tokens';
import { TriggersResource } from './resources/triggers';
import { WorkspacesResource } from './resources/workspaces';
import { Transport, type StackClientOptions } from './transport';

export class StackClient {
  /** The stack's base URL, normalised (no trailing slash). */
  readonly url: string;
  /** The raw request path (requests, validation, jobs, services, the object store) under every area. */
  readonly transport: Transport;
  // Storage API
  readonly tokens: TokensResource;
  readonly services: ServicesResource;
  readonly branches: BranchesResource;
  readonly buckets: BucketsResource;
  readonly tables: TablesResource;
  readonly files: FilesResource;
  readonly components: ComponentsResource;
  readonly configurations: ConfigurationsResource;
  readonly workspaces: WorkspacesResource;
  readonly triggers: TriggersResource;
  // services of the API index
  readonly orchestrator: OrchestratorResource;
  readonly encryption: EncryptionResource;
  readonly gooddata: GoodDataResource;
  readonly notifications: NotificationsResource;
  readonly scheduler: SchedulerResource;

  constructor(options: StackClientOptions) {
    const transport = new Transport(options);
    this.url = transport.url;
    this.transport = transport;
    this.tokens = new TokensResource(transport);
    this.services = new ServicesResource(transport);
    this.branches = new BranchesResource(transport);
    this.buckets = new BucketsResource(transport);
    this.files = new FilesResource(transport);
    this.tables = new TablesResource(transport, this.files);
    this.components = new ComponentsResource(transport);
    this.configurations = new ConfigurationsResource(transport);
    this.workspaces = new WorkspacesResource(transport);
    this.triggers = new TriggersResource(transport);
    this.orchestrator = new OrchestratorResource(transport);
    this.encryption = new EncryptionResource(transport);
    this.gooddata = new GoodDataResource(transport);
    this.notifications = new NotificationsResource(transport);
    this.scheduler = new SchedulerResource(transport);
  }
}

export function createStackClient(options: StackClientOptions): StackClient {
  return new StackClient(options);
}
