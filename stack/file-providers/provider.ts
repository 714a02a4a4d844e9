/**
 * What differs between Keboola's file providers (docs/CONTRACTS.md): where the objects of a prepared file are
 * written and with which credentials, and how a slice named in a manifest is read. The files area
 * (stack/resources/files.ts) picks the provider by a file answer's `provider` and does everything else itself:
 * preparing, slicing, refreshing credentials, the manifest, the limiter, error classification.
 *
 * One implementation today, GCP (./gcp.ts); AWS S3 and Azure Blob are to be added beside it.
 */
import type { ObjectRequest } from '../object-store';
import type { FileInfo } from '../schemas';

export interface FileProvider {
  /**
   * Where the objects of a prepared (or refreshed) file go. `endpoint` names the answer the file came from; an
   * answer without this provider's upload parameters is refused with an unexpected-response StackError.
   */
  uploadTarget(file: FileInfo, endpoint: string): UploadTarget;
  /** How to read `sliceUrl`: one of the manifest's entries, or a plain file's own signed URL. */
  download(file: FileInfo, sliceUrl: string): ObjectRequest;
}

export interface UploadTarget {
  /** When the upload credentials expire (ms since the epoch). */
  expiresAt: number;
  /**
   * The object named by the file's key + `suffix`: `''` is the whole (unsliced) file, `part0001.csv.gz` a slice,
   * `manifest` the manifest. `manifestUrl` is how a manifest entry names that object.
   */
  object(suffix: string): ObjectRequest & { manifestUrl: string };
}
