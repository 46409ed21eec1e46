/**
 * The middy stacks every handler is wrapped in: Powertools Tracer, Logger
 * (with a correlation id) and Metrics, then, for HTTP, response compression,
 * the error-to-HTTP mapper and the JSON body decoder. Handlers stay thin:
 * parse, call the domain, map the result.
 *
 * Order matters: middy runs `before` in `use` order and `after`/`onError` in
 * reverse, so the error mapper turns an error into a response first, the
 * compressor then encodes it, and Metrics publishes last.
 */
import { promisify } from 'node:util';
import {
  brotliCompress as brotliCallback,
  gzip as gzipCallback,
  constants as zlibConstants,
} from 'node:zlib';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy, { type MiddlewareObj, type Request } from '@middy/core';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  DynamoDBBatchResponse,
  DynamoDBStreamEvent,
  EventBridgeEvent,
  ScheduledEvent,
} from 'aws-lambda';
import type { z } from 'zod';
import { metricNames } from '#contract/metrics';
import { ConflictError, VersionMissingError } from '#domain/errors';
import type { Config } from './config.ts';
import { type ErrorCode, errorOf, httpErrorOf } from './errors.ts';
import { addMetric, logger, metrics, tracer } from './observability.ts';
import { acceptsBrotli, acceptsGzip, decodeJsonBody, lowerCaseHeaders } from './request.ts';
import { errorResponse } from './responses.ts';
import { eventBridgeEventSchema, parseWith } from './schemas.ts';

const gzip = promisify(gzipCallback);
const brotliCompress = promisify(brotliCallback);

/**
 * Node pages come in bucket order (a hash of the node id), so nodes alike lie
 * far apart: further than gzip's 32 KB window, within brotli's 16 MB one.
 * Quality 9 is where brotli's output falls below the caller's own gzip of
 * the map (measured in bench/wire.ts); above it, CPU grows fast.
 */
