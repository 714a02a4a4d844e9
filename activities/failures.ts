// Maps errors from the stack client and the snapshot store to Temporal failures (docs/domain.md#failure-policy):
// retryable ones carry the stack's Retry-After as the next retry delay; the rest fail at once with a named type.
import { ApplicationFailure } from '@temporalio/common';
import { StackError } from '../stack';
import { MalformedSnapshotError } from '../snapshot/layout';

const typeByKind: Record<StackError['kind'], string> = {
  'invalid-token': 'InvalidToken',
  forbidden: 'PermissionDenied',
  'not-found': 'NotFound',
  'bad-request': 'BadRequest',
  conflict: 'Conflict',
  maintenance: 'StackUnavailable',
  'rate-limited': 'RateLimited',
  server: 'StackServerError',
  network: 'NetworkError',
  timeout: 'NetworkError',
  'unexpected-response': 'UnexpectedResponse',
  'job-failed': 'JobFailed',
};

export function toFailure(error: unknown): unknown {
  if (error instanceof ApplicationFailure) return error;
  if (error instanceof StackError) {
    const type = typeByKind[error.kind];
    return ApplicationFailure.create({
      message: error.message,
      type,
      nonRetryable: !error.retryable,
      nextRetryDelay: error.retryable && error.retryAfterSeconds ? `${error.retryAfterSeconds}s` : undefined,
      details: [{ kind: error.kind, status: error.status, code: error.code, endpoint: error.endpoint }],
    });
  }
  if (error instanceof MalformedSnapshotError) {
    return ApplicationFailure.create({ message: error.message, type: error.type, nonRetryable: error.nonRetryable });
  }
  return error; // unknown errors stay retryable: a bug fixed and deployed lets the migration go on
}

/** Wraps every activity so that its errors are classified the same way. */
export function withFailureMapping<T extends Record<string, (...args: any[]) => Promise<unknown>>>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        try {
          return await fn(...args);
        } catch (error) {
          throw toFailure(error);
        }
      },
    ]),
  ) as T;
}
