/** Tokens (blueprint "Group Tokens and Permissions"): the client's own token, the project's tokens. */
import { ProjectTokenSchema, TokenInfoSchema, type ProjectToken, type TokenInfo } from '../schemas';
import { seg } from '../transport';
import { StackResource, compact } from './resource';

export interface CreateTokenInput {
  description: string;
  canManageBuckets?: boolean;
  canReadAllFileUploads?: boolean;
  canPurgeTrash?: boolean;
  bucketPermissions?: Record<string, 'read' | 'write' | string>;
  componentAccess?: string[];
  expiresIn?: number;
}

export class TokensResource extends StackResource {
  /** The client's token: its permissions and its project (the secret itself is not in the answer). */
  async verify(): Promise<TokenInfo> {
    return this.transport.request('GET', '/tokens/verify', TokenInfoSchema);
  }

  /** Tokens of the project, without their secrets (needs a token with `canManageTokens`, e.g. a master token). */
  async list(): Promise<ProjectToken[]> {
    return this.transport.list('GET', '/tokens', ProjectTokenSchema);
  }

  /** Deletes a token (a token that a trigger runs with cannot be deleted). */
  async delete(id: number | string): Promise<void> {
    await this.transport.send('DELETE', `/tokens/${seg(id)}`);
  }

  /** Creates a (non-master) token; answers it without its secret. */
  async create(input: CreateTokenInput): Promise<ProjectToken> {
    return this.transport.request('POST', '/tokens', ProjectTokenSchema, { json: compact({ ...input }) });
  }
}
