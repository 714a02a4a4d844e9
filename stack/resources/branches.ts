/** The default branch's own metadata (project description and the like). */
import { MetadataListSchema, type MetadataEntry, type MetadataInput } from '../schemas';
import { StackResource, keyValues } from './resource';

export class BranchesResource extends StackResource {
  async listMetadata(): Promise<MetadataEntry[]> {
    return this.transport.request('GET', '/branch/default/metadata', MetadataListSchema);
  }

  async setMetadata(entries: MetadataInput[]): Promise<MetadataEntry[]> {
    return this.transport.request('POST', '/branch/default/metadata', MetadataListSchema, { json: { metadata: keyValues(entries) } });
  }
}