const brotliOptions = (size: number) => ({
  params: {
    [zlibConstants.BROTLI_PARAM_QUALITY]: 9,
    [zlibConstants.BROTLI_PARAM_LGWIN]: 24,
    [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT,
    [zlibConstants.BROTLI_PARAM_SIZE_HINT]: size,
  },
});
/** Below this, brotli's larger window finds nothing gzip's does not. */
const brotliMinBytes = 64 * 1024;

/** Responses at most this large are sent as they are: gzip would cost more than it saves. */
export const gzipMinBytes = 1024;

/** A `x-correlation-id` we are willing to log and echo. */
const correlationIdPattern = /^[A-Za-z0-9._:/=+-]{1,128}$/;

/** An API Gateway v2 event after the body decoder: headers lower-cased, `body` parsed JSON (or undefined). */
export type JsonHttpEvent = Omit<APIGatewayProxyEventV2, 'body' | 'headers'> & {
  headers: Record<string, string | undefined>;
  body?: unknown;
};

type HttpResult = APIGatewayProxyStructuredResultV2;

/**
 * The correlation id lives on the request, not only in the logger: the local
 * runtime serves concurrent requests from one process, and the logger's keys
 * are per process.
 */
const correlationIdKey = 'correlationId';

function setCorrelationId(request: { internal: Record<string, unknown> }, correlationId: string): void {
  request.internal[correlationIdKey] = correlationId;
  logger.setCorrelationId(correlationId);
}

const correlationIdOf = (request: { internal: Record<string, unknown> }): string | undefined => {
  const id = request.internal[correlationIdKey];
  return typeof id === 'string' ? id : undefined;
};

/**
 * Logs and counts an error on its way out: 409s, and VersionMissing,
 * which must never happen (invariant 4) and pages someone when it does.
 */
function observeError(error: unknown, statusCode: number): void {
  if (error instanceof ConflictError) addMetric(metricNames.conflictResponses, 1);
  if (error instanceof VersionMissingError) {
    addMetric(metricNames.versionMissing, 1);
    logger.error('version missing: a reader followed a pointer to data that is gone', {
      error,
      uid: error.uid,
      nodeStatusVersion: error.nodeStatusVersion,
      missingKeys: error.missingKeys.slice(0, 10),
    });
    return;
  }
  if (statusCode >= 500 && statusCode !== 503) logger.error('request failed', { error });
  else if (statusCode === 503) logger.warn('request failed; the caller may retry', { error });
  else {
    // A 4xx message can quote the request (a JSON parser's excerpt of the body,
    // a node's id or phase): node contents never go out at info level.
    logger.info('request rejected', { statusCode, error: (error as Error).name });
    logger.debug('request rejected: reason', { statusCode, reason: (error as Error).message });
  }
}

/** Correlation id: the caller's `x-correlation-id`, else API Gateway's request id, else Lambda's. */
const httpCorrelation = (): MiddlewareObj<JsonHttpEvent, HttpResult> => ({
  before: (request) => {
    const headers = lowerCaseHeaders(request.event.headers);
    request.event.headers = headers;
    const fromCaller = headers['x-correlation-id'];
    setCorrelationId(
      request,
      fromCaller && correlationIdPattern.test(fromCaller)
        ? fromCaller
        : (request.event.requestContext?.requestId ?? request.context.awsRequestId),
    );
  },
});

/** Decodes the JSON body (gzip, base64, bounded) into `event.body`. */
const jsonBody = (maxBytes: number): MiddlewareObj<JsonHttpEvent, HttpResult> => ({
  before: async (request) => {
    const event = request.event;
    event.body = await decodeJsonBody(
      {
        body: event.body as string | undefined,
        isBase64Encoded: event.isBase64Encoded,
        headers: event.headers,
      },
      { maxBytes },
    );
    event.isBase64Encoded = false;
  },
});

/** Every error becomes the contract's error response, here and only here. */
const httpErrors = (): MiddlewareObj<JsonHttpEvent, HttpResult> => ({
  onError: (request) => {
    const http = httpErrorOf(request.error, correlationIdOf(request));
    observeError(request.error, http.statusCode);
    request.response = errorResponse(http);
  },
});

/**
 * A result Lambda would refuse (over its synchronous payload limit, measured
 * on the result JSON as Lambda measures it) becomes a 413 that says how to
 * read instead, before Lambda turns it into a 5xx nobody can act on.
 */
function withinPayloadLimit(response: HttpResult, maxPayloadBytes: number): HttpResult {
  const size = Buffer.byteLength(JSON.stringify(response));
  if (size <= maxPayloadBytes) return response;
  const mb = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  return {
    ...errorResponse(
      errorOf(
        'PayloadTooLarge',
        `the response would be ${mb(size)} as a Lambda result, over Lambda's ${mb(maxPayloadBytes)} payload limit: read the nodes in pages with GET /v1/workflows/{uid}/nodes (see docs/protocol.md), or use the wfo client, which does`,
      ),
    ),
    // The error replaces the body: none of the headers that described the old one stay.
    headers: {
      ...Object.fromEntries(
        Object.entries(response.headers ?? {}).filter(
          ([name]) => !['content-encoding', 'etag', 'cache-control'].includes(name.toLowerCase()),
        ),
      ),
      'content-type': 'application/json; charset=utf-8',
    },
  };
}

/**
 * Compresses large JSON responses as the caller accepts: brotli where the
 * handler allows it, else gzip; echoes the correlation id; keeps the result
 * under Lambda's limit.
 */
const responseEncoding = (
  maxPayloadBytes: number,
  allowBrotli: boolean,
): MiddlewareObj<JsonHttpEvent, HttpResult> => {
  const encode = async (request: Request<JsonHttpEvent, HttpResult>) => {
    const response = request.response;
    if (response === undefined || response === null || typeof response !== 'object') return;
    const headers: Record<string, string | number | boolean> = { ...response.headers };
    const correlationId = correlationIdOf(request);
    if (correlationId) headers['x-correlation-id'] = correlationId;
    if (typeof response.body === 'string' && !response.isBase64Encoded) {
      headers.vary = 'accept-encoding';
      const size = Buffer.byteLength(response.body);
      const acceptEncoding = lowerCaseHeaders(request.event.headers)['accept-encoding'];
      const brotli = allowBrotli && size >= brotliMinBytes && acceptsBrotli(acceptEncoding);
      if (brotli || (size > gzipMinBytes && acceptsGzip(acceptEncoding))) {
        const compressed = brotli
          ? await brotliCompress(response.body, brotliOptions(size))
          : await gzip(response.body);
        request.response = withinPayloadLimit(
          {
            ...response,
            headers: { ...headers, 'content-encoding': brotli ? 'br' : 'gzip' },
            body: compressed.toString('base64'),
            isBase64Encoded: true,
          },
          maxPayloadBytes,
        );
        return;
      }
    }
    request.response = withinPayloadLimit({ ...response, headers }, maxPayloadBytes);
  };
  return { after: encode, onError: encode };
};

export interface HttpHandlerOptions {
  /** Decode a JSON request body into `event.body` (PUT, PATCH, POST). */
  readonly jsonBody?: boolean;
  /** Answer in brotli when the caller accepts it: for large pages of nodes. */
  readonly brotli?: boolean;
}

/**
 * Wraps an API Gateway v2 handler in the HTTP middleware stack.
 *
 * @example
 * export const makeStopWorkflow = ({ service, config }: Wiring) =>
 *   httpHandler(config, { jsonBody: true }, async (event) => {
 *   const body = parseWith(stopBodySchema, event.body, 'request body');
 *   ...
 *   return json(200, workflowBody(result.workflow));
 * });
 */
export function httpHandler(
  config: Pick<Config, 'WFO_MAX_DECOMPRESSED_BODY_BYTES' | 'WFO_LAMBDA_PAYLOAD_BYTES'>,
  options: HttpHandlerOptions,
  handle: (event: JsonHttpEvent, context: Context) => Promise<HttpResult>,
) {
  const stack = middy<JsonHttpEvent, HttpResult>()
    // A response can be megabytes of nodes: far beyond what an X-Ray segment may carry.
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpCorrelation())
    .use(logMetrics(metrics))
    .use(responseEncoding(config.WFO_LAMBDA_PAYLOAD_BYTES, options.brotli === true))
    .use(httpErrors());
  if (options.jsonBody) stack.use(jsonBody(config.WFO_MAX_DECOMPRESSED_BODY_BYTES));
  return stack.handler(handle);
}

