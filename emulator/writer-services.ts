/** The services writers need (workspaces, Encryption API, GoodData domain): the one call server.ts makes for them. */
import { registerEncryption } from './encryption';
import { registerGoodData } from './gooddata';
import type { ServiceHost, ServiceRouters } from './service-host';
import { registerWorkspaces } from './workspaces';

export function registerWriterServices(host: ServiceHost, routers: ServiceRouters): void {
  registerWorkspaces(host, routers);
  registerEncryption(host, routers);
  registerGoodData(host, routers);
}
