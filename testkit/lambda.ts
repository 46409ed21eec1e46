/**
 * Lambda events and contexts for tests: the local runtime's builders
 * (`local/lambda-events.ts`, re-exported here), with what a test wants on
 * top: an API Gateway v2 event from a method and a path, routed by the
 * contract as API Gateway routes it; an EventBridge event from the service's
 * source; the renewer's scheduled event; a context with a deadline; and a
 * handler's HTTP result decoded as a caller would read it.
 */
import { gunzipSync } from 'node:zlib';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  ScheduledEvent,
} from 'aws-lambda';
import { eventSource, routes, schedules } from '#contract/api';
import { apiGatewayV2Event, eventBridgeEvent, lambdaContext, scheduledEvent } from '#local/lambda-events';
import { type CompiledRoute, compileRoutes, matchRoute } from '#local/routes';

export * from '#local/lambda-events';

/** The region of every test event and context. */
export const testRegion = 'us-east-1';

export interface HttpRequest {
  readonly method: string;
  /** As a caller sends it: percent-encoded, with or without a query string. */
  readonly path: string;
  /** Added to the path's query string. */
  readonly query?: Readonly<Record<string, string>>;
  /** Over the default `content-type: application/json`; names in any case. */
  readonly headers?: Readonly<Record<string, string>>;
  /** A string goes as it is (base64 if `isBase64Encoded`), a Buffer as base64, anything else as JSON. */
  readonly body?: unknown;
  readonly isBase64Encoded?: boolean;
  /** Default `request-1`, so that a test can look for it in a response. */
  readonly requestId?: string;
}

let compiledRoutes: CompiledRoute[] | undefined;

/** The contract's route for a method and a raw path, and its decoded parameters; throws when there is none. */
export function routeOf(method: string, rawPath: string) {
  compiledRoutes ??= compileRoutes(routes);
  const match = matchRoute(compiledRoutes, method, rawPath);
  if (match.kind !== 'matched') throw new Error(`no route of the contract for ${method} ${rawPath}`);
  return { route: match.route.route, routeKey: match.route.routeKey, pathParameters: match.pathParameters };
}

/**
 * The API Gateway v2 event of a request to one of the contract's routes.
 *
 * @example
 * await putWorkflow(httpEvent({ method: 'PUT', path: '/v1/workflows/wf-1', body: { namespace: 'argo', name: 'x', nodes: {} } }), testContext());
 */
export function httpEvent(request: HttpRequest): APIGatewayProxyEventV2 {
  const url = new URL(request.path, 'http://localhost');
  for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.append(name, value);
  const { routeKey, pathParameters } = routeOf(request.method, url.pathname);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
  const { body } = request;
  const encoded =
    body === undefined
      ? undefined
      : typeof body === 'string'
        ? { body, isBase64Encoded: request.isBase64Encoded ?? false }
        : Buffer.isBuffer(body)
          ? { body: body.toString('base64'), isBase64Encoded: true }
          : { body: JSON.stringify(body), isBase64Encoded: false };
  return apiGatewayV2Event({
    method: request.method,
    rawPath: url.pathname,
    routeKey,
    rawQueryString: url.search.slice(1),
    pathParameters,
    headers,
    ...(encoded ?? {}),
    requestId: request.requestId ?? 'request-1',
    apiId: 'test',
  });
}

/** An EventBridge event of detail-type `detailType`, from the service's own source unless told. */
export function busEvent<Detail>(
  detailType: string,
  detail: Detail,
  options: { readonly id?: string; readonly source?: string } = {},
) {
  return eventBridgeEvent({
    detailType,
    detail,
    source: options.source ?? eventSource,
    region: testRegion,
    ...(options.id === undefined ? {} : { id: options.id }),
  });
}

/** The event the scheduler sends on a run of one of the contract's schedules (the renewer by default). */
export function scheduleEvent(name: string = schedules[0]?.name ?? 'RenewLeases'): ScheduledEvent {
  return scheduledEvent({ scheduleName: name, region: testRegion });
}

/** A context whose invocation has `remainingMs` left (default 29 s, API Gateway's limit less a second). */
export function testContext(
  options: { readonly remainingMs?: number; readonly functionName?: string } = {},
): Context {
  return lambdaContext({
    functionName: options.functionName ?? 'test',
    region: testRegion,
    memoryMb: 1024,
    timeoutMs: options.remainingMs ?? 29_000,
    awsRequestId: 'aws-request-1',
    logStreamName: 'test',
  });
}

/** A handler's HTTP result with its headers as strings and its body as the caller reads it. */
export interface HttpReply extends APIGatewayProxyStructuredResultV2 {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  /** The body decoded: base64 undone, gunzipped if the handler gzipped it. */
  readonly text: string | undefined;
  readonly json: unknown;
}

/** Decodes what an HTTP handler returned. */
export function replyOf(result: unknown): HttpReply {
  const structured = result as APIGatewayProxyStructuredResultV2;
  const headers = Object.fromEntries(
    Object.entries(structured.headers ?? {}).map(([name, value]) => [name, String(value)]),
  );
  let text = structured.body;
  if (text !== undefined && structured.isBase64Encoded) {
    const bytes = Buffer.from(text, 'base64');
    text = (headers['content-encoding'] === 'gzip' ? gunzipSync(bytes) : bytes).toString('utf8');
  }
  return {
    ...structured,
    statusCode: structured.statusCode ?? 200,
    headers,
    text,
    json: text === undefined || text === '' ? undefined : JSON.parse(text),
  };
}
