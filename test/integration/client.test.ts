/**
 * WfoClient against an in-process HTTP stub of the contract (docs/api.md):
 * real sockets, real gzip, real headers; no service behind it. Each test
 * says what the stub answers and checks what the client sent and made of it.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '#client/cli/main';
import {
  BadRequestError,
  ConflictError,
  ConnectionError,
  InternalServerError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  UnsupportedMediaTypeError,
  WfoApiError,
  WfoClient,
  type WriteResponse,
} from '#client/wfo-client';

interface RecordedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The body exactly as it came over the wire. */
  readonly rawBody: Buffer;
  /** The body after undoing Content-Encoding, parsed. */
  readonly json: unknown;
}

interface StubResponse {
  readonly status: number;
  readonly headers?: Record<string, string>;
  /** Sent as JSON unless it is a string. */
  readonly body?: unknown;
  /** Gzip the body, if the request accepts gzip. */
  readonly gzip?: boolean;
}

/** What the stub answers; tests replace it. */
let respond: (request: RecordedRequest) => StubResponse;
let requests: RecordedRequest[];
/** What the stub did, for asserting that a gzip response really was sent. */
let sentEncodings: (string | undefined)[];
let server: Server;
let baseUrl: string;

function reply(res: ServerResponse, request: RecordedRequest, response: StubResponse): void {
  let body: Buffer =
    response.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(typeof response.body === 'string' ? response.body : JSON.stringify(response.body));
  const headers: Record<string, string> = { ...response.headers };
  if (response.body !== undefined && typeof response.body !== 'string')
    headers['content-type'] = 'application/json';
  const acceptsGzip = /\bgzip\b/.test(request.headers['accept-encoding'] ?? '');
  if (response.gzip && acceptsGzip) {
    body = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  sentEncodings.push(headers['content-encoding']);
  res.writeHead(response.status, headers);
  res.end(body);
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks);
    const decoded = req.headers['content-encoding'] === 'gzip' ? gunzipSync(rawBody) : rawBody;
    const request: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawBody,
      json: decoded.length === 0 ? undefined : JSON.parse(decoded.toString('utf8')),
    };
    requests.push(request);
    reply(res, request, respond(request));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

beforeEach(() => {
  requests = [];
  sentEncodings = [];
  respond = () => ({ status: 500, body: { error: 'InternalError', message: 'the test set no response' } });
});

const writeResponse = (resourceVersion: string): WriteResponse => ({
  uid: 'wf-1',
  namespace: 'argo',
  name: 'hello',
  phase: 'Running',
  resourceVersion,
  nodeStatusVersion: 'v-new',
  nodeCount: 2,
  createdAt: '2025-01-01T00:00:00Z',
  updatedAt: '2025-01-01T00:05:00Z',
  write: { chunksWritten: 1, chunksReused: 3, bytesWritten: 812, writeUnits: 2 },
});

/** A node map whose JSON is well above the 1 KiB gzip threshold. */
const largeNodes = Object.fromEntries(
  Array.from({ length: 40 }, (_, index) => [
    `wf-1-${index}`,
    { id: `wf-1-${index}`, phase: 'Succeeded', displayName: `step-${index}`, message: 'done' },
  ]),
);

const errorBody = (error: string, message: string) => ({ error, message });

describe('WfoClient encoding', () => {
  it('asks for gzip and decodes a gzip response', async () => {
    respond = () => ({ status: 200, body: { status: 'ok' }, gzip: true });
    const client = new WfoClient({ baseUrl });

    const health = await client.health();

    expect(health).toEqual({ status: 'ok' });
    expect(requests[0]?.headers['accept-encoding']).toMatch(/\bgzip\b/);
    expect(sentEncodings).toEqual(['gzip']);
  });

  it('decodes a gzip body that its fetch hands over still compressed', async () => {
    const compressedFetch: typeof fetch = async () =>
      new Response(gzipSync(JSON.stringify({ status: 'ok' })), {
        status: 200,
        headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
      });
    const client = new WfoClient({ baseUrl, fetch: compressedFetch });

    await expect(client.health()).resolves.toEqual({ status: 'ok' });
  });

  it('gzips a request body above 1 KiB: the bytes on the wire are gzip', async () => {
    respond = () => ({ status: 200, headers: { etag: '"8"' }, body: writeResponse('8') });
    const client = new WfoClient({ baseUrl });
    const body = { namespace: 'argo', name: 'hello', nodes: largeNodes };

    await client.putWorkflow('wf-1', body);

    const sent = requests[0];
    expect(sent?.headers['content-encoding']).toBe('gzip');
    expect(sent?.headers['content-type']).toBe('application/json');
    expect([...(sent?.rawBody.subarray(0, 2) ?? [])]).toEqual([0x1f, 0x8b]);
    expect(sent?.rawBody.length).toBeLessThan(Buffer.byteLength(JSON.stringify(body)));
    expect(sent?.json).toEqual(body);
  });

  it('sends a small body, or any body with gzip: false, as plain JSON', async () => {
    respond = () => ({ status: 200, headers: { etag: '"8"' }, body: writeResponse('8') });
    const small = { namespace: 'argo', name: 'hello', nodes: { n1: { id: 'n1', phase: 'Running' } } };
    const large = { namespace: 'argo', name: 'hello', nodes: largeNodes };

    await new WfoClient({ baseUrl }).putWorkflow('wf-1', small);
    await new WfoClient({ baseUrl, gzip: false }).putWorkflow('wf-1', large);

    for (const [index, body] of [small, large].entries()) {
      expect(requests[index]?.headers['content-encoding']).toBeUndefined();
      expect(requests[index]?.rawBody.toString('utf8')).toBe(JSON.stringify(body));
    }
  });
});

