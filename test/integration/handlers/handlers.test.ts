/**
 * The real handlers, invoked as Lambda invokes them (API Gateway v2 and
 * EventBridge events), against DynamoDB Local on a table of this suite's own.
 * Checks the contract's shapes, headers and status codes, the metrics each
 * operation emits, and that event handlers are idempotent.
 */
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  EventBridgeEvent,
  ScheduledEvent,
} from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { metricNames } from '#contract/metrics';
import { busEvent } from '#testkit/lambda';
import { createTestTable, dynamodbEndpoint } from '#testkit/table';

type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;
type EventHandler = (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<unknown>;
type Result = APIGatewayProxyStructuredResultV2;

const handlers: Record<string, HttpHandler> = {};
const eventHandlers: Record<string, EventHandler> = {};
let renewLeases: (event: ScheduledEvent, context: Context) => Promise<unknown>;
let metrics: { addMetric: (...args: never[]) => unknown };

beforeAll(async () => {
  const table = await createTestTable('handlers');
  // Handlers read their settings at module load, so set them first.
  process.env.WFO_TABLE_NAME = table.tableName;
  process.env.DYNAMODB_ENDPOINT = dynamodbEndpoint();
  process.env.AWS_REGION = 'us-east-1';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  for (const file of [
    'get-health',
    'put-workflow',
    'patch-nodes',
    'get-workflow',
    'list-versions',
    'get-version',
    'stop-workflow',
    'delete-workflow',
    'list-workflows',
    'read-nodes',
  ]) {
    handlers[file] = (
      (await import(`../../../functions/handlers/${file}.ts`)) as { handler: HttpHandler }
    ).handler;
  }
  for (const file of ['on-nodes-updated', 'on-stop-requested', 'on-workflow-deleted']) {
    eventHandlers[file] = (
      (await import(`../../../functions/handlers/${file}.ts`)) as { handler: EventHandler }
    ).handler;
  }
  renewLeases = (
    (await import('../../../functions/handlers/renew-leases.ts')) as { handler: typeof renewLeases }
  ).handler;
  metrics = (await import('../../../functions/lambda/observability.ts')).metrics as unknown as typeof metrics;
});

afterEach(() => {
  vi.restoreAllMocks();
});

const context = {
  functionName: 'integration-test',
  awsRequestId: 'aws-request-1',
  memoryLimitInMB: '1024',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:integration-test',
  getRemainingTimeInMillis: () => 29_000,
} as Context;

interface Call {
  readonly pathParameters?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly body?: unknown;
}

async function call(file: string, method: string, call: Call = {}): Promise<Result & { json: unknown }> {
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: `${method} /test`,
    rawPath: '/test',
    rawQueryString: new URLSearchParams(call.query ?? {}).toString(),
    headers: { 'content-type': 'application/json', ...call.headers },
    ...(call.query ? { queryStringParameters: call.query } : {}),
    ...(call.pathParameters ? { pathParameters: call.pathParameters } : {}),
    requestContext: {
      http: { method, path: '/test', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'request-1',
    } as APIGatewayProxyEventV2['requestContext'],
    ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
    isBase64Encoded: false,
  };
  const handler = handlers[file];
  if (!handler) throw new Error(`no handler ${file}`);
  const result = (await handler(event, context)) as Result;
  let text = result.body;
  if (text !== undefined && result.isBase64Encoded) {
    const bytes = Buffer.from(text, 'base64');
    const encoding = result.headers?.['content-encoding'];
    text = (
      encoding === 'gzip' ? gunzipSync(bytes) : encoding === 'br' ? brotliDecompressSync(bytes) : bytes
    ).toString('utf8');
  }
  return { ...result, json: text === undefined ? undefined : JSON.parse(text) };
}

const workflowEvent = (detailType: string, detail: unknown): EventBridgeEvent<string, unknown> =>
  busEvent(detailType, detail, { id: `event-${Math.random()}` });

const running = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: `wf.${id}`,
  phase: 'Running',
  ...extra,
});

const put = (
  uid: string,
  body: unknown,
  headers: Record<string, string> = {},
  query?: Record<string, string>,
) => call('put-workflow', 'PUT', { pathParameters: { uid }, body, headers, ...(query ? { query } : {}) });

const summaryKeys = [
  'createdAt',
  'name',
  'namespace',
  'nodeCount',
  'nodeStatusVersion',
  'phase',
  'phaseCounts',
  'resourceVersion',
  'uid',
  'updatedAt',
];

