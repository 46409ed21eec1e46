/**
 * Fault: at-least-once delivery. EventBridge may deliver an event twice, and
 * a caller whose response was lost retries a request that had already
 * committed. Either way the final state is the one the first delivery made,
 * and the duplicate gets a success, not an error the caller must act on.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { NodeMap } from '#domain/nodes';
import { createTestTable } from '#testkit/table';
import { type Harness, loadHandlers } from './handler-harness.ts';

let harness: Harness;

beforeAll(async () => {
  harness = await loadHandlers(await createTestTable('fault-duplicates'));
});

const nodes = (phase: string, count = 120): NodeMap => {
  const map: NodeMap = {};
  for (let index = 0; index < count; index++) {
    map[`pod-${index}`] = { id: `pod-${index}`, phase, templateName: 'work', detail: `item ${index}` };
  }
  return map;
};

const put = (
  uid: string,
  body: unknown,
  headers: Record<string, string> = {},
  query?: Record<string, string>,
) =>
  harness.http('put-workflow', 'PUT', {
    pathParameters: { uid },
    body,
    headers,
    ...(query ? { query } : {}),
  });
const get = (uid: string) => harness.http('get-workflow', 'GET', { pathParameters: { uid } });
const create = async (uid: string, body: Record<string, unknown> = {}) => {
  const created = await put(uid, { namespace: 'argo', name: uid, nodes: nodes('Running'), ...body });
  expect(created.statusCode).toBe(201);
  return created;
};

describe('a duplicate delivery of an event already applied', () => {
  it('Workflow Nodes Updated twice: applied, then unchanged; the same final state', async () => {
    const uid = 'dup-nodes-updated';
    await create(uid);
    const delta = {
      uid,
      set: { 'pod-3': { id: 'pod-3', phase: 'Succeeded', finishedAt: '2025-01-01T00:00:09Z' } },
    };

    const first = await harness.event('on-nodes-updated', 'Workflow Nodes Updated', delta, 'event-1');
    const afterFirst = await get(uid);
    const second = await harness.event('on-nodes-updated', 'Workflow Nodes Updated', delta, 'event-1');

    expect(first).toEqual({ outcome: 'applied' });
    expect(second).toEqual({ outcome: 'unchanged' });
    expect((await get(uid)).text).toBe(afterFirst.text);
    expect(afterFirst.headers.etag).toBe('"2"');
  });

  it('an old event redelivered after a newer one cannot move a finished node back', async () => {
    const uid = 'dup-out-of-order';
    await create(uid, { nodes: { ...nodes('Running'), 'pod-7': { id: 'pod-7', phase: 'Pending' } } });
    const started = { uid, set: { 'pod-7': { id: 'pod-7', phase: 'Running' } } };
    const finished = { uid, set: { 'pod-7': { id: 'pod-7', phase: 'Succeeded' } } };

    await harness.event('on-nodes-updated', 'Workflow Nodes Updated', started, 'event-started');
    await harness.event('on-nodes-updated', 'Workflow Nodes Updated', finished, 'event-finished');
    const afterBoth = await get(uid);
    const redelivered = await harness.event(
      'on-nodes-updated',
      'Workflow Nodes Updated',
      started,
      'event-started',
    );

    expect(redelivered).toEqual({ outcome: 'unchanged' });
    expect((await get(uid)).text).toBe(afterBoth.text);
    expect((afterBoth.json as { nodes: NodeMap }).nodes['pod-7']).toEqual({
      id: 'pod-7',
      phase: 'Succeeded',
    });
  });

  it('Workflow Stop Requested twice: applied, then unchanged', async () => {
    const uid = 'dup-stop';
    await create(uid);
    const detail = { uid, strategy: 'Stop' };

    const first = await harness.event('on-stop-requested', 'Workflow Stop Requested', detail, 'event-stop');
    const afterFirst = await get(uid);
    const second = await harness.event('on-stop-requested', 'Workflow Stop Requested', detail, 'event-stop');

    expect(first).toEqual({ outcome: 'applied' });
    expect(second).toEqual({ outcome: 'unchanged' });
    expect((await get(uid)).text).toBe(afterFirst.text);
  });

  it('Workflow Deleted twice: applied, then unchanged', async () => {
    const uid = 'dup-delete';
    await create(uid);

    const first = await harness.event('on-workflow-deleted', 'Workflow Deleted', { uid }, 'event-delete');
    const second = await harness.event('on-workflow-deleted', 'Workflow Deleted', { uid }, 'event-delete');

    expect(first).toEqual({ outcome: 'applied' });
    expect(second).toEqual({ outcome: 'unchanged' });
    expect((await get(uid)).statusCode).toBe(404);
  });
});

describe('a retried request that had already committed', () => {
  const body = (uid: string, phase = 'Succeeded') => ({ namespace: 'argo', name: uid, nodes: nodes(phase) });

  /** The retry succeeds with the same resourceVersion, writes nothing, and the stored workflow is byte-identical. */
  async function expectHarmlessRetry(
    uid: string,
    first: Awaited<ReturnType<typeof put>>,
    retry: () => ReturnType<typeof put>,
  ) {
    const afterFirst = await get(uid);
    const retried = await retry();
    expect(retried.statusCode).toBe(200);
    expect(retried.headers.etag).toBe(first.headers.etag);
    expect(retried.json).toMatchObject({
      resourceVersion: (first.json as { resourceVersion: string }).resourceVersion,
      nodeStatusVersion: (first.json as { nodeStatusVersion: string }).nodeStatusVersion,
      write: { chunksWritten: 0, bytesWritten: 0, writeUnits: 0 },
    });
    expect((await get(uid)).text).toBe(afterFirst.text);
  }

  it('PUT without conditions', async () => {
    const uid = 'retry-put';
    await create(uid);
    const first = await put(uid, body(uid));
    expect(first.statusCode).toBe(200);
    await expectHarmlessRetry(uid, first, () => put(uid, body(uid)));
  });

  it('PUT with If-Match: the retry names a resourceVersion its own first attempt moved past, and still gets 200', async () => {
    const uid = 'retry-put-if-match';
    await create(uid);
    const first = await put(uid, body(uid), { 'if-match': '"1"' });
    expect(first.statusCode).toBe(200);
    await expectHarmlessRetry(uid, first, () => put(uid, body(uid), { 'if-match': '"1"' }));
  });

  it('PUT with If-None-Match: * (create only): the retry gets 200, not 409', async () => {
    const uid = 'retry-put-create';
    const first = await put(uid, body(uid), { 'if-none-match': '*' });
    expect(first.statusCode).toBe(201);
    await expectHarmlessRetry(uid, first, () => put(uid, body(uid), { 'if-none-match': '*' }));
  });

  it('PUT with If-Match and onConflict=reapply, first re-applied on a newer state', async () => {
    const uid = 'retry-put-reapply';
    const created = await create(uid);
    const baseVersion = (created.json as { nodeStatusVersion: string }).nodeStatusVersion;
    // Someone else moves the workflow on; our PUT was derived from version 1.
    await harness.http('patch-nodes', 'PATCH', {
      pathParameters: { uid },
      body: { set: { 'pod-0': { id: 'pod-0', phase: 'Failed' } } },
    });
    const mine = {
      ...body(uid, 'Running'),
      nodes: { ...nodes('Running'), 'pod-1': { id: 'pod-1', phase: 'Succeeded' } },
    };
    const send = () => put(uid, { ...mine, baseVersion }, { 'if-match': '"1"' }, { onConflict: 'reapply' });

    const first = await send();

    expect(first.statusCode).toBe(200);
    await expectHarmlessRetry(uid, first, send);
    const stored = ((await get(uid)).json as { nodes: NodeMap }).nodes;
    expect(stored['pod-0']?.phase).toBe('Failed');
    expect(stored['pod-1']?.phase).toBe('Succeeded');
  });

  it('PATCH without If-Match', async () => {
    const uid = 'retry-patch';
    await create(uid);
    const patch = () =>
      harness.http('patch-nodes', 'PATCH', {
        pathParameters: { uid },
        body: { set: { 'pod-2': { id: 'pod-2', phase: 'Succeeded' } }, remove: ['pod-9'] },
      });
    const first = await patch();
    expect(first.statusCode).toBe(200);
    await expectHarmlessRetry(uid, first, patch);
  });

  it('POST stop', async () => {
    const uid = 'retry-stop';
    await create(uid);
    const stop = () =>
      harness.http('stop-workflow', 'POST', { pathParameters: { uid }, body: { strategy: 'Terminate' } });
    const first = await stop();
    const afterFirst = await get(uid);
    const retried = await stop();

    expect(first.statusCode).toBe(200);
    expect(retried.statusCode).toBe(200);
    // The same workflow; only the order of node keys may differ (the first comes from the stop, the retry from storage).
    expect(retried.json).toStrictEqual(first.json);
    expect((await get(uid)).text).toBe(afterFirst.text);
  });

  it('but a retried PUT with If-Match whose first attempt another writer has since superseded is a 409 with the current state', async () => {
    const uid = 'retry-put-superseded';
    await create(uid);
    const first = await put(uid, body(uid), { 'if-match': '"1"' });
    await harness.http('patch-nodes', 'PATCH', {
      pathParameters: { uid },
      body: { set: { 'pod-0': { id: 'pod-0', phase: 'Failed' } } },
    });

    const retried = await put(uid, body(uid), { 'if-match': '"1"' });

    expect(first.statusCode).toBe(200);
    expect(retried.statusCode).toBe(409);
    expect(retried.json).toMatchObject({ error: 'Conflict', current: { resourceVersion: '3' } });
  });
});
