/** The Encryption API (the `encryption` service of the API index). */
import { z } from 'zod';

export const EncryptedObjectSchema = z.record(z.string(), z.unknown());

export const MigrateConfigurationResultSchema = z.looseObject({
  message: z.string(),
  data: z.looseObject({ destinationStack: z.string(), componentId: z.string(), configId: z.string(), branchId: z.string() }),
});
export type MigrateConfigurationResult = z.infer<typeof MigrateConfigurationResultSchema>;
