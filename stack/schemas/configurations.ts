/** Components and their configurations in the default branch (blueprint "Group Components and Configurations"). */
import { z } from 'zod';
import { CreatorTokenSchema, JsonObjectSchema } from './common';

const ConfigurationVersionSchema = z.looseObject({
  created: z.string().optional(),
  creatorToken: CreatorTokenSchema.optional(),
  changeDescription: z.string().nullable().optional(),
  versionIdentifier: z.string().optional(),
});

export const ConfigurationRowSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullable().optional(),
  description: z.string().nullable().optional(),
  configuration: JsonObjectSchema,
  state: JsonObjectSchema.optional(),
  isDisabled: z.boolean().optional(),
  version: z.number().optional(),
  created: z.string().optional(),
  creatorToken: CreatorTokenSchema.optional(),
  changeDescription: z.string().nullable().optional(),
});
export type ConfigurationRow = z.infer<typeof ConfigurationRowSchema>;

export const ConfigurationSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable().optional(),
  created: z.string().optional(),
  creatorToken: CreatorTokenSchema.optional(),
  version: z.number().optional(),
  changeDescription: z.string().nullable().optional(),
  isDisabled: z.boolean().optional(),
  isDeleted: z.boolean().optional(),
  configuration: JsonObjectSchema,
  state: JsonObjectSchema.optional(),
  rowsSortOrder: z.array(z.string()).optional(),
  rows: z.array(ConfigurationRowSchema).optional(),
  /** The last version: its `changeDescription` says who changed the configuration last, and why. */
  currentVersion: ConfigurationVersionSchema.optional(),
});
export type Configuration = z.infer<typeof ConfigurationSchema>;

export const ComponentWithConfigurationsSchema = z.looseObject({
  id: z.string(),
  type: z.string(),
  name: z.string(),
  description: z.string().nullable().optional(),
  flags: z.array(z.string()).optional(),
  uri: z.string().optional(),
  configurations: z.array(ConfigurationSchema),
});
export type ComponentWithConfigurations = z.infer<typeof ComponentWithConfigurationsSchema>;

/** A component as listed without `include`: its configurations' IDs, names and versions, no bodies, rows or state. */
export const ComponentHeadsSchema = ComponentWithConfigurationsSchema.extend({
  configurations: z.array(ConfigurationSchema.pick({ id: true, name: true, description: true, version: true, isDisabled: true, changeDescription: true, currentVersion: true }).loose()),
});
export type ComponentHeads = z.infer<typeof ComponentHeadsSchema>;
