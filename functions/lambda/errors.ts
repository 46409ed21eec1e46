/**
 * The one place where errors become HTTP responses (docs/api.md).
 *
 * Status below 500: the message was written for the caller and is exposed as
 * is (middy's `expose = status < 500` idea). 500: a generic message and the
 * correlation id, never the error's own text, stack or cause. 503: the
 * failure is transient and the answer carries `Retry-After`.
 */

import { type ErrorCode, errorStatus } from '#contract/workflow';
import {
  ConflictError,
  type CurrentState,
  PayloadTooLargeError,
  StoreUnavailableError,
  UnsupportedMediaTypeError,
  UploadNotFoundError,
  ValidationError,
  VersionGoneError,
  VersionNotFoundError,
  WorkflowNotFoundError,
} from '#domain/errors';

export { type ErrorCode, errorStatus };

/** `{"error": "<Code>", "message": "<text for a person>"}`, plus `current` on a 409. */
export interface ErrorBody {
  readonly error: ErrorCode;
  readonly message: string;
  readonly current?: CurrentState;
}

/** An error response before serialisation. */
export interface HttpError {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: ErrorBody;
}

/** Default wait a 503 asks for when the error does not say. */
const defaultRetryAfterSeconds = 1;

/** middy's own timeout (the invocation ran out of time): transient, like a busy database. */
const isInvocationTimeout = (error: unknown): boolean =>
  error instanceof Error &&
  error.name === 'TimeoutError' &&
  (error.cause as { package?: string } | undefined)?.package === '@middy/core';

/**
 * The response for an error. `correlationId` is quoted in the generic 500
 * message so that a person can find the logged details.
 *
 * @example
 * httpErrorOf(new WorkflowNotFoundError('wf-1'))
 * // { statusCode: 404, headers: {}, body: { error: 'NotFound', message: "workflow 'wf-1' does not exist" } }
 */
export function httpErrorOf(error: unknown, correlationId?: string): HttpError {
  if (error instanceof ValidationError) return errorOf('BadRequest', error.message);
  if (
    error instanceof WorkflowNotFoundError ||
    error instanceof VersionNotFoundError ||
    error instanceof UploadNotFoundError
  )
    return errorOf('NotFound', error.message);
  if (error instanceof VersionGoneError) return errorOf('Gone', error.message);
  if (error instanceof ConflictError) {
    return {
      statusCode: errorStatus.Conflict,
      headers: {},
      body: {
        error: 'Conflict',
        message: error.message,
        ...(error.current
          ? {
              current: {
                resourceVersion: String(error.current.resourceVersion),
                nodeStatusVersion: error.current.nodeStatusVersion,
              },
            }
          : {}),
      },
    };
  }
  if (error instanceof PayloadTooLargeError) return errorOf('PayloadTooLarge', error.message);
  if (error instanceof UnsupportedMediaTypeError) return errorOf('UnsupportedMediaType', error.message);
  if (error instanceof StoreUnavailableError) {
    // The store's own messages are written for callers ("the database is busy ...; retry shortly").
    return serviceUnavailable(error.message, error.retryAfterSeconds);
  }
  if (isInvocationTimeout(error)) {
    return serviceUnavailable('the request ran out of time; retry shortly', defaultRetryAfterSeconds);
  }
  return errorOf(
    'InternalError',
    `the service failed to handle this request${correlationId ? ` (correlation id ${correlationId})` : ''}; it has been logged`,
  );
}

/** An error response with a code and message of your own. */
export function errorOf(code: ErrorCode, message: string, headers: Record<string, string> = {}): HttpError {
  return { statusCode: errorStatus[code], headers, body: { error: code, message } };
}

function serviceUnavailable(message: string, retryAfterSeconds: number): HttpError {
  const seconds = Number.isFinite(retryAfterSeconds)
    ? Math.max(1, Math.ceil(retryAfterSeconds))
    : defaultRetryAfterSeconds;
  return errorOf('ServiceUnavailable', message, { 'retry-after': String(seconds) });
}
