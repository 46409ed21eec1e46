/**
 * The HTTP handlers' error paths: what a caller gets when the request is bad
 * (no database involved), and when the database throttles, is unreachable,
 * or something fails that DynamoDB Local cannot be made to fail. The SDK
 * client and the service are the module singletons the handlers use; only
 * their failures are mocked. Success paths run against DynamoDB Local in
 * test/integration/handlers.
 */
import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  // Handlers read their settings at module load; nothing listens on port 9.
  process.env.WFO_TABLE_NAME = 'unit-test-table';
  process.env.DYNAMODB_ENDPOINT = 'http://127.0.0.1:9';
  process.env.AWS_REGION = 'us-east-1';
  process.env.WFO_MAX_BODY_BYTES = String(64 * 1024);
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

import { metricNames } from '#contract/metrics';
import { ContentionError, VersionMissingError } from '#domain/errors';
import { handler as getWorkflow } from '#handlers/get-workflow';
import { handler as listWorkflows } from '#handlers/list-workflows';
import { handler as patchNodes } from '#handlers/patch-nodes';
import { handler as putWorkflow } from '#handlers/put-workflow';
import { handler as stopWorkflow } from '#handlers/stop-workflow';
import { logger, metrics } from '#lambda/observability';
import { wiring } from '#lambda/wiring';

const { documentClient, service } = wiring();

