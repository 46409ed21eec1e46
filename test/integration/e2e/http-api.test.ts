/**
 * End to end: the local runtime started exactly as `npm start` starts it (a
 * child process, PORT=0, DYNAMODB_ENDPOINT at the suite's DynamoDB Local and a
 * fresh table), exercised over HTTP with WfoClient and raw requests: every
 * route, every error code of the contract, gzip both ways, conflicts and
 * re-apply, stop over HTTP and over `/events`, pagination, and a
 * 50,000-node workflow.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConflictError,
  type NodeMap,
  NotFoundError,
  ServiceUnavailableError,
  WfoClient,
} from '#client/wfo-client';
import { eventSource } from '#contract/api';
import { findFreePort } from '#local/dynamodb-local';
import { generateNodes } from '#testkit/argo-generator';
import { dynamodbEndpoint } from '#testkit/table';

const projectRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** Small enough to test 413 cheaply, large enough for the 50,000-node workflow. */
const maxBodyBytes = 48 * 1024 * 1024;

interface RunningRuntime {
  readonly baseUrl: string;
  readonly child: ChildProcess;
  output(): string;
  /** SIGINT, as Ctrl+C; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `npm start` as a child process; resolves with the URL it prints. The child
 * leads its own process group, so that a test that fails half-way can still
 * take down everything it started.
 */
function startRuntime(env: Record<string, string | undefined>, args: string[] = []): Promise<RunningRuntime> {
  const child = spawn('npm', ['start', ...(args.length > 0 ? ['--', ...args] : [])], {
    cwd: projectRoot,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  const stop = async () => {
    // SIGINT to npm alone, not to its group: the runtime must still hear it and stop cleanly.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    const timer = setTimeout(killGroup, 30_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup();
      reject(new Error(`npm start printed no URL within 90 s:\n${output}`));
    }, 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ baseUrl: match[1], child, output: () => output, stop });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code} before printing a URL:\n${output}`));
    });
  });
}

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The body exactly as sent, before any decoding. */
  readonly raw: Buffer;
  readonly json: unknown;
}

/** A request with node:http, which (unlike fetch) shows the bytes as they came over the wire. */
function raw(
  baseUrl: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(new URL(path, baseUrl), { method, headers: options.headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const text = (response.headers['content-encoding'] === 'gzip' ? gunzipSync(bytes) : bytes).toString();
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          raw: bytes,
          json: text === '' ? undefined : JSON.parse(text),
        });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

const json = { 'content-type': 'application/json' };

/** An Argo-like node of about 600 bytes of JSON. */
function argoNode(workflow: string, index: number, phase = 'Succeeded'): NodeMap[string] {
  const id = `${workflow}-${1_000_000_000 + index * 7919}`;
  return {
    id,
    name: `${workflow}[0].process(${index})`,
    displayName: `process(${index}:item-${index})`,
    type: 'Pod',
    templateName: 'process-item',
    templateScope: 'local/',
    phase,
    boundaryID: workflow,
    startedAt: '2025-01-01T00:00:00Z',
    finishedAt: phase === 'Succeeded' ? '2025-01-01T00:01:00Z' : null,
    progress: '1/1',
    resourcesDuration: { cpu: index % 97, memory: index % 89 },
    inputs: { parameters: [{ name: 'item', value: `item-${index}` }] },
    outputs: {
      artifacts: [{ name: 'main-logs', s3: { key: `${workflow}/${workflow}-process-${index}/main.log` } }],
      exitCode: '0',
    },
    children: [`${workflow}-${2_000_000_000 + index}`],
    hostNodeName: `ip-10-0-${index % 255}-${(index * 7) % 255}.ec2.internal`,
  };
}

function argoNodes(workflow: string, count: number, phase = 'Succeeded'): NodeMap {
  const nodes: NodeMap = {};
  for (let index = 0; index < count; index++) {
    const node = argoNode(workflow, index, phase);
    nodes[node.id as string] = node;
  }
  return nodes;
}

const running = (id: string, extra: Record<string, unknown> = {}) => ({ id, phase: 'Running', ...extra });

describe('local runtime over HTTP', () => {
  let runtime: RunningRuntime;
  let client: WfoClient;
  let baseUrl: string;

  beforeAll(async () => {
    runtime = await startRuntime({
      DYNAMODB_ENDPOINT: dynamodbEndpoint(),
      WFO_TABLE_NAME: `e2e-${randomUUID()}`,
      WFO_MAX_BODY_BYTES: String(maxBodyBytes),
    });
    baseUrl = runtime.baseUrl;
    client = new WfoClient({ baseUrl });
  });

  afterAll(async () => {
    expect(await runtime?.stop()).toBe(0);
  });

  describe('routes', () => {
    it('GET /healthz answers ok', async () => {
      expect(await client.health()).toEqual({ status: 'ok' });
    });

    it('PUT creates with 201 and updates with 200, with ETags', async () => {
      const nodes = { a: running('a'), b: running('b', { phase: 'Pending' }) };

      const created = await client.putWorkflow('e2e-put', { namespace: 'argo', name: 'put', nodes });
      const updated = await client.putWorkflow('e2e-put', {
        namespace: 'argo',
        name: 'put',
        nodes: { ...nodes, b: running('b') },
      });

      expect(created).toMatchObject({ created: true, etag: '1', resourceVersion: '1', nodeCount: 2 });
      expect(created.write).toEqual({
        chunksWritten: expect.any(Number),
        chunksReused: expect.any(Number),
        bytesWritten: expect.any(Number),
        writeUnits: expect.any(Number),
      });
      expect(updated).toMatchObject({ created: false, etag: '2', resourceVersion: '2' });
    });

    it('GET returns the hydrated workflow with its ETag', async () => {
      const nodes = {
        a: running('a', { children: ['b'] }),
        b: { id: 'b', phase: 'Pending', extra: [1, null] },
      };
      await client.putWorkflow('e2e-get', { namespace: 'argo', name: 'get', message: 'hello', nodes });

      const response = await raw(baseUrl, 'GET', '/v1/workflows/e2e-get');

      expect(response.status).toBe(200);
      expect(response.headers.etag).toBe('"1"');
      expect(response.json).toEqual({
        uid: 'e2e-get',
        namespace: 'argo',
        name: 'get',
        phase: 'Running',
        message: 'hello',
        resourceVersion: '1',
        nodeStatusVersion: expect.stringMatching(/^[0-9a-f]{64}$/),
        nodeCount: 2,
        phaseCounts: { Pending: 1, Running: 1 },
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        nodes,
      });
    });

    it('PATCH applies a delta under If-Match', async () => {
      const created = await client.putWorkflow('e2e-patch', {
        namespace: 'argo',
        name: 'patch',
        nodes: { a: running('a'), b: running('b') },
      });

      const patched = await client.patchNodes(
        'e2e-patch',
        { set: { a: running('a', { phase: 'Succeeded' }) }, remove: ['b'], message: 'half done' },
        { ifMatch: `"${created.etag}"` },
      );
      const workflow = await client.getWorkflow('e2e-patch');

      expect(patched).toMatchObject({ etag: '2', nodeCount: 1, message: 'half done' });
      expect(workflow.nodes).toEqual({ a: running('a', { phase: 'Succeeded' }) });
    });

    it('lists versions newest first and reads a superseded version', async () => {
      const first = await client.putWorkflow('e2e-versions', {
        namespace: 'argo',
        name: 'v',
        nodes: { a: running('a') },
      });
      await client.patchNodes('e2e-versions', { set: { a: running('a', { phase: 'Failed' }) } });

      const versions = await client.listVersions('e2e-versions');
      const old = await client.getVersion('e2e-versions', first.nodeStatusVersion);

      expect(versions.items).toHaveLength(2);
      expect(versions.items.map((item) => item.current)).toEqual([true, false]);
      expect(versions.items[1]).toMatchObject({ nodeStatusVersion: first.nodeStatusVersion, nodeCount: 1 });
      expect(old).toEqual({
        uid: 'e2e-versions',
        nodeStatusVersion: first.nodeStatusVersion,
        nodes: { a: running('a') },
      });
    });

    it('diffs two versions node by node: added, removed, changed with phases and fields', async () => {
      const first = await client.putWorkflow('e2e-diff', {
        namespace: 'argo',
        name: 'd',
        nodes: { a: running('a', { displayName: 'step-a', type: 'Pod' }), b: running('b'), c: running('c') },
      });
      const second = await client.patchNodes('e2e-diff', {
        set: {
          a: running('a', { displayName: 'step-a', type: 'Pod', phase: 'Succeeded', finishedAt: 'now' }),
        },
        remove: ['b'],
      });
      await client.patchNodes('e2e-diff', { set: { d: running('d', { type: 'Pod' }) } });

      const named = await raw(
        baseUrl,
        'GET',
        `/v1/workflows/e2e-diff/diff?from=${first.nodeStatusVersion}&to=${second.nodeStatusVersion}`,
      );
      const latest = await raw(baseUrl, 'GET', '/v1/workflows/e2e-diff/diff');
      const unknown = await raw(baseUrl, 'GET', `/v1/workflows/e2e-diff/diff?from=${'e'.repeat(64)}`);
      const ghost = await raw(baseUrl, 'GET', '/v1/workflows/e2e-no-such/diff');
      const bad = await raw(baseUrl, 'GET', '/v1/workflows/e2e-diff/diff?from=%21%21');

      expect(named.status).toBe(200);
      expect(named.headers['cache-control']).toMatch(/immutable/);
      const body = named.json as { added: number; removed: number; changed: number; nodes: object[] };
      expect({ ...body, nodes: undefined }).toEqual({
        uid: 'e2e-diff',
        from: first.nodeStatusVersion,
        to: second.nodeStatusVersion,
        added: 0,
        removed: 1,
        changed: 1,
        nodes: undefined,
      });
      expect([...body.nodes].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual([
        {
          id: 'a',
          change: 'changed',
          displayName: 'step-a',
          type: 'Pod',
          phaseBefore: 'Running',
          phaseAfter: 'Succeeded',
          fields: ['finishedAt', 'phase'],
        },
        { id: 'b', change: 'removed', phaseBefore: 'Running' },
      ]);
      expect(latest.status).toBe(200);
      expect(latest.headers['cache-control']).toBe('no-cache');
      expect(latest.json).toMatchObject({
        from: second.nodeStatusVersion,
        added: 1,
        removed: 0,
        changed: 0,
        nodes: [{ id: 'd', change: 'added', type: 'Pod', phaseAfter: 'Running' }],
      });
      expect(unknown.status).toBe(410);
      expect(ghost.status).toBe(404);
      expect(bad.status).toBe(400);
      expect((bad.json as { message: string }).message).toMatch(/from/);
    });

    it('reads only the nodes asked for: by phase, by type, or a subtree', async () => {
      await client.putWorkflow('e2e-scoped', {
        namespace: 'argo',
        name: 'root',
        nodes: {
          root: running('root', { type: 'Steps', children: ['s1', 's2'] }),
          s1: running('s1', { type: 'Pod', phase: 'Failed', children: ['s1a'] }),
          s1a: running('s1a', { type: 'Pod', phase: 'Succeeded' }),
          s2: running('s2', { type: 'Pod' }),
        },
      });
      const ids = async (query: string) => {
        const response = await raw(baseUrl, 'GET', `/v1/workflows/e2e-scoped/nodes?${query}`);
        expect(response.status).toBe(200);
        return Object.keys((response.json as { nodes: object }).nodes).sort();
      };

      expect(await ids('phase=Failed,Succeeded')).toEqual(['s1', 's1a']);
      expect(await ids('type=Steps')).toEqual(['root']);
      expect(await ids('under=s1')).toEqual(['s1', 's1a']);
      const badPhase = await raw(baseUrl, 'GET', '/v1/workflows/e2e-scoped/nodes?phase=Nope');
      expect(badPhase.status).toBe(400);
      expect((badPhase.json as { message: string }).message).toMatch(/Succeeded/);
    });

    it('stops over HTTP: 200 with the stopped workflow, idempotent, 409 once completed', async () => {
      await client.putWorkflow('e2e-stop', {
        namespace: 'argo',
        name: 'stop',
        nodes: { a: running('a'), b: running('b', { phase: 'Succeeded' }) },
      });
      await client.putWorkflow('e2e-stop-done', {
        namespace: 'argo',
        name: 'done',
        phase: 'Succeeded',
        nodes: {},
      });

      const stopped = await client.stopWorkflow('e2e-stop', { strategy: 'Stop', message: 'user asked' });
      const again = await client.stopWorkflow('e2e-stop', { strategy: 'Stop' });
      const completed = client.stopWorkflow('e2e-stop-done', { strategy: 'Terminate' });

      expect(stopped).toMatchObject({
        phase: 'Failed',
        shutdown: 'Stop',
        message: 'user asked',
        etag: '2',
        nodes: {
          a: { phase: 'Failed', message: "Stopped with strategy 'Stop'" },
          b: { phase: 'Succeeded' },
        },
      });
      expect(again).toMatchObject({ etag: '2', shutdown: 'Stop' });
      await expect(completed).rejects.toBeInstanceOf(ConflictError);
    });

    it('DELETE answers 204, then the workflow is gone', async () => {
      await client.putWorkflow('e2e-delete', { namespace: 'argo', name: 'delete', nodes: {} });

      const deleted = await raw(baseUrl, 'DELETE', '/v1/workflows/e2e-delete');

      expect(deleted.status).toBe(204);
      expect(deleted.raw.length).toBe(0);
      await expect(client.getWorkflow('e2e-delete')).rejects.toBeInstanceOf(NotFoundError);
      await expect(client.deleteWorkflow('e2e-delete')).rejects.toBeInstanceOf(NotFoundError);
      await expect(client.listVersions('e2e-delete')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('lists a namespace page by page, over more items than one page', async () => {
      const uids = Array.from({ length: 23 }, (_, index) => `e2e-list-${String(index).padStart(2, '0')}`);
      await Promise.all(
        uids.map((uid) => client.putWorkflow(uid, { namespace: 'paging', name: uid, nodes: {} })),
      );

      const first = await client.listWorkflows('paging', { limit: 10 });
      const all: string[] = [];
      for await (const workflow of client.iterateWorkflows('paging', { limit: 10 })) all.push(workflow.uid);
      const defaults = await client.listWorkflows('paging');

      expect(first.items).toHaveLength(10);
      expect(first.next).toEqual(expect.any(String));
      expect(first.items[0]).toMatchObject({ namespace: 'paging', resourceVersion: '1' });
      expect(all.sort()).toEqual(uids);
      expect(defaults.items).toHaveLength(23);
      expect(defaults.next).toBeUndefined();
    });
  });

  describe('correlation ids', () => {
    it('echoes each caller its own x-correlation-id, also under concurrency', async () => {
      const ids = Array.from({ length: 20 }, (_, index) => `corr-${index}`);

      const responses = await Promise.all(
        ids.map((id) =>
          raw(baseUrl, 'GET', `/v1/workflows/e2e-nobody-${id}`, { headers: { 'x-correlation-id': id } }),
        ),
      );

      expect(responses.map((response) => response.headers['x-correlation-id'])).toEqual(ids);
    });
  });

  describe('conflicts and re-apply', () => {
    it('answers a stale If-Match with 409 and the current state', async () => {
      await client.putWorkflow('e2e-cas', { namespace: 'argo', name: 'cas', nodes: { a: running('a') } });
      await client.patchNodes('e2e-cas', { set: { a: running('a', { phase: 'Succeeded' }) } });

      const stale = await raw(baseUrl, 'PATCH', '/v1/workflows/e2e-cas/nodes', {
        headers: { ...json, 'if-match': '"1"' },
        body: JSON.stringify({ set: { b: running('b') } }),
      });

      expect(stale.status).toBe(409);
      expect(stale.json).toEqual({
        error: 'Conflict',
        message: expect.any(String),
        current: { resourceVersion: '2', nodeStatusVersion: expect.any(String) },
      });
    });

    it('answers a retried PATCH whose first attempt committed with its own result, and only that', async () => {
      await client.putWorkflow('e2e-patch-retry', {
        namespace: 'argo',
        name: 'retry',
        nodes: { a: running('a'), b: running('b') },
      });
      const request = {
        headers: { ...json, 'if-match': '"1"' },
        body: JSON.stringify({ set: { a: running('a', { phase: 'Succeeded' }) }, phase: 'Running' }),
      };

      const first = await raw(baseUrl, 'PATCH', '/v1/workflows/e2e-patch-retry/nodes', request);
      // The answer was lost on the way: the controller sends the same request again.
      const retried = await raw(baseUrl, 'PATCH', '/v1/workflows/e2e-patch-retry/nodes', request);
      const otherDelta = await raw(baseUrl, 'PATCH', '/v1/workflows/e2e-patch-retry/nodes', {
        headers: { ...json, 'if-match': '"1"' },
        body: JSON.stringify({ set: { b: running('b', { phase: 'Succeeded' }) } }),
      });

      expect(first.status).toBe(200);
      expect(first.headers.etag).toBe('"2"');
      expect(retried.status).toBe(200);
      expect(retried.headers.etag).toBe('"2"');
      expect(retried.json).toMatchObject({
        resourceVersion: '2',
        nodeStatusVersion: (first.json as { nodeStatusVersion: string }).nodeStatusVersion,
        write: { chunksWritten: 0, writeUnits: 0 },
      });
      expect(otherDelta.status).toBe(409);
      expect((await client.getWorkflow('e2e-patch-retry')).resourceVersion).toBe('2');
    });

    it('keeps a retried PATCH a conflict once another writer has committed after it', async () => {
      await client.putWorkflow('e2e-patch-retry-2', {
        namespace: 'argo',
        name: 'retry',
        nodes: { a: running('a'), b: running('b') },
      });
      const request = {
        headers: { ...json, 'if-match': '"1"' },
        body: JSON.stringify({ set: { a: running('a', { phase: 'Succeeded' }) } }),
      };
      await raw(baseUrl, 'PATCH', '/v1/workflows/e2e-patch-retry-2/nodes', request);
      await client.patchNodes('e2e-patch-retry-2', { set: { c: running('c') } });

      const retried = await raw(baseUrl, 'PATCH', '/v1/workflows/e2e-patch-retry-2/nodes', request);

      expect(retried.status).toBe(409);
      expect(retried.json).toMatchObject({ error: 'Conflict', current: { resourceVersion: '3' } });
    });

    it('re-applies a stale full map with onConflict=reapply and baseVersion; terminal phases stay', async () => {
      const base = await client.putWorkflow('e2e-reapply', {
        namespace: 'argo',
        name: 'reapply',
        nodes: { a: running('a'), b: running('b') },
      });
      // The controller's view is stale: meanwhile node a succeeded.
      await client.patchNodes('e2e-reapply', { set: { a: running('a', { phase: 'Succeeded' }) } });
      const controllerView = {
        namespace: 'argo',
        name: 'reapply',
        baseVersion: base.nodeStatusVersion,
        nodes: { a: running('a', { note: 'still running here' }), b: running('b', { phase: 'Succeeded' }) },
      };

      const conflict = client.putWorkflow('e2e-reapply', controllerView, { ifMatch: `"${base.etag}"` });
      await expect(conflict).rejects.toBeInstanceOf(ConflictError);
      const reapplied = await client.putWorkflow('e2e-reapply', controllerView, {
        ifMatch: `"${base.etag}"`,
        onConflict: 'reapply',
      });
      const after = await client.getWorkflow('e2e-reapply');

      expect(reapplied.etag).toBe('3');
      expect(after.nodes.a?.phase).toBe('Succeeded');
      expect(after.nodes.b?.phase).toBe('Succeeded');
    });

    it('re-applies a stale delta with onConflict=reapply; a stopped workflow stays stopped', async () => {
      const created = await client.putWorkflow('e2e-reapply-stop', {
        namespace: 'argo',
        name: 'reapply',
        nodes: { a: running('a') },
      });
      await client.stopWorkflow('e2e-reapply-stop', { strategy: 'Terminate' });

      const reapplied = await client.patchNodes(
        'e2e-reapply-stop',
        { set: { a: running('a'), c: running('c') } },
        { ifMatch: `"${created.etag}"`, onConflict: 'reapply' },
      );
      const after = await client.getWorkflow('e2e-reapply-stop');

      expect(reapplied.shutdown).toBe('Terminate');
      expect(after.nodes.a?.phase).toBe('Failed');
      expect(after.nodes.c?.phase).toBe('Failed');
    });

    it('answers If-None-Match: * on an existing workflow with 409', async () => {
      await client.putWorkflow(
        'e2e-create-only',
        { namespace: 'argo', name: 'x', nodes: {} },
        { ifNoneMatch: '*' },
      );

      const again = client.putWorkflow(
        'e2e-create-only',
        { namespace: 'argo', name: 'x', nodes: { a: running('a') } },
        { ifNoneMatch: '*' },
      );

      await expect(again).rejects.toMatchObject({ status: 409, current: { resourceVersion: '1' } });
    });

    it('accepts a weak If-Match', async () => {
      await client.putWorkflow('e2e-weak', { namespace: 'argo', name: 'x', nodes: {} });

      const patched = await raw(baseUrl, 'PATCH', '/v1/workflows/e2e-weak/nodes', {
        headers: { ...json, 'if-match': 'W/"1"' },
        body: JSON.stringify({ set: { a: running('a') } }),
      });

      expect(patched.status).toBe(200);
      expect(patched.headers.etag).toBe('"2"');
    });
  });

  describe('events', () => {
    it('stops, updates and deletes through POST /events', async () => {
      await client.putWorkflow('e2e-events', {
        namespace: 'argo',
        name: 'events',
        nodes: { a: running('a') },
      });

      const update = await client.putEvents([
        {
          Source: eventSource,
          DetailType: 'Workflow Nodes Updated',
          Detail: { uid: 'e2e-events', set: { b: running('b') } },
        },
      ]);
      const stop = await client.putEvents([
        {
          Source: eventSource,
          DetailType: 'Workflow Stop Requested',
          Detail: { uid: 'e2e-events', strategy: 'Stop' },
        },
      ]);
      const stopped = await client.getWorkflow('e2e-events');
      const deleted = await client.putEvents([
        { Source: eventSource, DetailType: 'Workflow Deleted', Detail: { uid: 'e2e-events' } },
        { Source: eventSource, DetailType: 'Workflow Deleted', Detail: { uid: 'e2e-events' } },
      ]);

      expect(update).toEqual({ FailedEntryCount: 0, Entries: [{ EventId: expect.any(String) }] });
      expect(stop).toEqual({ FailedEntryCount: 0, Entries: [{ EventId: expect.any(String) }] });
      expect(stopped).toMatchObject({
        shutdown: 'Stop',
        phase: 'Failed',
        nodes: { a: { phase: 'Failed' }, b: { phase: 'Failed' } },
      });
      expect(deleted.FailedEntryCount).toBe(0);
      await expect(client.getWorkflow('e2e-events')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('reports entries that match no rule or carry an invalid detail as failed', async () => {
      const result = await client.putEvents([
        { Source: 'someone-else', DetailType: 'Workflow Deleted', Detail: { uid: 'x' } },
        { Source: eventSource, DetailType: 'Workflow Renamed', Detail: { uid: 'x' } },
        {
          Source: eventSource,
          DetailType: 'Workflow Stop Requested',
          Detail: { uid: 'x', strategy: 'Pause' },
        },
        { Source: eventSource, DetailType: 'Workflow Deleted', Detail: '{not json' },
        { Source: eventSource, DetailType: 'Workflow Deleted', Detail: { uid: 'e2e-nobody' } },
      ]);

      expect(result.FailedEntryCount).toBe(3);
      expect(result.Entries?.map((entry) => entry.ErrorCode)).toEqual([
        // Any source is accepted by default; deleting an absent workflow succeeds.
        undefined,
        'NoMatchingRule',
        'BadRequest',
        'MalformedDetail',
        undefined,
      ]);
    });

    it("routes a real producer's events (source argo.workflows) by detail-type", async () => {
      await client.putWorkflow('e2e-argo-events', {
        namespace: 'argo',
        name: 'a',
        nodes: { a: running('a') },
      });

      const result = await client.putEvents([
        {
          Source: 'argo.workflows',
          DetailType: 'Workflow Nodes Updated',
          Detail: { uid: 'e2e-argo-events', set: { b: running('b') }, phase: 'Running' },
        },
        {
          Source: 'argo.workflows',
          DetailType: 'Workflow Stop Requested',
          Detail: { uid: 'e2e-argo-events', strategy: 'Terminate' },
        },
      ]);
      const after = await client.getWorkflow('e2e-argo-events');

      expect(result).toEqual({
        FailedEntryCount: 0,
        Entries: [{ EventId: expect.any(String) }, { EventId: expect.any(String) }],
      });
      expect(after).toMatchObject({ shutdown: 'Terminate', nodes: { b: { phase: 'Failed' } } });
    });

    it('answers a body that is not PutEvents with 400', async () => {
      const response = await raw(baseUrl, 'POST', '/events', { headers: json, body: '{"entries":[]}' });

      expect(response.status).toBe(400);
      expect(response.json).toMatchObject({ error: 'BadRequest' });
    });
  });

  describe('workflow phase', () => {
    const phaseRule = /Pending, Running, Succeeded, Failed, Error/;

    it("refuses a PUT, a PATCH, a re-apply and an event whose phase is not Argo's, and stores nothing", async () => {
      const created = await client.putWorkflow('e2e-phase', {
        namespace: 'argo',
        name: 'phase',
        phase: 'Running',
        nodes: { a: running('a') },
      });
      await client.patchNodes('e2e-phase', { set: { b: running('b') } });
      const before = await client.getWorkflow('e2e-phase');

      const put = await raw(baseUrl, 'PUT', '/v1/workflows/e2e-phase', {
        headers: json,
        body: JSON.stringify({ namespace: 'argo', name: 'phase', phase: 'Nope', nodes: {} }),
      });
      const patch = await raw(baseUrl, 'PATCH', '/v1/workflows/e2e-phase/nodes', {
        headers: json,
        body: JSON.stringify({ phase: 'Nope' }),
      });
      const reapply = await raw(baseUrl, 'PUT', '/v1/workflows/e2e-phase?onConflict=reapply', {
        headers: { ...json, 'if-match': `"${created.etag}"` },
        body: JSON.stringify({
          namespace: 'argo',
          name: 'phase',
          phase: 'Nope',
          baseVersion: created.nodeStatusVersion,
          nodes: { a: running('a') },
        }),
      });
      const event = await client.putEvents([
        {
          Source: 'argo.workflows',
          DetailType: 'Workflow Nodes Updated',
          Detail: { uid: 'e2e-phase', phase: 'Nope' },
        },
      ]);
      const after = await client.getWorkflow('e2e-phase');

      for (const response of [put, patch, reapply]) {
        expect(response.status).toBe(400);
        expect(response.json).toMatchObject({
          error: 'BadRequest',
          message: expect.stringMatching(phaseRule),
        });
      }
      expect(event.Entries?.[0]).toMatchObject({
        ErrorCode: 'BadRequest',
        ErrorMessage: expect.stringMatching(phaseRule),
      });
      expect(after).toEqual(before);
    });

    it('accepts every WorkflowPhase, and an empty phase as leaving the phase as it is', async () => {
      await client.putWorkflow('e2e-phase-ok', { namespace: 'argo', name: 'p', phase: 'Pending', nodes: {} });
      const phases: string[] = [];
      for (const phase of ['Running', 'Succeeded', 'Failed', 'Error', 'Pending']) {
        phases.push((await client.patchNodes('e2e-phase-ok', { phase })).phase);
      }

      const empty = await raw(baseUrl, 'PATCH', '/v1/workflows/e2e-phase-ok/nodes', {
        headers: json,
        body: JSON.stringify({ phase: '' }),
      });

      expect(phases).toEqual(['Running', 'Succeeded', 'Failed', 'Error', 'Pending']);
      expect(empty.status).toBe(200);
      expect(empty.json).toMatchObject({ phase: 'Pending', resourceVersion: '6' });
    });
  });

  describe('error codes', () => {
    const putBody = JSON.stringify({ namespace: 'argo', name: 'x', nodes: {} });

    it.each([
      ['malformed JSON', 'PUT', '/v1/workflows/e2e-err', { ...json }, '{"namespace":', /not valid JSON/],
      ['a uid with invalid characters', 'PUT', '/v1/workflows/bad%20uid', json, putBody, /uid/],
      ['a uid that is too long', 'GET', `/v1/workflows/${'x'.repeat(129)}`, {}, undefined, /uid/],
      [
        'a namespace that is not a DNS label',
        'GET',
        '/v1/namespaces/Not_DNS/workflows',
        {},
        undefined,
        /namespace/,
      ],
      ['a limit of 0', 'GET', '/v1/namespaces/argo/workflows?limit=0', {}, undefined, /limit/],
      ['a limit over 1000', 'GET', '/v1/namespaces/argo/workflows?limit=1001', {}, undefined, /limit/],
      [
        'a list in If-Match',
        'PUT',
        '/v1/workflows/e2e-err',
        { ...json, 'if-match': '"1", "2"' },
        putBody,
        /If-Match/,
      ],
      [
        'a malformed If-Match',
        'PUT',
        '/v1/workflows/e2e-err',
        { ...json, 'if-match': '"1' },
        putBody,
        /If-Match/,
      ],
      ['a stop without strategy', 'POST', '/v1/workflows/e2e-err/stop', json, '{}', /strategy/],
      [
        'reapply without baseVersion',
        'PUT',
        '/v1/workflows/e2e-put?onConflict=reapply',
        { ...json, 'if-match': '"1"' },
        putBody,
        /baseVersion/,
      ],
    ])('400 for %s', async (_case, method, path, headers, body, message) => {
      const response = await raw(baseUrl, method, path, { headers, body });

      expect(response.status).toBe(400);
      expect(response.json).toEqual({ error: 'BadRequest', message: expect.stringMatching(message) });
    });

    it('400 for a corrupt gzip body', async () => {
      const response = await raw(baseUrl, 'PUT', '/v1/workflows/e2e-err', {
        headers: { ...json, 'content-encoding': 'gzip' },
        body: Buffer.from('this is not gzip'),
      });

      expect(response.status).toBe(400);
      expect(response.json).toMatchObject({ error: 'BadRequest', message: expect.stringMatching(/gzip/) });
    });

    it('404 for an unknown workflow, an unknown version, an unknown route, and a method the path does not allow', async () => {
      const workflow = await raw(baseUrl, 'GET', '/v1/workflows/e2e-nobody');
      const version = await raw(baseUrl, 'GET', `/v1/workflows/e2e-put/versions/${'0'.repeat(64)}`);
      const route = await raw(baseUrl, 'GET', '/v2/whatever');
      const method = await raw(baseUrl, 'POST', '/v1/workflows/e2e-put');

      for (const response of [workflow, version, route, method]) {
        expect(response.status).toBe(404);
        expect(response.json).toEqual({ error: 'NotFound', message: expect.any(String) });
      }
      expect((method.json as { message: string }).message).toMatch(/PUT.*GET.*DELETE|allows/);
    });

    it('415 for a body that is not JSON and for an encoding other than gzip', async () => {
      const text = await raw(baseUrl, 'PUT', '/v1/workflows/e2e-err', {
        headers: { 'content-type': 'text/plain' },
        body: putBody,
      });
      const brotli = await raw(baseUrl, 'PUT', '/v1/workflows/e2e-err', {
        headers: { ...json, 'content-encoding': 'br' },
        body: Buffer.from([1, 2, 3]),
      });

      expect(text.status).toBe(415);
      expect(text.json).toMatchObject({ error: 'UnsupportedMediaType' });
      expect(brotli.status).toBe(415);
    });

    it('413 for a body over the limit, plain or as a gzip bomb', async () => {
      const tooLarge = Buffer.alloc(maxBodyBytes + 1024, 0x20);
      const bomb = gzipSync(Buffer.alloc(maxBodyBytes * 2, 0x20));
      expect(bomb.length).toBeLessThan(1024 * 1024);

      const plain = await raw(baseUrl, 'PUT', '/v1/workflows/e2e-err', { headers: json, body: tooLarge });
      const gzipped = await raw(baseUrl, 'PUT', '/v1/workflows/e2e-err', {
        headers: { ...json, 'content-encoding': 'gzip' },
        body: bomb,
      });
      const health = await client.health();

      expect(plain.status).toBe(413);
      expect(plain.json).toMatchObject({ error: 'PayloadTooLarge' });
      expect(gzipped.status).toBe(413);
      expect(gzipped.json).toMatchObject({ error: 'PayloadTooLarge' });
      expect(health.status).toBe('ok');
    });
  });

  describe('gzip', () => {
    it('reads a gzip request body and gzips a large response only when asked', async () => {
      const nodes = argoNodes('e2e-gzip', 40);
      const body = gzipSync(JSON.stringify({ namespace: 'argo', name: 'gzip', nodes }));

      const put = await raw(baseUrl, 'PUT', '/v1/workflows/e2e-gzip', {
        headers: { ...json, 'content-encoding': 'gzip' },
        body,
      });
      const gzipped = await raw(baseUrl, 'GET', '/v1/workflows/e2e-gzip', {
        headers: { 'accept-encoding': 'gzip' },
      });
      const plain = await raw(baseUrl, 'GET', '/v1/workflows/e2e-gzip');

      expect(put.status).toBe(201);
      expect(gzipped.headers['content-encoding']).toBe('gzip');
      expect(gzipped.headers.vary).toMatch(/accept-encoding/i);
      expect(gzipped.raw.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      expect((gzipped.json as { nodes: NodeMap }).nodes).toEqual(nodes);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.json).toEqual(gzipped.json);
    });

    it('sends a small response as is, even when gzip is accepted', async () => {
      const health = await raw(baseUrl, 'GET', '/healthz', { headers: { 'accept-encoding': 'gzip' } });

      expect(health.headers['content-encoding']).toBeUndefined();
      expect(health.json).toEqual({ status: 'ok' });
    });
  });

  describe('a 50,000-node workflow', () => {
    it('round-trips exactly: PUT as gzip, then GET; a small PATCH rewrites few chunks', async () => {
      const nodes = generateNodes({ nodeCount: 50_000, seed: 50_000, workflowName: 'e2e-big' }) as NodeMap;
      const size = Buffer.byteLength(JSON.stringify(nodes));
      expect(size / 50_000).toBeGreaterThan(300);
      const changedIds = Object.keys(nodes).slice(-10);
      const set = Object.fromEntries(
        changedIds.map((id) => [id, { ...nodes[id], phase: 'Failed', message: 'e2e changed it' }]),
      );

      const created = await client.putWorkflow('e2e-big', { namespace: 'argo', name: 'big', nodes });
      const workflow = await client.getWorkflow('e2e-big');
      const patched = await client.patchNodes('e2e-big', { set });
      const after = await client.getWorkflow('e2e-big');

      expect(created).toMatchObject({ created: true, nodeCount: 50_000 });
      expect(workflow.nodeCount).toBe(50_000);
      expect(workflow.nodes).toEqual(nodes);
      expect(patched.write.chunksWritten).toBeGreaterThan(0);
      expect(patched.write.chunksWritten).toBeLessThanOrEqual(changedIds.length);
      expect(patched.write.chunksReused).toBeGreaterThan(patched.write.chunksWritten * 4);
      expect(after.nodes).toEqual({ ...nodes, ...set });
    }, 300_000);
  });
});

describe('local runtime renewer', () => {
  let runtime: RunningRuntime;

  beforeAll(async () => {
    // R = 4 s: the renewer runs every max(1 s, R/4) and renews leases below 1.5 R.
    runtime = await startRuntime({
      DYNAMODB_ENDPOINT: dynamodbEndpoint(),
      WFO_TABLE_NAME: `e2e-${randomUUID()}`,
      WFO_RETENTION_SECONDS: '4',
      WFO_ALWAYS_OFFLOAD: 'true',
    });
  });

  afterAll(async () => {
    expect(await runtime?.stop()).toBe(0);
  });

  it('runs on its timer and keeps the current version leased and listed', async () => {
    const client = new WfoClient({ baseUrl: runtime.baseUrl });
    const nodes = argoNodes('e2e-renew', 20);
    const created = await client.putWorkflow('e2e-renew', { namespace: 'argo', name: 'renew', nodes });
    const currentExpiry = async () => {
      const { items } = await client.listVersions('e2e-renew');
      const current = items.find((item) => item.current);
      return current ? Date.parse(current.expiresAt) : undefined;
    };
    const bornExpiry = await currentExpiry();
    expect(runtime.output()).toMatch(/RenewLeases every 1 s/);

    // Generous bound: the lease falls below 1.5 R after 2 s; the renewer looks every second.
    let renewedExpiry = bornExpiry;
    const deadline = Date.now() + 30_000;
    while (renewedExpiry === bornExpiry && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      renewedExpiry = await currentExpiry();
    }
    const workflow = await client.getWorkflow('e2e-renew');

    expect(bornExpiry).toBeDefined();
    expect(renewedExpiry).toBeGreaterThan(bornExpiry as number);
    expect(workflow.nodeStatusVersion).toBe(created.nodeStatusVersion);
    expect(workflow.nodes).toEqual(nodes);
  });
});

describe('local runtime with its database unreachable', () => {
  let runtime: RunningRuntime;

  beforeAll(async () => {
    // A port nobody listens on: every DynamoDB call is refused.
    const closedPort = await findFreePort();
    runtime = await startRuntime({
      DYNAMODB_ENDPOINT: `http://127.0.0.1:${closedPort}`,
      WFO_TABLE_NAME: `e2e-${randomUUID()}`,
    });
  });

  afterAll(async () => {
    expect(await runtime?.stop()).toBe(0);
  });

  it('still answers health checks', async () => {
    const client = new WfoClient({ baseUrl: runtime.baseUrl });

    expect(await client.health()).toEqual({ status: 'ok' });
  });

  it('answers data routes with 503 and Retry-After', async () => {
    const client = new WfoClient({ baseUrl: runtime.baseUrl });

    const read = client.getWorkflow('e2e-unavailable').catch((error: unknown) => error);
    const write = await raw(runtime.baseUrl, 'PUT', '/v1/workflows/e2e-unavailable', {
      headers: json,
      body: JSON.stringify({ namespace: 'argo', name: 'x', nodes: {} }),
    });

    const error = await read;
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error).toMatchObject({ status: 503, retryAfterSeconds: expect.any(Number) });
    expect(write.status).toBe(503);
    expect(write.headers['retry-after']).toMatch(/^\d+$/);
    expect(write.json).toEqual({ error: 'ServiceUnavailable', message: expect.any(String) });
  });
});

