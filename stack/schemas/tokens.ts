/** Tokens (blueprint "Group Tokens and Permissions"): the verify answer and the project's tokens. */
import { z } from 'zod';
import { emptyArrayAsObject, idLike } from './common';

export const TokenOwnerSchema = z.looseObject({
  id: idLike,
  name: z.string(),
  type: z.string().optional(),
  region: z.string(),
  defaultBackend: z.string(),
  hasSnowflake: z.boolean(),
  hasRedshift: z.boolean().optional(),
  hasBigquery: z.boolean().optional(),
  hasSynapse: z.boolean().optional(),
  hasExasol: z.boolean().optional(),
  hasTeradata: z.boolean().optional(),
  hasMysql: z.boolean().optional(),
  features: z.array(z.string()),
  assignedBackends: z.array(z.string()).optional(),
  fileStorageProvider: z.string().optional(),
  dataSizeBytes: z.number().nullable().optional(),
  rowsCount: z.number().nullable().optional(),
  isDisabled: z.boolean().optional(),
});

export const TokenAdminSchema = z.looseObject({
  id: idLike,
  name: z.string(),
  features: z.array(z.string()).optional(),
  isOrganizationMember: z.boolean().optional(),
  role: z.string().optional(),
});

/**
 * Note: the verify answer also carries the token itself (`token`); the schema removes it, so a TokenInfo can be
 * logged or passed around without leaking the secret.
 */
export const TokenInfoSchema = z
  .looseObject({
    id: idLike,
    description: z.string().nullable().optional(),
    created: z.string().optional(),
    isMasterToken: z.boolean(),
    canManageBuckets: z.boolean(),
    canManageTokens: z.boolean().optional(),
    canReadAllFileUploads: z.boolean().optional(),
    expires: z.string().nullable().optional(),
    isExpired: z.boolean().optional(),
    isDisabled: z.boolean().optional(),
    bucketPermissions: z.preprocess(emptyArrayAsObject, z.record(z.string(), z.string())).optional(),
    admin: TokenAdminSchema.optional(),
    organization: z.looseObject({ id: idLike }).nullable().optional(),
    owner: TokenOwnerSchema,
  })
  .transform((info) => {
    const { token: _secret, ...rest } = info as typeof info & { token?: unknown };
    return rest as typeof info;
  });
export type TokenInfo = z.infer<typeof TokenInfoSchema>;

/**
 * A token as listed or created. The secret (`token`) is removed by the schema: callers only ever need the ID
 * (e.g. to run a trigger with it), and a token object can then be logged or kept in a heartbeat safely.
 */
export const ProjectTokenSchema = z
  .looseObject({
    id: idLike,
    description: z.string().nullable().optional(),
    created: z.string().optional(),
    isMasterToken: z.boolean().optional(),
    canManageBuckets: z.boolean().optional(),
    canReadAllFileUploads: z.boolean().optional(),
    expires: z.string().nullable().optional(),
  })
  .transform((t) => {
    const { token: _secret, ...rest } = t as typeof t & { token?: unknown };
    return rest as typeof t;
  });
export type ProjectToken = z.infer<typeof ProjectTokenSchema>;
