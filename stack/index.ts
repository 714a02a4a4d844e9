/** Typed client of a Keboola stack (got + zod): createStackClient() and its API areas. See stack/client.ts. */
export * from './errors';
export * from './schemas';
export * from './limiter';
export type { ApiResponse, HttpMethod, RequestOptions, StackClientOptions, Transport } from './transport';
export { StackClient, createStackClient } from './client';
export type { BucketsResource, CreateBucketInput } from './resources/buckets';
export type { BranchesResource } from './resources/branches';
export type { ComponentsResource } from './resources/components';
export type { ConfigurationsResource, CreateConfigurationInput, CreateConfigurationRowInput, UpdateConfigurationInput } from './resources/configurations';
export { stackHost, type EncryptionBinding, type EncryptionResource, type MigrateConfigurationInput } from './resources/encryption';
export type { FileBody, FilesResource, UploadedFile, UploadOptions } from './resources/files';
export type { GoodDataProject, GoodDataResource, WaitOptions } from './resources/gooddata';
export type { CreateOrchestrationInput, OrchestrationNotificationInput, OrchestrationTaskInput, OrchestratorResource } from './resources/orchestrator';
export type { ServicesResource } from './resources/services';
export type { ColumnDefinitionInput, CreateAliasInput, CreateTableDefinitionInput, CreateTableFromFileInput, ImportTableInput, TableMetadataInput, TablesResource } from './resources/tables';
export type { CreateTokenInput, TokensResource } from './resources/tokens';
export type { CreateTriggerInput, TriggersResource } from './resources/triggers';
export type { CreateWorkspaceInput, WorkspacesResource } from './resources/workspaces';
