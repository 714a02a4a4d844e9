/** The API index (`GET /v2/storage`: components, services, stack) and the component detail, both without a token. */
import type { StackHost } from '../host';
import { strList } from '../params';
import { reply } from '../replies';
import { componentJson } from '../views';
import { requireComponent } from './entities';

const S = '/v2/storage';

export function registerApiIndex(host: StackHost): void {
  host.publicApi.get(S, (ctx) => {
    const exclude = new Set(strList(ctx.url.searchParams.get('exclude')));
    const service = (id: string) => ({ id, url: `${host.url}/_services/${id}` });
    const out: Record<string, unknown> = {
      api: 'storage',
      documentation: 'https://keboola.docs.apiary.io/',
      version: 'v2',
    };
    if (!exclude.has('components')) out.components = host.stack.components.map((c) => componentJson(host, c.id, !exclude.has('componentDetails')));
    out.services = ['docker-runner', 'import', 'syrup', 'queue', 'orchestrator', 'encryption', 'oauth', 'sandboxes', 'scheduler', 'sync-actions', ...host.serviceIds.filter((id) => id !== 'encryption' && id !== 'scheduler')].map(service);
    out.features = host.stack.features ?? [];
    out.urlTemplates = { orchestrationJob: '/admin/projects/&&projectId&&/orchestrations/&&orchestrationId&&/jobs/&&jobId&&' };
    out.stack = { name: host.stack.name ?? null, region: host.stack.region, snowflakeHost: host.stack.snowflakeHost, outboundIpAddresses: host.stack.outboundIpAddresses };
    return reply(200, out);
  });
  host.publicApi.get(`${S}/components/{componentId}`, (_ctx, { componentId }) => {
    requireComponent(host, componentId!);
    return reply(200, componentJson(host, componentId!));
  });
}
