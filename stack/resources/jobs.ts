/** Storage jobs (blueprint "Group Jobs"): the client awaits the jobs of its own calls; these read and await any job. */
import { JobSchema, type Job } from '../schemas';
import { seg } from '../transport';
import { StackResource } from './resource';

export class JobsResource extends StackResource {
  async get(jobId: number | string): Promise<Job> {
    return this.transport.request('GET', `/jobs/${seg(jobId)}`, JobSchema);
  }

  /** Polls the job until it ends; throws StackError (carrying the job id) when it ends in error. */
  async wait(job: Job | number, options: { onPoll?: (job: Job) => void } = {}): Promise<Job> {
    const start = typeof job === 'number' ? await this.get(job) : job;
    return this.transport.waitForJob(start, undefined, options.onPoll);
  }
}
