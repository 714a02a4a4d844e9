/** Storage jobs of the project, newest first, and one job's detail (the runner is emulator/jobs.ts). */
import type { StackHost } from '../host';
import { findById } from '../lookup';
import { notFound, reply } from '../replies';
import { jobJson } from '../views';

const S = '/v2/storage';

export function registerJobs(host: StackHost): void {
  host.storageApi.get(`${S}/jobs/{jobId}`, (ctx, { jobId }) => {
    const j = /^[1-9][0-9]*$/.test(jobId) ? findById(host.state.jobs, Number(jobId)) : undefined;
    if (!j || j.projectId !== ctx.project.id) throw notFound('storage.jobs.notFound', `Job ${jobId} not found`);
    return reply(200, jobJson(host, j));
  });
  host.storageApi.get(`${S}/jobs`, (ctx) => {
    const limit = Number(ctx.url.searchParams.get('limit') ?? 100);
    const offset = Number(ctx.url.searchParams.get('offset') ?? 0);
    const jobs = host.state.jobs.filter((j) => j.projectId === ctx.project.id).reverse();
    return reply(200, jobs.slice(offset, offset + limit).map((j) => jobJson(host, j)));
  });
}