describe('WfoClient requests', () => {
  it('quotes If-Match, unquotes the ETag and reports 200 as an update', async () => {
    respond = () => ({ status: 200, headers: { etag: '"8"' }, body: writeResponse('8') });
    const client = new WfoClient({ baseUrl });

    const result = await client.putWorkflow(
      'wf-1',
      { namespace: 'argo', name: 'hello', nodes: {}, baseVersion: 'v-old' },
      { ifMatch: '7', onConflict: 'reapply' },
    );

    expect(requests[0]?.method).toBe('PUT');
    expect(requests[0]?.url).toBe('/v1/workflows/wf-1?onConflict=reapply');
    expect(requests[0]?.headers['if-match']).toBe('"7"');
    expect(requests[0]?.headers['if-none-match']).toBeUndefined();
    expect(result.etag).toBe('8');
    expect(result.created).toBe(false);
    expect(result.write).toEqual({ chunksWritten: 1, chunksReused: 3, bytesWritten: 812, writeUnits: 2 });
  });

  it('sends If-None-Match: * for a create and reports 201 as created', async () => {
    respond = () => ({ status: 201, headers: { etag: 'W/"1"' }, body: writeResponse('1') });

    const result = await new WfoClient({ baseUrl }).putWorkflow(
      'wf-1',
      { namespace: 'argo', name: 'hello', nodes: {} },
      { ifNoneMatch: '*' },
    );

    expect(requests[0]?.headers['if-none-match']).toBe('*');
    expect(requests[0]?.headers['if-match']).toBeUndefined();
    expect(result).toMatchObject({ created: true, etag: '1', resourceVersion: '1' });
  });

  it('patches nodes with a delta and an already quoted If-Match left as is', async () => {
    respond = () => ({ status: 200, headers: { etag: '"9"' }, body: writeResponse('9') });
    const delta = { set: { n1: { id: 'n1', phase: 'Succeeded' } }, remove: ['n2'] };

    const result = await new WfoClient({ baseUrl }).patchNodes('wf-1', delta, { ifMatch: '"8"' });

    expect(requests[0]).toMatchObject({ method: 'PATCH', url: '/v1/workflows/wf-1/nodes', json: delta });
    expect(requests[0]?.headers['if-match']).toBe('"8"');
    expect(result.etag).toBe('9');
  });

  it('reads a workflow, its versions and a past version under encoded paths', async () => {
    respond = (request) => {
      if (request.url.endsWith('/versions')) return { status: 200, body: { items: [] } };
      if (request.url.includes('/versions/')) {
        return { status: 200, body: { uid: 'ns:wf/1', nodeStatusVersion: 'v+1', nodes: {} } };
      }
      return {
        status: 200,
        headers: { etag: '"3"' },
        body: { ...writeResponse('3'), nodes: {} },
        gzip: true,
      };
    };
    const client = new WfoClient({ baseUrl });

    const workflow = await client.getWorkflow('ns:wf/1');
    await client.listVersions('ns:wf/1');
    await client.getVersion('ns:wf/1', 'v+1');

    expect(requests.map((request) => request.url)).toEqual([
      '/v1/workflows/ns:wf%2F1',
      '/v1/workflows/ns:wf%2F1/versions',
      '/v1/workflows/ns:wf%2F1/versions/v%2B1',
    ]);
    expect(workflow.etag).toBe('3');
  });

  it('posts a stop and deletes with 204', async () => {
    respond = (request) =>
      request.method === 'DELETE'
        ? { status: 204 }
        : {
            status: 200,
            headers: { etag: '"4"' },
            body: { ...writeResponse('4'), phase: 'Failed', shutdown: 'Stop' },
          };
    const client = new WfoClient({ baseUrl });

    const stopped = await client.stopWorkflow('wf-1', { strategy: 'Stop', message: 'by hand' });
    const deleted = await client.deleteWorkflow('wf-1');

    expect(requests[0]).toMatchObject({
      method: 'POST',
      url: '/v1/workflows/wf-1/stop',
      json: { strategy: 'Stop', message: 'by hand' },
    });
    expect(stopped).toMatchObject({ phase: 'Failed', shutdown: 'Stop', etag: '4' });
    expect(requests[1]).toMatchObject({ method: 'DELETE', url: '/v1/workflows/wf-1' });
    expect(deleted).toBeUndefined();
  });

  it('follows next from page to page when iterating a namespace', async () => {
    const pages: Record<string, { items: { uid: string }[]; next?: string }> = {
      first: { items: [{ uid: 'a' }, { uid: 'b' }], next: 'c2' },
      c2: { items: [{ uid: 'c' }] },
    };
    respond = (request) => {
      const next = new URL(request.url, baseUrl).searchParams.get('next') ?? 'first';
      const page = pages[next] ?? { items: [] };
      return {
        status: 200,
        body: {
          ...page,
          items: page.items.map(({ uid }) => ({ uid, namespace: 'argo', name: uid, phase: 'Running' })),
        },
      };
    };
    const client = new WfoClient({ baseUrl });

    const uids: string[] = [];
    for await (const summary of client.iterateWorkflows('argo', { limit: 2 })) uids.push(summary.uid);

    expect(uids).toEqual(['a', 'b', 'c']);
    expect(requests.map((request) => request.url)).toEqual([
      '/v1/namespaces/argo/workflows?limit=2',
      '/v1/namespaces/argo/workflows?limit=2&next=c2',
    ]);
  });

  it('posts events in the PutEvents shape with Detail as a JSON string', async () => {
    respond = () => ({ status: 200, body: { FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] } });
    const detail = { uid: 'wf-1', strategy: 'Stop' };

    const result = await new WfoClient({ baseUrl }).putEvents([
      { Source: 'argo.controller', DetailType: 'Workflow Stop Requested', Detail: detail },
    ]);

    expect(requests[0]).toMatchObject({
      method: 'POST',
      url: '/events',
      json: {
        Entries: [
          {
            Source: 'argo.controller',
            DetailType: 'Workflow Stop Requested',
            Detail: JSON.stringify(detail),
          },
        ],
      },
    });
    expect(result.FailedEntryCount).toBe(0);
  });
});

