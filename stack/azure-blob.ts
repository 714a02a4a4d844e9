// The Azure Blob SDK, loaded the first time an Azure transfer or snapshot store needs it: a worker whose stacks and
// snapshots are on AWS or GCP never holds it (about 16 MB of its idle RSS).
import type * as AzureBlob from '@azure/storage-blob';

export function azureBlob(): typeof AzureBlob {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, on purpose
  return require('@azure/storage-blob') as typeof AzureBlob;
}
