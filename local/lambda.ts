/**
 * What the local runtime needs to play API Gateway and Lambda: API Gateway v2
 * events built from Node HTTP requests, Lambda contexts with each handler's
 * deployed settings, and responses written back, all in the shapes the
 * deployed handlers receive and return. The events themselves are built by
 * `lambda-events.ts`, which the test kit uses too.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { HandlerDescription } from '#contract/api';
import { settingsOf } from '#infrastructure/handler-settings';
import { apiGatewayV2Event, lambdaContext } from './lambda-events.ts';

/** A Lambda handler as the local runtime calls it. */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/** A Lambda context for one invocation of `handler`, with its deployed memory and deadline. */
export function handlerContext(handler: HandlerDescription, region: string): Context {
  const settings = settingsOf(handler);
  return lambdaContext({
    functionName: `workflow-offload-${handler.name}`,
    region,
    memoryMb: settings.memoryMb,
    timeoutMs: settings.timeoutSeconds * 1000,
  });
}

/**
 * Calls a handler and bounds the wait: past its timeout (plus a little), the
 * call rejects, as Lambda would end it. A request must never hang.
 */
export async function invokeWithTimeout(
  handler: LambdaHandler,
  event: unknown,
  context: Context,
  timeoutMs: number,
): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${context.functionName} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([handler(event, context), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when the bytes are not valid UTF-8: API Gateway then sends the body base64-encoded. */
const utf8 = new TextDecoder('utf-8', { fatal: true });
function isBinary(bytes: Buffer): boolean {
  try {
    utf8.decode(bytes);
    return false;
  } catch {
    return true;
  }
}

export interface ApiGatewayEventInput {
  readonly request: IncomingMessage;
  readonly body: Buffer;
  readonly routeKey: string;
  readonly pathParameters: Record<string, string>;
  readonly requestId: string;
}

/**
 * An `APIGatewayProxyEventV2` as API Gateway's HTTP API builds it: headers
 * lower-cased (repeated ones joined with commas), cookies split out, the body
 * base64-encoded when it has a Content-Encoding or is not UTF-8 text.
 */
export function apiGatewayEvent(input: ApiGatewayEventInput): APIGatewayProxyEventV2 {
  const { request, body } = input;
  const url = new URL(request.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    if (key === 'cookie') {
      cookies = (Array.isArray(value) ? value : [value]).flatMap((cookie) => cookie.split(/;\s*/));
      continue;
    }
    headers[key] = Array.isArray(value) ? value.join(',') : value;
  }
  const base64 = body.length > 0 && (headers['content-encoding'] !== undefined || isBinary(body));
  return apiGatewayV2Event({
    method: request.method ?? 'GET',
    rawPath: url.pathname,
    routeKey: input.routeKey,
    rawQueryString: url.search.startsWith('?') ? url.search.slice(1) : url.search,
    pathParameters: input.pathParameters,
    headers,
    ...(cookies ? { cookies } : {}),
    ...(body.length > 0 ? { body: base64 ? body.toString('base64') : body.toString('utf8') } : {}),
    isBase64Encoded: base64,
    requestId: input.requestId,
    protocol: `HTTP/${request.httpVersion}`,
    sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
  });
}

/** Writes a JSON body with a status; for the runtime's own answers (404, 413, 500). */
export function sendJson(
  response: ServerResponse,
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/**
 * Writes what a handler returned, as API Gateway's HTTP API does (payload
 * format 2.0): a structured result as is; anything else as a 200 JSON body.
 */
export function sendLambdaResult(response: ServerResponse, result: unknown): void {
  const structured =
    result !== null && typeof result === 'object' && 'statusCode' in result
      ? (result as APIGatewayProxyStructuredResultV2)
      : { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(result) };
  const body =
    structured.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(structured.body, structured.isBase64Encoded ? 'base64' : 'utf8');
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {})) headers[name] = String(value);
  if (structured.cookies && structured.cookies.length > 0) headers['set-cookie'] = structured.cookies;
  if (structured.statusCode !== 204 && structured.statusCode !== 304) {
    headers['content-length'] = String(body.length);
  }
  response.writeHead(structured.statusCode ?? 200, headers);
  response.end(structured.statusCode === 204 ? undefined : body);
}