describe('WfoClient errors', () => {
  it('throws a ConflictError carrying the current state on 409', async () => {
    respond = () => ({
      status: 409,
      body: {
        error: 'Conflict',
        message: 'resourceVersion 7 is stale',
        current: { resourceVersion: '9', nodeStatusVersion: 'v-9' },
      },
      gzip: true,
    });

    const error = await new WfoClient({ baseUrl })
      .patchNodes('wf-1', { remove: ['n1'] }, { ifMatch: '7' })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toBeInstanceOf(WfoApiError);
    expect(error).toMatchObject({
      name: 'ConflictError',
      status: 409,
      code: 'Conflict',
      message: 'resourceVersion 7 is stale',
      current: { resourceVersion: '9', nodeStatusVersion: 'v-9' },
    });
  });

  it.each([
    [400, 'BadRequest', BadRequestError],
    [404, 'NotFound', NotFoundError],
    [413, 'PayloadTooLarge', PayloadTooLargeError],
    [415, 'UnsupportedMediaType', UnsupportedMediaTypeError],
    [500, 'InternalError', InternalServerError],
  ])('maps %i %s to its error class with the server message', async (status, code, errorClass) => {
    respond = () => ({ status, body: errorBody(code, `server says ${code}`) });

    const error = await new WfoClient({ baseUrl }).getWorkflow('wf-1').catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(errorClass);
    expect(error).toMatchObject({ name: errorClass.name, status, code, message: `server says ${code}` });
  });

  it('keeps the status of an error that is not JSON, such as a proxy page', async () => {
    respond = () => ({ status: 502, body: '<html>Bad Gateway</html>' });

    const error = await new WfoClient({ baseUrl }).health().catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(WfoApiError);
    expect(error).toMatchObject({ status: 502, message: 'HTTP 502 Bad Gateway' });
  });

  it('throws a ConnectionError with the socket error as cause when nothing listens', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');

    const error = await new WfoClient({ baseUrl: `http://127.0.0.1:${port}` })
      .health()
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ status: undefined, code: 'ConnectionFailed' });
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });
});

