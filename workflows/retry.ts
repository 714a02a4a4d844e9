import type { RetryPolicy } from '@temporalio/common';

/** Failure types that no retry can fix (docs/domain.md#not-retryable); activities throw them as non-retryable too. */
export const NON_RETRYABLE_TYPES = [
  'InvalidToken',
  'PermissionDenied',
  'NotFound',
  'BadRequest',
  'Conflict',
  'UnexpectedResponse',
  'JobFailed',
  'MalformedSnapshot',
  'ValidationBlocked',
  'InvalidInput',
];

// Retries wait out stack outages of hours: the interval grows to 5 minutes and attempts are unlimited
// (docs/domain.md#retryable). A stack's Retry-After overrides the interval (the activity sets nextRetryDelay).
export const activityRetry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '5m',
  nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
};
