/** Buckets (blueprint "Group Buckets"). */
import { BucketSchema, MetadataListSchema, type Bucket, type MetadataEntry, type MetadataInput } from '../schemas';
import { seg } from '../transport';
import { StackResource, compact, keyValues } from './resource';

export interface CreateBucketInput {
  name: string;
  stage: 'in' | 'out' | string;
  description?: string;
  displayName?: string;
  backend?: string;
  color?: string;
}

export class BucketsResource extends StackResource {
  /** Every bucket with its metadata. */
  async list(): Promise<Bucket[]> {
    return this.transport.list('GET', '/buckets', BucketSchema, { query: { include: 'metadata' } });
  }

  async create(input: CreateBucketInput): Promise<Bucket> {
    return this.transport.request('POST', '/buckets', BucketSchema, { json: compact({ ...input }) });
  }

  /** Deletes asynchronously (awaiting the job); `force` deletes the bucket's tables too. */
  async delete(bucketId: string, options: { force?: boolean } = {}): Promise<void> {
    const res = await this.transport.send('DELETE', `/buckets/${seg(bucketId)}`, { query: { force: options.force ? 1 : undefined, async: 1 } });
    if (res.status === 202) await this.transport.jobOf(res);
  }

  async setMetadata(bucketId: string, provider: string, entries: MetadataInput[]): Promise<MetadataEntry[]> {
    return this.transport.request('POST', `/buckets/${seg(bucketId)}/metadata`, MetadataListSchema, {
      json: { provider, metadata: keyValues(entries) },
    });
  }
}
