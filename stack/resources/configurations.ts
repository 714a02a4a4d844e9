/** Configurations of the default branch (blueprint "Group Components and Configurations"), their rows and metadata. */
import {
  ConfigurationRowSchema,
  ConfigurationSchema,
  MetadataListSchema,
  type Configuration,
  type ConfigurationRow,
  type JsonObject,
  type MetadataEntry,
  type MetadataInput,
} from '../schemas';
import { seg } from '../transport';
import { StackResource, compact, configurationPath, keyValues } from './resource';

export interface CreateConfigurationInput {
  configurationId?: string;
  name: string;
  description?: string;
  configuration?: JsonObject;
  state?: JsonObject;
  isDisabled?: boolean;
  changeDescription?: string;
}

export interface UpdateConfigurationInput {
  name?: string;
  description?: string;
  configuration?: JsonObject;
  state?: JsonObject;
  rowsSortOrder?: string[];
  isDisabled?: boolean;
  changeDescription?: string;
}

export interface CreateConfigurationRowInput {
  rowId?: string;
  name: string;
  description?: string;
  configuration?: JsonObject;
  state?: JsonObject;
  isDisabled?: boolean;
  changeDescription?: string;
}

/** What a row update changes: only the fields given. */
export type UpdateConfigurationRowInput = Omit<CreateConfigurationRowInput, 'rowId' | 'name'> & { name?: string };

export class ConfigurationsResource extends StackResource {
  /**
   * The component's configurations in the default branch (not those in the trash), with their rows and state,
   * read as they are consumed, one at a time: the API does not page the list, and a component may have thousands
   * (tens of MB in one answer).
   */
  stream(componentId: string): AsyncGenerator<Configuration> {
    return this.transport.listItems('GET', configurationPath(componentId), ConfigurationSchema);
  }

  /** The configuration, or null when it does not exist. */
  async get(componentId: string, configId: string): Promise<Configuration | null> {
    return this.transport.request('GET', configurationPath(componentId, configId), ConfigurationSchema, { allow404: true });
  }

  async create(componentId: string, input: CreateConfigurationInput): Promise<Configuration> {
    return this.transport.request('POST', configurationPath(componentId), ConfigurationSchema, { json: compact({ ...input }) });
  }

  async update(componentId: string, configId: string, input: UpdateConfigurationInput): Promise<Configuration> {
    return this.transport.request('PUT', configurationPath(componentId, configId), ConfigurationSchema, { json: compact({ ...input }) });
  }

  async delete(componentId: string, configId: string): Promise<void> {
    await this.transport.send('DELETE', configurationPath(componentId, configId));
  }

  async createRow(componentId: string, configId: string, input: CreateConfigurationRowInput): Promise<ConfigurationRow> {
    return this.transport.request('POST', `${configurationPath(componentId, configId)}/rows`, ConfigurationRowSchema, { json: compact({ ...input }) });
  }

  /** Changes a row (a new version of the row and of its configuration). */
  async updateRow(componentId: string, configId: string, rowId: string, input: UpdateConfigurationRowInput): Promise<ConfigurationRow> {
    return this.transport.request('PUT', `${configurationPath(componentId, configId)}/rows/${seg(rowId)}`, ConfigurationRowSchema, { json: compact({ ...input }) });
  }

  /** Deletes a row for good (rows have no trash). */
  async deleteRow(componentId: string, configId: string, rowId: string, options: { changeDescription?: string } = {}): Promise<void> {
    await this.transport.send('DELETE', `${configurationPath(componentId, configId)}/rows/${seg(rowId)}`, options.changeDescription !== undefined ? { json: { changeDescription: options.changeDescription } } : {});
  }

  /** Replaces the configuration's state (`PUT .../configs/{id}/state`: no new version of the configuration). */
  async updateState(componentId: string, configId: string, state: JsonObject): Promise<Configuration> {
    return this.transport.request('PUT', `${configurationPath(componentId, configId)}/state`, ConfigurationSchema, { json: { state } });
  }

  async listMetadata(componentId: string, configId: string): Promise<MetadataEntry[]> {
    return this.transport.request('GET', `${configurationPath(componentId, configId)}/metadata`, MetadataListSchema);
  }

  async setMetadata(componentId: string, configId: string, entries: MetadataInput[]): Promise<MetadataEntry[]> {
    return this.transport.request('POST', `${configurationPath(componentId, configId)}/metadata`, MetadataListSchema, {
      json: { metadata: keyValues(entries) },
    });
  }
}