describe('GET /healthz', () => {
  it('answers ok', async () => {
    const result = await call('get-health', 'GET');

    expect(result.statusCode).toBe(200);
    expect(result.json).toEqual({ status: 'ok' });
  });
});

describe('PUT /v1/workflows/{uid}', () => {
  it('creates with 201, an ETag and the write response, then updates with 200', async () => {
    const nodes = { a: running('a'), b: running('b', { phase: 'Pending' }) };

    const created = await put('put-1', { namespace: 'argo', name: 'hello', nodes, unknownField: 1 });
    const updated = await put('put-1', {
      namespace: 'argo',
      name: 'hello',
      nodes: { ...nodes, a: running('a', { phase: 'Succeeded' }) },
    });

    expect(created.statusCode).toBe(201);
    expect(created.headers?.etag).toBe('"1"');
    expect(Object.keys(created.json as object).sort()).toEqual([...summaryKeys, 'write'].sort());
    expect(created.json).toMatchObject({
      uid: 'put-1',
      namespace: 'argo',
      name: 'hello',
      phase: 'Running',
      resourceVersion: '1',
      nodeCount: 2,
      write: {
        chunksWritten: expect.any(Number),
        chunksReused: expect.any(Number),
        bytesWritten: expect.any(Number),
        writeUnits: expect.any(Number),
      },
    });
    expect(updated.statusCode).toBe(200);
    expect(updated.headers?.etag).toBe('"2"');
    expect(updated.json).toMatchObject({ resourceVersion: '2' });
  });

  it('emits persist latency, bytes, chunks and write units', async () => {
    const added = vi.spyOn(metrics, 'addMetric');

    await put('put-metrics', { namespace: 'argo', name: 'm', nodes: { a: running('a') } });

    const names = added.mock.calls.map((args) => args[0]);
    expect(names).toEqual(
      expect.arrayContaining([
        metricNames.persistLatency,
        metricNames.commitRetries,
        metricNames.reapplies,
        metricNames.rawBytes,
        metricNames.storedBytes,
        metricNames.chunksWritten,
        metricNames.chunksReused,
        metricNames.writeUnits,
      ]),
    );
  });

  it('answers If-None-Match: * on an existing workflow with 409 and the current state', async () => {
    await put('put-create-only', { namespace: 'argo', name: 'x', nodes: { a: running('a') } });
    const added = vi.spyOn(metrics, 'addMetric');

    const again = await put(
      'put-create-only',
      { namespace: 'argo', name: 'x', nodes: { a: running('a', { phase: 'Failed' }) } },
      { 'if-none-match': '*' },
    );

    expect(again.statusCode).toBe(409);
    expect(again.json).toEqual({
      error: 'Conflict',
      message: expect.any(String),
      current: { resourceVersion: '1', nodeStatusVersion: expect.any(String) },
    });
    expect(added).toHaveBeenCalledWith(metricNames.conflictResponses, 'Count', 1);
    expect(added).not.toHaveBeenCalledWith(metricNames.commitRetries, 'Count', 1);
  });

  it('answers a stale If-Match with 409, and re-applies with onConflict=reapply and baseVersion', async () => {
    const first = await put('put-cas', {
      namespace: 'argo',
      name: 'cas',
      nodes: { a: running('a'), b: running('b') },
    });
    const base = (first.json as { nodeStatusVersion: string }).nodeStatusVersion;
    // Someone else finishes node a.
    await call('patch-nodes', 'PATCH', {
      pathParameters: { uid: 'put-cas' },
      body: { set: { a: running('a', { phase: 'Succeeded' }) } },
    });
    const stale = {
      namespace: 'argo',
      name: 'cas',
      nodes: { a: running('a'), b: running('b', { phase: 'Succeeded' }) },
    };

    const conflict = await put('put-cas', stale, { 'if-match': '"1"' });
    const reapplied = await put(
      'put-cas',
      { ...stale, baseVersion: base },
      { 'if-match': 'W/"1"' },
      { onConflict: 'reapply' },
    );
    const after = await call('get-workflow', 'GET', { pathParameters: { uid: 'put-cas' } });

    expect(conflict.statusCode).toBe(409);
    expect(conflict.json).toMatchObject({ current: { resourceVersion: '2' } });
    expect(reapplied.statusCode).toBe(200);
    expect(reapplied.headers?.etag).toBe('"3"');
    const nodes = (after.json as { nodes: Record<string, { phase: string }> }).nodes;
    expect(nodes.a?.phase).toBe('Succeeded');
    expect(nodes.b?.phase).toBe('Succeeded');
  });

  it('answers a node whose id differs from its key with 400', async () => {
    const result = await put('put-bad-node', { namespace: 'argo', name: 'x', nodes: { a: { id: 'b' } } });

    expect(result.statusCode).toBe(400);
    expect(result.json).toMatchObject({ error: 'BadRequest', message: expect.stringContaining("'a'") });
  });
});