describe('WfoClient retry on 503', () => {
  const unavailable = (retryAfter: string): StubResponse => ({
    status: 503,
    headers: { 'retry-after': retryAfter },
    body: errorBody('ServiceUnavailable', 'table is throttling'),
  });

  it('does not retry by default and reports Retry-After', async () => {
    respond = () => unavailable('2');

    const error = await new WfoClient({ baseUrl }).health().catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error).toMatchObject({ name: 'ServiceUnavailableError', retryAfterSeconds: 2 });
    expect(requests).toHaveLength(1);
  });

  it('retries when enabled, waiting as long as Retry-After says, capped by maxDelaySeconds', async () => {
    const answers = [unavailable('2'), unavailable('600'), { status: 200, body: { status: 'ok' } }];
    respond = () => answers[requests.length - 1] ?? unavailable('1');
    const waits: number[] = [];
    const client = new WfoClient({
      baseUrl,
      retry: { retries: 3, maxDelaySeconds: 5 },
      sleep: async (milliseconds) => {
        waits.push(milliseconds);
      },
    });

    const health = await client.health();

    expect(health).toEqual({ status: 'ok' });
    expect(waits).toEqual([2000, 5000]);
    expect(requests).toHaveLength(3);
  });

  it('reads a Retry-After given as an HTTP date', async () => {
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    const answers = [unavailable(inTenSeconds), { status: 200, body: { status: 'ok' } }];
    respond = () => answers[requests.length - 1] ?? unavailable('1');
    const waits: number[] = [];
    const client = new WfoClient({
      baseUrl,
      retry: { retries: 1 },
      sleep: async (milliseconds) => {
        waits.push(milliseconds);
      },
    });

    await client.health();

    // HTTP dates have whole seconds: anything from 8 to 11 s is the date read right.
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(8000);
    expect(waits[0]).toBeLessThanOrEqual(11_000);
  });

  it('resends the same gzip body on every attempt and gives up after the retry budget', async () => {
    respond = () => unavailable('0');
    const client = new WfoClient({ baseUrl });
    client.retry = { retries: 2 };

    const error = await client
      .putWorkflow('wf-1', { namespace: 'argo', name: 'hello', nodes: largeNodes })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(requests).toHaveLength(3);
    for (const request of requests)
      expect(request.json).toEqual({ namespace: 'argo', name: 'hello', nodes: largeNodes });
  });

  it('really waits between attempts', async () => {
    const answers = [unavailable('1'), { status: 200, body: { status: 'ok' } }];
    respond = () => answers[requests.length - 1] ?? unavailable('1');
    const client = new WfoClient({ baseUrl, retry: { retries: 1 } });

    const started = performance.now();
    await client.health();
    const elapsed = performance.now() - started;

    expect(requests).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(900);
  });
});

describe('wfo against the stub', () => {
  const run = async (argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env: { WFO_URL: baseUrl },
    });
    return { code, stdout, stderr };
  };

  it('exits 3 with the server message when the workflow does not exist', async () => {
    respond = () => ({
      status: 404,
      body: errorBody('NotFound', "workflow 'ghost' does not exist"),
      gzip: true,
    });

    const result = await run(['get', 'ghost']);

    expect(result).toEqual({
      code: 3,
      stdout: '',
      stderr: "wfo: NotFound: workflow 'ghost' does not exist\n",
    });
    expect(requests[0]?.url).toBe('/v1/workflows/ghost/nodes');
  });

  it('exits 4 on a conflict and names the current resourceVersion', async () => {
    respond = () => ({
      status: 409,
      body: {
        ...errorBody('Conflict', 'stale'),
        current: { resourceVersion: '9', nodeStatusVersion: 'v-9' },
      },
    });

    const result = await run(['patch', 'wf-1', '--remove', 'n1', '--if-match', '7']);

    expect(result.code).toBe(4);
    expect(result.stderr).toBe('wfo: Conflict: stale (current resourceVersion 9, nodeStatusVersion v-9)\n');
    expect(requests[0]?.headers['if-match']).toBe('"7"');
  });

  it('runs as the installed bin/wfo.js', async () => {
    respond = () => ({ status: 200, body: { status: 'ok' } });
    const bin = fileURLToPath(new URL('../../bin/wfo.js', import.meta.url));

    const { stdout } = await promisify(execFile)(bin, ['--url', baseUrl, '--json', 'health']);

    expect(JSON.parse(stdout)).toEqual({ status: 'ok' });
  });
});
