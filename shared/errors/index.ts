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