// ------------------------------------------------------------------ events

/** What an event handler did. Lambda ignores it; the local runtime reports `dropped` as a failed entry. */
export type EventOutcome =
  | { readonly outcome: 'applied' | 'unchanged' }
  | { readonly outcome: 'dropped'; readonly error: { readonly code: ErrorCode; readonly message: string } };

type WorkflowEvent = EventBridgeEvent<string, unknown>;

const eventCorrelation = (): MiddlewareObj<WorkflowEvent, EventOutcome> => ({
  before: (request) => {
    setCorrelationId(request, request.event?.id ?? request.context.awsRequestId);
    logger.appendKeys({ detailType: request.event?.['detail-type'] });
  },
});

/**
 * At-least-once delivery: an event that can never succeed (what HTTP would
 * answer 4xx: a bad detail, an unknown workflow) is logged and dropped, so it
 * is not retried for a day and then dead-lettered for nothing. Anything
 * retryable or unexpected (503, 500, VersionMissing) is thrown: EventBridge
 * retries, then sends it to the dead-letter queue.
 */
const eventErrors = (): MiddlewareObj<WorkflowEvent, EventOutcome> => ({
  onError: (request) => {
    const http = httpErrorOf(request.error, correlationIdOf(request));
    observeError(request.error, http.statusCode);
    if (http.statusCode < 500) {
      // The reason can quote the event's detail: debug level only.
      logger.warn('dropping an event that can never succeed', { error: http.body.error });
      logger.debug('dropped event: reason', { error: http.body.error, reason: http.body.message });
      request.response = { outcome: 'dropped', error: { code: http.body.error, message: http.body.message } };
    }
  },
});

/**
 * Wraps an EventBridge rule target: parses the event and its detail with
 * `detailSchema`, then calls `handle` with the detail.
 */
export function eventHandler<T extends z.ZodType>(
  detailSchema: T,
  handle: (detail: z.output<T>, event: WorkflowEvent) => Promise<EventOutcome>,
) {
  return middy<WorkflowEvent, EventOutcome>()
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(eventCorrelation())
    .use(logMetrics(metrics))
    .use(eventErrors())
    .handler(async (event) => {
      const parsed = parseWith(eventBridgeEventSchema, event, 'event');
      return handle(parseWith(detailSchema, parsed.detail, 'event detail'), event);
    });
}

/**
 * The stack of a handler nobody waits on (a schedule, a stream): errors are
 * observed and thrown, so the scheduler or the event source mapping retries.
 */
function backgroundHandler<E, R>(handle: (event: E) => Promise<R>) {
  return middy<E, R>()
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use({
      onError: (request) => {
        observeError(request.error, httpErrorOf(request.error).statusCode);
      },
    })
    .handler(handle);
}

/** Wraps a scheduled handler; errors are logged and thrown, so the scheduler retries. */
export const scheduledHandler = <R>(handle: (event: ScheduledEvent) => Promise<R>) =>
  backgroundHandler<ScheduledEvent, R>(handle);

/**
 * Wraps a stream consumer. It answers with the records to deliver again
 * (`batchItemFailures`, the event source mapping's ReportBatchItemFailures):
 * Lambda retries from the first one, keeping each shard in order. An error
 * that escapes fails the whole batch, which Lambda retries too.
 */
export const streamHandler = (handle: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>) =>
  backgroundHandler<DynamoDBStreamEvent, DynamoDBBatchResponse>(handle);
