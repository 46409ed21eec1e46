/**
 * Change events end to end, as `npm start` runs them: the runtime in a
 * process of its own polls DynamoDB Local's stream of the records table into
 * the real stream handler, which puts the events on the runtime's bus with
 * the EventBridge SDK; a subscriber (here, the test) reads them from
 * `GET /local/events`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeMap, WfoClient } from '#client/wfo-client';
import { changeEvent } from '#contract/api';
import { generateNodes } from '#testkit/argo-generator';
import { type RuntimeProcess, spawnRuntime } from '#testkit/runtime-process';
import { dynamodbEndpoint } from '#testkit/table';

interface Logged {
  readonly sequence: number;
  readonly id: string;
  readonly source: string;
  readonly detailType: string;
  readonly detail: {
    readonly id: string;
    readonly kind: string;
    readonly uid: string;
    readonly resourceVersion: number;
    readonly fromVersion: string | null;
    readonly toVersion: string | null;
    readonly shutdown?: string;
    readonly changed?: number;
    readonly nodes?: { id: string; change: string; phaseBefore?: string; phaseAfter?: string }[];
    readonly nodesOmitted?: { reason: string; read: string };
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('change events through the local runtime', () => {
  let runtime: RuntimeProcess;
  let client: WfoClient;

  beforeAll(async () => {
    runtime = await spawnRuntime({
      DYNAMODB_ENDPOINT: dynamodbEndpoint(),
      WFO_TABLE_NAME: `events-${randomUUID()}`,
    });
    client = new WfoClient({ baseUrl: runtime.baseUrl });
  });

  afterAll(async () => {
    expect(await runtime?.stop()).toBe(0);
  });

  /** The change events of one workflow, once `count` have arrived (the stream is polled, not instant). */
  async function eventsOf(uid: string, count: number): Promise<Logged[]> {
    let found: Logged[] = [];
    for (let waited = 0; waited < 60_000; waited += 200) {
      const response = await fetch(
        `${runtime.baseUrl}/local/events?detail-type=${encodeURIComponent(changeEvent.detailType)}`,
      );
      const { events } = (await response.json()) as { events: Logged[] };
      found = events.filter((event) => event.detail.uid === uid);
      if (found.length >= count) return found;
      await sleep(200);
    }
    throw new Error(`${found.length} of ${count} change events of ${uid} arrived: ${runtime.output()}`);
  }

  it('publishes create, patch, stop, re-apply and delete over HTTP, in order, each once', {
    timeout: 120_000,
  }, async () => {
    const uid = `wf-${randomUUID()}`;
    const nodes: NodeMap = {
      root: { id: 'root', type: 'DAG', phase: 'Running', children: ['a', 'b'] },
      a: { id: 'a', type: 'Pod', phase: 'Running' },
      b: { id: 'b', type: 'Pod', phase: 'Pending' },
    };
    const created = await client.putWorkflow(uid, { namespace: 'argo', name: 'events', nodes });
    const patched = await client.patchNodes(
      uid,
      { merge: { a: { set: { phase: 'Succeeded' } } } },
      { ifMatch: created.etag },
    );
    // A writer that read the first version: its change is re-applied on top of the patch.
    const reapplied = await client.putWorkflow(
      uid,
      {
        namespace: 'argo',
        name: 'events',
        nodes: { ...nodes, c: { id: 'c', type: 'Pod', phase: 'Running' } },
        baseVersion: created.nodeStatusVersion,
      },
      { ifMatch: created.etag, onConflict: 'reapply' },
    );
    const stopped = await client.stopWorkflow(uid, { strategy: 'Terminate' });
    await client.deleteWorkflow(uid);

    const events = await eventsOf(uid, 5);
    expect(events.map((event) => [event.source, event.detail.kind, event.detail.resourceVersion])).toEqual([
      [changeEvent.source, 'created', Number(created.resourceVersion)],
      [changeEvent.source, 'updated', Number(patched.resourceVersion)],
      [changeEvent.source, 'updated', Number(reapplied.resourceVersion)],
      [changeEvent.source, 'updated', Number(stopped.resourceVersion)],
      [changeEvent.source, 'deleted', Number(stopped.resourceVersion)],
    ]);
    const [create, patch, reapply, stop, remove] = events.map((event) => event.detail);
    expect(create?.nodes?.map((node) => node.id)).toEqual(['a', 'b', 'root']);
    expect(patch?.nodes).toEqual([
      expect.objectContaining({
        id: 'a',
        change: 'changed',
        phaseBefore: 'Running',
        phaseAfter: 'Succeeded',
      }),
    ]);
    expect(reapply?.nodes).toEqual([
      expect.objectContaining({ id: 'c', change: 'added', phaseAfter: 'Running' }),
    ]);
    expect(stop?.shutdown).toBe('Terminate');
    expect(stop?.nodes?.every((node) => node.phaseAfter === 'Failed')).toBe(true);
    expect(remove).toMatchObject({ kind: 'deleted', toVersion: null });
    // Nothing more arrives for it: one event per change.
    await sleep(1_000);
    expect(await eventsOf(uid, 5)).toHaveLength(5);
  });

  it('sends a large first save without its nodes, with the route to read them, which answers', {
    timeout: 120_000,
  }, async () => {
    const uid = `wf-${randomUUID()}`;
    const nodes = generateNodes({ nodeCount: 3_000, seed: 9 }) as NodeMap;
    await client.putWorkflow(uid, { namespace: 'argo', name: 'large', nodes });
    const [event] = await eventsOf(uid, 1);
    expect(event?.detail.nodes).toBeUndefined();
    expect(event?.detail.nodesOmitted?.reason).toBe('tooLarge');
    const read = await fetch(`${runtime.baseUrl}${event?.detail.nodesOmitted?.read}`);
    expect(read.status).toBe(200);
    expect(Object.keys(((await read.json()) as { nodes: NodeMap }).nodes)).toHaveLength(3_000);
  });

  it('lists the bus with a cursor and refuses a bad one with a message', async () => {
    const all = (await (await fetch(`${runtime.baseUrl}/local/events`)).json()) as { last: number };
    const after = (await (await fetch(`${runtime.baseUrl}/local/events?after=${all.last}`)).json()) as {
      events: unknown[];
    };
    expect(after.events).toEqual([]);
    const bad = await fetch(`${runtime.baseUrl}/local/events?after=-1`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/after must be/);
  });
});
