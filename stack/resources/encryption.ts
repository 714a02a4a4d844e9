/**
 * The stack's Encryption API (the `encryption` service of the API index, discovered on first use):
 * - `encryptValue`: a value encrypted for a component, and optionally a project and a configuration, of that stack
 *   (Keboola's `POST /encrypt?componentId=&projectId=&configId=`, JSON in and out);
 * - `migrateConfiguration`: Keboola's `POST /migrate-configuration[?dry-run=true]` with a Manage API token
 *   (`X-KBC-ManageApiToken`): the source stack decrypts a configuration's values and has them re-encrypted for the
 *   destination project, where it writes the configuration (not in a dry run).
 * The Manage token and the Storage tokens sent in the body are redacted from every error message.
 */
import { StackError } from '../errors';
import { EncryptedObjectSchema, MigrateConfigurationResultSchema, type MigrateConfigurationResult } from '../schemas';
import { StackResource } from './resource';

export interface EncryptionBinding {
  componentId: string;
  projectId?: number | string;
  configId?: string;
}

export interface MigrateConfigurationInput {
  /** Manage API token of the stack whose Encryption API is called (the source). */
  manageToken: string;
  sourceStorageApiToken: string;
  /** The destination stack as Keboola names it: its host, e.g. `connection.eu-central-1.keboola.com`. */
  destinationStack: string;
  destinationStorageApiToken: string;
  componentId: string;
  configId: string;
  /** Default `default`. */
  branchId?: string;
  dryRun?: boolean;
}

const SERVICE = 'encryption';

export class EncryptionResource extends StackResource {
  /** `plain` encrypted for the binding (the ciphertext starts with `KBC::`). */
  async encryptValue(plain: string, binding: EncryptionBinding): Promise<string> {
    const query = { componentId: binding.componentId, projectId: binding.projectId, configId: binding.configId };
    const out = await this.transport.request('POST', '/encrypt', EncryptedObjectSchema, { service: SERVICE, query, json: { '#value': plain } });
    if (typeof out['#value'] !== 'string') {
      throw new StackError({ kind: 'unexpected-response', endpoint: 'POST /encrypt', message: `the Encryption API of ${this.transport.url} answered without "#value"` });
    }
    return out['#value'];
  }

  async migrateConfiguration(input: MigrateConfigurationInput): Promise<MigrateConfigurationResult> {
    return this.transport.request('POST', '/migrate-configuration', MigrateConfigurationResultSchema, {
      service: SERVICE,
      query: input.dryRun ? { 'dry-run': 'true' } : undefined,
      headers: { 'x-kbc-manageapitoken': input.manageToken },
      secrets: [input.manageToken, input.sourceStorageApiToken, input.destinationStorageApiToken],
      json: {
        sourceStorageApiToken: input.sourceStorageApiToken,
        destinationStack: input.destinationStack,
        destinationStorageApiToken: input.destinationStorageApiToken,
        componentId: input.componentId,
        configId: input.configId,
        branchId: input.branchId ?? 'default',
      },
    });
  }
}

/** Keboola names a stack by its host (`connection.keboola.com`); a stack URL gives it. */
export function stackHost(url: string): string {
  return new URL(url).host;
}
