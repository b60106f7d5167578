/**
 * Base of Rapport's errors: `name` set, `cause` kept, and marked retryable or
 * not so Step Functions Retry/Catch and HTTP mapping can decide on `name`.
 */
export abstract class RapportError extends Error {
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Error names AWS services and the SDK use for throttling and transient faults. */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'TransactionInProgressException',
  'InternalServerError',
  'InternalFailure',
  'InternalException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);

/**
 * Whether trying again later may succeed: a Rapport error marked retryable, or an
 * AWS SDK error that is throttling, a server fault (5xx) or a dropped connection.
 * Validation and not-found errors are not.
 */
export function isTransientError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof RapportError) return error.retryable;
  const e = error as Error & { $retryable?: unknown; $fault?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  if (e.$retryable !== undefined || e.$fault === 'server' || TRANSIENT_NAMES.has(e.name)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status === 429 || (status !== undefined && status >= 500)) return true;
  return e.code !== undefined && TRANSIENT_CODES.has(e.code);
}