interface EventInput {
  readonly method: string;
  readonly routePath: string;
  readonly pathParameters?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

function httpEvent(input: EventInput): APIGatewayProxyEventV2 {
  const rawPath = Object.entries(input.pathParameters ?? {}).reduce(
    (path, [name, value]) => path.replace(`{${name}}`, value),
    input.routePath,
  );
  return {
    version: '2.0',
    routeKey: `${input.method} ${input.routePath}`,
    rawPath,
    rawQueryString: new URLSearchParams(input.query ?? {}).toString(),
    headers: { 'content-type': 'application/json', ...input.headers },
    ...(input.query ? { queryStringParameters: input.query } : {}),
    ...(input.pathParameters ? { pathParameters: input.pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'unit',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: input.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'vitest',
      },
      requestId: 'request-1',
      routeKey: `${input.method} ${input.routePath}`,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(input.body === undefined ? {} : { body: input.body }),
    isBase64Encoded: input.isBase64Encoded ?? false,
  };
}

function lambdaContext(remainingMs = 29_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'unit-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:unit-test',
    memoryLimitInMB: '1024',
    awsRequestId: 'aws-request-1',
    logGroupName: '/aws/lambda/unit-test',
    logStreamName: 'unit',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const putEvent = (overrides: Partial<EventInput> = {}) =>
  httpEvent({
    method: 'PUT',
    routePath: '/v1/workflows/{uid}',
    pathParameters: { uid: 'wf-1' },
    body: JSON.stringify({ namespace: 'argo', name: 'hello', nodes: { n1: { id: 'n1', phase: 'Running' } } }),
    ...overrides,
  });

const getEvent = () =>
  httpEvent({ method: 'GET', routePath: '/v1/workflows/{uid}', pathParameters: { uid: 'wf-1' } });

type Result = APIGatewayProxyStructuredResultV2;
const bodyOf = (result: Result) => JSON.parse(result.body as string);

/** An SDK error as the client raises it (matched by name, as the store does). */
function sdkError(name: string, properties: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name}: simulated`), { name, $metadata: {} }, properties);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('HTTP handlers, bad requests (no database involved)', () => {
  it.each([
    ['a uid with a slash', putEvent({ pathParameters: { uid: 'a/b' } }), 400, 'BadRequest', /uid/],
    ['a body that is not JSON', putEvent({ body: '{"namespace":' }), 400, 'BadRequest', /not valid JSON/],
    [
      'a namespace that is not a DNS label',
      putEvent({ body: JSON.stringify({ namespace: 'Not_A_Label', name: 'x', nodes: {} }) }),
      400,
      'BadRequest',
      /namespace/,
    ],
    ['no body', putEvent({ body: undefined }), 400, 'BadRequest', /request body is required/],
    ['a list in If-Match', putEvent({ headers: { 'if-match': '"1", "2"' } }), 400, 'BadRequest', /If-Match/],
    ['an unquoted If-Match', putEvent({ headers: { 'if-match': '1' } }), 400, 'BadRequest', /If-Match/],
    ['an unknown onConflict', putEvent({ query: { onConflict: 'merge' } }), 400, 'BadRequest', /onConflict/],
    [
      'a text body',
      putEvent({ headers: { 'content-type': 'text/plain' } }),
      415,
      'UnsupportedMediaType',
      /text\/plain/,
    ],
    [
      'a body over the limit',
      putEvent({ body: JSON.stringify({ pad: 'x'.repeat(70_000) }) }),
      413,
      'PayloadTooLarge',
      /limit/,
    ],
    [
      'a gzip bomb',
      putEvent({
        body: gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20)).toString('base64'),
        isBase64Encoded: true,
        headers: { 'content-encoding': 'gzip' },
      }),
      413,
      'PayloadTooLarge',
      /limit/,
    ],
    [
      'a corrupt gzip body',
      putEvent({
        body: Buffer.from('not gzip at all').toString('base64'),
        isBase64Encoded: true,
        headers: { 'content-encoding': 'gzip' },
      }),
      400,
      'BadRequest',
      /gzip/,
    ],
  ])('answers %s with %i %s', async (_case, event, statusCode, code, message) => {
    const send = vi.spyOn(documentClient, 'send');

    const result = (await putWorkflow(event, lambdaContext())) as Result;

    expect(result.statusCode).toBe(statusCode);
    expect(bodyOf(result)).toEqual({ error: code, message: expect.stringMatching(message) });
    expect(result.headers?.['content-type']).toMatch(/^application\/json/);
    expect(send).not.toHaveBeenCalled();
  });

  it('answers a limit out of range with 400', async () => {
    const event = httpEvent({
      method: 'GET',
      routePath: '/v1/namespaces/{namespace}/workflows',
      pathParameters: { namespace: 'argo' },
      query: { limit: '5000' },
    });

    const result = (await listWorkflows(event, lambdaContext())) as Result;

    expect(result.statusCode).toBe(400);
    expect(bodyOf(result).message).toMatch(/limit must be at most 1000/);
  });

  it('echoes the caller correlation id, and falls back to the API Gateway request id', async () => {
    const withHeader = (await putWorkflow(
      putEvent({ headers: { 'x-correlation-id': 'trace-42', 'content-type': 'text/plain' } }),
      lambdaContext(),
    )) as Result;
    const without = (await putWorkflow(
      putEvent({ headers: { 'content-type': 'text/plain' } }),
      lambdaContext(),
    )) as Result;

    expect(withHeader.headers?.['x-correlation-id']).toBe('trace-42');
    expect(without.headers?.['x-correlation-id']).toBe('request-1');
  });
});

describe('HTTP handlers, database failures', () => {
  it('answers a throttled write with 503 and Retry-After', async () => {
    vi.spyOn(documentClient, 'send').mockRejectedValue(sdkError('ProvisionedThroughputExceededException'));

    const result = (await putWorkflow(putEvent(), lambdaContext())) as Result;

    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(bodyOf(result)).toEqual({ error: 'ServiceUnavailable', message: expect.any(String) });
  });

  it('answers an unreachable database with 503', async () => {
    vi.spyOn(documentClient, 'send').mockRejectedValue(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
    );

    const result = (await getWorkflow(getEvent(), lambdaContext())) as Result;

    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBeDefined();
  });

  it('answers a DynamoDB internal error with 503', async () => {
    vi.spyOn(documentClient, 'send').mockRejectedValue(sdkError('InternalServerError'));

    const result = (await getWorkflow(getEvent(), lambdaContext())) as Result;

    expect(result.statusCode).toBe(503);
  });

  it('answers lasting contention with 503 and Retry-After', async () => {
    vi.spyOn(service, 'patch').mockRejectedValue(new ContentionError("workflow 'wf-1' kept changing", 1));
    const event = httpEvent({
      method: 'PATCH',
      routePath: '/v1/workflows/{uid}/nodes',
      pathParameters: { uid: 'wf-1' },
      body: JSON.stringify({ set: { n1: { id: 'n1', phase: 'Succeeded' } } }),
    });

    const result = (await patchNodes(event, lambdaContext())) as Result;

    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('1');
  });

  it('answers a request that runs out of time with 503 instead of hanging', async () => {
    vi.spyOn(documentClient, 'send').mockReturnValue(new Promise(() => undefined) as never);

    const result = (await getWorkflow(getEvent(), lambdaContext(200))) as Result;

    expect(result.statusCode).toBe(503);
  });
});

describe('HTTP handlers, unexpected failures', () => {
  it('answers an unknown error with a generic 500 that leaks nothing, and logs it', async () => {
    const error = new TypeError("Cannot read properties of undefined (reading 'pk') in WF#wf-1/RECORD");
    vi.spyOn(service, 'persist').mockRejectedValue(error);
    const logged = vi.spyOn(logger, 'error');

    const result = (await putWorkflow(putEvent(), lambdaContext())) as Result;

    expect(result.statusCode).toBe(500);
    const body = bodyOf(result);
    expect(body.error).toBe('InternalError');
    expect(body.message).toContain('request-1');
    expect(JSON.stringify(result)).not.toMatch(/pk|WF#|TypeError|stack/);
    expect(logged).toHaveBeenCalledWith('request failed', { error });
  });

  it('answers VersionMissing with 500, logs it at error level and counts it', async () => {
    vi.spyOn(service, 'getWorkflow').mockRejectedValue(
      new VersionMissingError('wf-1', 'v-secret', ['C#chunk-secret']),
    );
    const logged = vi.spyOn(logger, 'error');
    const counted = vi.spyOn(metrics, 'addMetric');

    const result = (await getWorkflow(getEvent(), lambdaContext())) as Result;

    expect(result.statusCode).toBe(500);
    expect(result.body).not.toMatch(/secret/);
    expect(logged).toHaveBeenCalledWith(expect.stringMatching(/version missing/), expect.anything());
    expect(counted).toHaveBeenCalledWith(metricNames.versionMissing, 'Count', 1);
  });

  it('answers a stop that fails unexpectedly with 500', async () => {
    vi.spyOn(service, 'stop').mockRejectedValue(new Error('boom'));
    const event = httpEvent({
      method: 'POST',
      routePath: '/v1/workflows/{uid}/stop',
      pathParameters: { uid: 'wf-1' },
      body: JSON.stringify({ strategy: 'Stop' }),
    });

    const result = (await stopWorkflow(event, lambdaContext())) as Result;

    expect(result.statusCode).toBe(500);
    expect(result.body).not.toMatch(/boom/);
  });
});
