// Opens the snapshot store a location names: a local folder, `s3://bucket/prefix`, `azure://account/container/
// prefix` or `gs://bucket/prefix`, with credentials from each SDK's standard environment on the worker.
import { LocalSnapshotStore, type SnapshotStore } from '../store';
import { AzureSnapshotStore, azureContainer } from './azure';
import { GcsSnapshotStore, gcsBucket } from './gcs';
import { S3SnapshotStore, s3ClientFromEnv } from './s3';

/** A location no store understands: the operator's configuration is wrong. */
export class SnapshotLocationError extends Error {
  override name = 'SnapshotLocationError';
}

export function openSnapshotStore(location: string, env: NodeJS.ProcessEnv): SnapshotStore {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? new URL(location) : undefined;
  if (!url) {
    if (!location.startsWith('/')) throw new SnapshotLocationError(`the snapshot location "${location}" must be an absolute folder on the worker, or s3://, azure:// or gs://`);
    return new LocalSnapshotStore(location);
  }
  const prefix = url.pathname.replace(/^\/+|\/+$/g, '');
  switch (url.protocol) {
    case 's3:':
      return new S3SnapshotStore(s3ClientFromEnv(env), url.hostname, prefix);
    case 'gs:':
      return new GcsSnapshotStore(gcsBucket(env, url.hostname), prefix);
    case 'azure:': {
      const [container, ...rest] = prefix.split('/');
      if (!container) throw new SnapshotLocationError(`the snapshot location "${location}" names no container: use azure://account/container/prefix`);
      return new AzureSnapshotStore(azureContainer(env, container), url.hostname, rest.join('/'));
    }
    case 'file:':
      return new LocalSnapshotStore(decodeURIComponent(url.pathname));
    default:
      throw new SnapshotLocationError(`the snapshot location "${location}" has an unknown scheme ${url.protocol}: use a folder, s3://, azure:// or gs://`);
  }
}