describe('local runtime with the accepted event sources narrowed (WFO_ACCEPTED_EVENT_SOURCES)', () => {
  let runtime: RunningRuntime;

  beforeAll(async () => {
    runtime = await startRuntime({
      DYNAMODB_ENDPOINT: dynamodbEndpoint(),
      WFO_TABLE_NAME: `e2e-${randomUUID()}`,
      WFO_ACCEPTED_EVENT_SOURCES: 'argo.workflows, workflow-offload',
    });
  });

  afterAll(async () => {
    expect(await runtime?.stop()).toBe(0);
  });

  it('routes events from the listed sources only', async () => {
    const client = new WfoClient({ baseUrl: runtime.baseUrl });
    await client.putWorkflow('e2e-sources', { namespace: 'argo', name: 's', nodes: { a: running('a') } });

    const result = await client.putEvents([
      { Source: 'someone-else', DetailType: 'Workflow Deleted', Detail: { uid: 'e2e-sources' } },
      { Source: 'argo.workflows', DetailType: 'Workflow Nodes Updated', Detail: { uid: 'e2e-sources' } },
      { Source: eventSource, DetailType: 'Workflow Nodes Updated', Detail: { uid: 'e2e-sources' } },
    ]);

    expect(result.FailedEntryCount).toBe(1);
    expect(result.Entries?.[0]).toEqual({
      ErrorCode: 'NoMatchingRule',
      ErrorMessage: expect.stringContaining("'argo.workflows', 'workflow-offload'"),
    });
    expect(result.Entries?.slice(1)).toEqual([
      { EventId: expect.any(String) },
      { EventId: expect.any(String) },
    ]);
    expect((await client.getWorkflow('e2e-sources')).uid).toBe('e2e-sources');
  });
});

describe('local runtime with a malformed WFO_ACCEPTED_EVENT_SOURCES', () => {
  it('refuses to start, saying what is wrong', async () => {
    const start = startRuntime({
      DYNAMODB_ENDPOINT: dynamodbEndpoint(),
      WFO_TABLE_NAME: `e2e-${randomUUID()}`,
      WFO_ACCEPTED_EVENT_SOURCES: 'argo workflows',
    });

    await expect(start).rejects.toThrow(/exited with 1[\s\S]*WFO_ACCEPTED_EVENT_SOURCES 'argo workflows'/);
  });
});
