/** Development branches (`GET dev-branches`) and the default branch's own metadata (project description and the like). */
import { z } from 'zod';
import { StackError } from '../errors';
import { MetadataListSchema, idLike, type MetadataEntry, type MetadataInput } from '../schemas';
import { seg } from '../transport';
import { StackResource, keyValues } from './resource';

const BranchListSchema = z.array(z.looseObject({ id: idLike.transform(String), name: z.string(), isDefault: z.boolean() }));

export class BranchesResource extends StackResource {
  /** The project's branches; the default one (`isDefault`) is the project itself. */
  async list(): Promise<z.infer<typeof BranchListSchema>> {
    return this.transport.request('GET', '/dev-branches', BranchListSchema);
  }

  /** The ID of the default branch, which job filters (`branch.id`) name. */
  async defaultBranchId(): Promise<string> {
    const branch = (await this.list()).find((b) => b.isDefault);
    if (!branch) throw new StackError({ kind: 'unexpected-response', endpoint: 'GET /v2/storage/dev-branches', message: `${this.transport.url} lists no default branch` });
    return branch.id;
  }

  async listMetadata(): Promise<MetadataEntry[]> {
    return this.transport.request('GET', '/branch/default/metadata', MetadataListSchema);
  }

  async deleteMetadata(metadataId: string): Promise<void> {
    await this.transport.request('DELETE', `/branch/default/metadata/${seg(metadataId)}`, z.unknown());
  }

  async setMetadata(entries: MetadataInput[]): Promise<MetadataEntry[]> {
    return this.transport.request('POST', '/branch/default/metadata', MetadataListSchema, { json: { metadata: keyValues(entries) } });
  }
}