describe('GET /v1/workflows/{uid}', () => {
  it('returns the summary and the nodes with an ETag', async () => {
    const nodes = { a: running('a', { children: ['b'], outputs: { exitCode: '0' } }), b: running('b') };
    await put('get-1', { namespace: 'argo', name: 'g', message: 'hi', nodes });

    const result = await call('get-workflow', 'GET', { pathParameters: { uid: 'get-1' } });

    expect(result.statusCode).toBe(200);
    expect(result.headers?.etag).toBe('"1"');
    expect(Object.keys(result.json as object).sort()).toEqual([...summaryKeys, 'message', 'nodes'].sort());
    expect((result.json as { nodes: unknown }).nodes).toEqual(nodes);
  });

  it('gzips a large response when the caller accepts gzip, and only then', async () => {
    const nodes = Object.fromEntries(
      Array.from({ length: 50 }, (_, index) => [`n${index}`, running(`n${index}`, { pad: 'x'.repeat(100) })]),
    );
    await put('get-gzip', { namespace: 'argo', name: 'g', nodes });

    const gzipped = await call('get-workflow', 'GET', {
      pathParameters: { uid: 'get-gzip' },
      headers: { 'accept-encoding': 'gzip, deflate' },
    });
    const plain = await call('get-workflow', 'GET', { pathParameters: { uid: 'get-gzip' } });

    expect(gzipped.isBase64Encoded).toBe(true);
    expect(gzipped.headers).toMatchObject({ 'content-encoding': 'gzip', vary: 'accept-encoding' });
    expect((gzipped.json as { nodes: unknown }).nodes).toEqual(nodes);
    expect(plain.isBase64Encoded).toBeFalsy();
    expect(plain.headers?.['content-encoding']).toBeUndefined();
    expect(plain.json).toEqual(gzipped.json);
  });

  it('answers a large page of nodes in brotli when the caller accepts it, in gzip or plain otherwise; the whole-map GET stays gzip', async () => {
    const nodes = Object.fromEntries(
      Array.from({ length: 400 }, (_, index) => [
        `n${index}`,
        running(`n${index}`, { type: 'Pod', templateName: `t${index % 7}`, pad: 'x'.repeat(200) }),
      ]),
    );
    await put('nodes-br', { namespace: 'argo', name: 'b', nodes });
    const pathParameters = { uid: 'nodes-br' };

    const brotli = await call('read-nodes', 'GET', {
      pathParameters,
      headers: { 'accept-encoding': 'br, gzip' },
    });
    const gzipped = await call('read-nodes', 'GET', {
      pathParameters,
      headers: { 'accept-encoding': 'gzip' },
    });
    const plain = await call('read-nodes', 'GET', { pathParameters });
    const whole = await call('get-workflow', 'GET', {
      pathParameters,
      headers: { 'accept-encoding': 'br, gzip' },
    });

    expect(brotli.headers).toMatchObject({ 'content-encoding': 'br', vary: 'accept-encoding' });
    expect(gzipped.headers?.['content-encoding']).toBe('gzip');
    expect(plain.headers?.['content-encoding']).toBeUndefined();
    expect(whole.headers?.['content-encoding']).toBe('gzip');
    expect((brotli.json as { nodes: unknown }).nodes).toEqual(nodes);
    expect(gzipped.json).toEqual(brotli.json);
    expect(plain.json).toEqual(brotli.json);
    // Alike nodes come together: template by template, whatever the bucket order.
    const templates = Object.values(
      (brotli.json as { nodes: Record<string, { templateName: string }> }).nodes,
    ).map((node) => node.templateName);
    expect(templates).toEqual([...templates].sort());
  });

  it('answers an unknown workflow with 404', async () => {
    const result = await call('get-workflow', 'GET', { pathParameters: { uid: 'no-such-workflow' } });

    expect(result.statusCode).toBe(404);
    expect(result.json).toEqual({ error: 'NotFound', message: "workflow 'no-such-workflow' does not exist" });
  });
});

