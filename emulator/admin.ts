/**
 * The emulator's own admin API under `/_emulator` (docs/CONTRACTS.md): projects, faults, the job delay and request
 * counts. No token, never subject to faults. The services add test-only routes of their own (decrypt, GoodData,
 * Snowflake login).
 */
import { faultSpecSchema } from './faults';
import type { StackHost } from './host';
import { createProject } from './projects';
import { badRequest, reply } from './replies';
import { parseProjectSeed, type ParsedProjectSeed } from './seed';
import type { ProjectRecord } from './state';

const projectInfo = (p: ProjectRecord) => ({
  id: p.id,
  name: p.name,
  defaultBranchId: p.defaultBranchId,
  tokens: p.tokens.map((t) => ({ id: t.id, token: t.token, description: t.description, isMasterToken: t.isMasterToken })),
});

export function registerAdmin(host: StackHost): void {
  const api = host.adminApi;
  api.post('/_emulator/projects', async (ctx) => {
    const body = await ctx.body();
    let seed: ParsedProjectSeed;
    try {
      seed = parseProjectSeed(body);
    } catch (e) {
      throw badRequest((e as Error).message, 'emulator.invalidProject');
    }
    return reply(201, projectInfo(await createProject(host, seed)));
  });
  api.get('/_emulator/projects', () => reply(200, host.state.projects.map(projectInfo)));

  api.post('/_emulator/faults', async (ctx) => {
    const parsed = faultSpecSchema.safeParse(await ctx.body());
    if (!parsed.success) throw badRequest(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), 'emulator.invalidFault');
    try {
      return reply(201, { id: host.faults.add(parsed.data).id });
    } catch (e) {
      throw badRequest((e as Error).message, 'emulator.invalidFault');
    }
  });
  api.get('/_emulator/faults', () => reply(200, host.faults.list()));
  api.delete('/_emulator/faults', () => {
    host.faults.clear();
    return reply(204);
  });

  api.put('/_emulator/job-delay', async (ctx) => {
    const ms = (await ctx.body()).ms;
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0) throw badRequest('body {ms}: a whole number of milliseconds, 0 or more', 'emulator.invalidJobDelay');
    host.jobDelayMs = ms;
    return reply(200, { ms });
  });

  api.get('/_emulator/requests', () => reply(200, { ...host.requestCounts }));
  api.delete('/_emulator/requests', () => {
    for (const k of Object.keys(host.requestCounts)) delete host.requestCounts[k];
    return reply(204);
  });
}
