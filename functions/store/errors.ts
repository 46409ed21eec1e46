/**
 * DynamoDB failures as the domain sees them: throttling and an unreachable
 * endpoint become a retryable StoreUnavailableError (503 with Retry-After at
 * the edge); anything else passes through unchanged.
 */
import { StoreUnavailableError } from '#domain/errors';

const throttlingNames = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
]);

const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

/** Throttling and unreachable endpoints become a retryable StoreUnavailableError; the rest passes through. */
export function translateStoreError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const named = error as { name?: string; code?: string; cause?: { code?: string }; $metadata?: unknown };
  const code = named.code ?? named.cause?.code;
  if (
    (named.name && throttlingNames.has(named.name)) ||
    (code && unreachableCodes.has(code)) ||
    named.name === 'TimeoutError' ||
    named.name === 'AbortError'
  ) {
    return new StoreUnavailableError('the database is busy or unreachable; retry shortly', 2, {
      cause: error,
    });
  }
  return error;
}

/** Runs one DynamoDB call, translating its failure. */
export async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw translateStoreError(error);
  }
}