describe('versions', () => {
  it('lists versions newest first and reads a superseded one', async () => {
    const first = await put('versions-1', { namespace: 'argo', name: 'v', nodes: { a: running('a') } });
    await put('versions-1', {
      namespace: 'argo',
      name: 'v',
      nodes: { a: running('a', { phase: 'Succeeded' }) },
    });
    const firstVersion = (first.json as { nodeStatusVersion: string }).nodeStatusVersion;

    const list = await call('list-versions', 'GET', { pathParameters: { uid: 'versions-1' } });
    const old = await call('get-version', 'GET', {
      pathParameters: { uid: 'versions-1', version: firstVersion },
    });
    const missing = await call('get-version', 'GET', {
      pathParameters: { uid: 'versions-1', version: 'f'.repeat(64) },
    });

    const items = (list.json as { items: Record<string, unknown>[] }).items;
    expect(list.statusCode).toBe(200);
    expect(items).toHaveLength(2);
    expect(items.map((item) => item.current)).toEqual([true, false]);
    expect(items[1]).toEqual({
      nodeStatusVersion: firstVersion,
      createdAt: expect.any(String),
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      nodeCount: 1,
      phaseCounts: { Running: 1 },
      storedBytes: expect.any(Number),
      current: false,
    });
    expect(old.json).toEqual({
      uid: 'versions-1',
      nodeStatusVersion: firstVersion,
      nodes: { a: running('a') },
    });
    expect(missing.statusCode).toBe(404);
  });
});

describe('POST /v1/workflows/{uid}/stop', () => {
  it('stops with 200 and the stopped workflow, again with 200, and a completed one with 409', async () => {
    await put('stop-1', {
      namespace: 'argo',
      name: 's',
      nodes: { a: running('a'), b: running('b', { phase: 'Succeeded' }) },
    });
    await put('stop-done', { namespace: 'argo', name: 's', phase: 'Succeeded', nodes: {} });

    const stopped = await call('stop-workflow', 'POST', {
      pathParameters: { uid: 'stop-1' },
      body: { strategy: 'Terminate' },
    });
    const again = await call('stop-workflow', 'POST', {
      pathParameters: { uid: 'stop-1' },
      body: { strategy: 'Terminate' },
    });
    const completed = await call('stop-workflow', 'POST', {
      pathParameters: { uid: 'stop-done' },
      body: { strategy: 'Stop' },
    });

    expect(stopped.statusCode).toBe(200);
    expect(stopped.json).toMatchObject({
      phase: 'Failed',
      shutdown: 'Terminate',
      resourceVersion: '2',
      nodes: {
        a: { phase: 'Failed', message: "Stopped with strategy 'Terminate'" },
        b: { phase: 'Succeeded' },
      },
    });
    expect(again.statusCode).toBe(200);
    expect(again.headers?.etag).toBe('"2"');
    expect(completed.statusCode).toBe(409);
    expect(completed.json).toMatchObject({ error: 'Conflict', current: { resourceVersion: '1' } });
  });
});

describe('DELETE /v1/workflows/{uid}', () => {
  it('deletes with 204, then 404', async () => {
    await put('delete-1', { namespace: 'argo', name: 'd', nodes: {} });

    const deleted = await call('delete-workflow', 'DELETE', { pathParameters: { uid: 'delete-1' } });
    const again = await call('delete-workflow', 'DELETE', { pathParameters: { uid: 'delete-1' } });
    const read = await call('get-workflow', 'GET', { pathParameters: { uid: 'delete-1' } });

    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBeUndefined();
    expect(again.statusCode).toBe(404);
    expect(read.statusCode).toBe(404);
  });
});

describe('GET /v1/namespaces/{namespace}/workflows', () => {
  it('pages through a namespace with limit and next', async () => {
    for (let index = 0; index < 7; index++) {
      await put(`list-${index}`, { namespace: 'paging', name: `wf-${index}`, nodes: {} });
    }

    const seen: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const page = await call('list-workflows', 'GET', {
        pathParameters: { namespace: 'paging' },
        query: { limit: '3', ...(next ? { next } : {}) },
      });
      expect(page.statusCode).toBe(200);
      const body = page.json as { items: { uid: string; resourceVersion: unknown }[]; next?: string };
      expect(body.items.length).toBeLessThanOrEqual(3);
      for (const item of body.items) expect(typeof item.resourceVersion).toBe('string');
      seen.push(...body.items.map((item) => item.uid));
      next = body.next;
      pages++;
    } while (next && pages < 10);

    expect(seen.sort()).toEqual(Array.from({ length: 7 }, (_, index) => `list-${index}`).sort());
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it('answers a cursor that is not one of ours with 400', async () => {
    const page = await call('list-workflows', 'GET', {
      pathParameters: { namespace: 'paging' },
      query: { next: 'garbage' },
    });

    expect(page.statusCode).toBe(400);
  });
});

describe('event handlers', () => {
  const onNodesUpdated = (detail: unknown) =>
    eventHandlers['on-nodes-updated']?.(workflowEvent('Workflow Nodes Updated', detail), context);
  const onStopRequested = (detail: unknown) =>
    eventHandlers['on-stop-requested']?.(workflowEvent('Workflow Stop Requested', detail), context);
  const onWorkflowDeleted = (detail: unknown) =>
    eventHandlers['on-workflow-deleted']?.(workflowEvent('Workflow Deleted', detail), context);

  it('applies a nodes-updated delta once; a duplicate delivery writes nothing', async () => {
    await put('event-update', { namespace: 'argo', name: 'e', nodes: { a: running('a'), b: running('b') } });
    const delta = { uid: 'event-update', set: { a: running('a', { phase: 'Succeeded' }) }, remove: ['b'] };

    const first = await onNodesUpdated(delta);
    const duplicate = await onNodesUpdated(delta);
    const after = await call('get-workflow', 'GET', { pathParameters: { uid: 'event-update' } });

    expect(first).toEqual({ outcome: 'applied' });
    expect(duplicate).toEqual({ outcome: 'unchanged' });
    expect(after.json).toMatchObject({ resourceVersion: '2', nodes: { a: { phase: 'Succeeded' } } });
    expect((after.json as { nodes: object }).nodes).not.toHaveProperty('b');
  });

  it('stops once; a duplicate delivery writes nothing', async () => {
    await put('event-stop', { namespace: 'argo', name: 'e', nodes: { a: running('a') } });

    const first = await onStopRequested({ uid: 'event-stop', strategy: 'Stop' });
    const duplicate = await onStopRequested({ uid: 'event-stop', strategy: 'Stop' });
    const after = await call('get-workflow', 'GET', { pathParameters: { uid: 'event-stop' } });

    expect(first).toEqual({ outcome: 'applied' });
    expect(duplicate).toEqual({ outcome: 'unchanged' });
    expect(after.json).toMatchObject({
      resourceVersion: '2',
      shutdown: 'Stop',
      nodes: { a: { phase: 'Failed' } },
    });
  });

  it('drops a stop for a completed workflow and an update for an unknown one', async () => {
    await put('event-done', { namespace: 'argo', name: 'e', phase: 'Succeeded', nodes: {} });

    const stop = await onStopRequested({ uid: 'event-done', strategy: 'Stop' });
    const update = await onNodesUpdated({ uid: 'event-nobody', set: { a: running('a') } });

    expect(stop).toMatchObject({ outcome: 'dropped', error: { code: 'Conflict' } });
    expect(update).toMatchObject({ outcome: 'dropped', error: { code: 'NotFound' } });
  });

  it('deletes; deleting an absent workflow is a success', async () => {
    await put('event-delete', { namespace: 'argo', name: 'e', nodes: {} });

    const first = await onWorkflowDeleted({ uid: 'event-delete' });
    const duplicate = await onWorkflowDeleted({ uid: 'event-delete' });

    expect(first).toEqual({ outcome: 'applied' });
    expect(duplicate).toEqual({ outcome: 'unchanged' });
  });
});

describe('renew-leases', () => {
  it('runs the renewer and emits renewals and the minimum remaining lease', async () => {
    await put('renew-1', { namespace: 'argo', name: 'r', nodes: { a: running('a') } });
    const added = vi.spyOn(metrics, 'addMetric');

    const report = await renewLeases(
      { 'detail-type': 'Scheduled Event', source: 'aws.scheduler', detail: {} } as ScheduledEvent,
      context,
    );

    expect(report).toMatchObject({ versionMissing: 0 });
    const names = added.mock.calls.map((args) => args[0]);
    expect(names).toEqual(
      expect.arrayContaining([metricNames.renewals, metricNames.minRemainingLeaseSeconds]),
    );
  });
});
