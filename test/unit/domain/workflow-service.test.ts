/**
 * The domain operations on the in-memory adapter of the storage port: fast,
 * no JVM. What only a real DynamoDB shows (conditions under concurrency, TTL,
 * batching, capacity) stays in test/integration/domain on DynamoDB Local.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultCodecOptions, prepareVersion } from '#domain/codec';
import { ConflictError, ValidationError, VersionNotFoundError } from '#domain/errors';
import { unpackDeltaBuckets } from '#domain/log-codec';
import { MemoryStore } from '#domain/memory-store';
import { applyNodeChange, type NodeMap } from '#domain/nodes';
import type { WorkflowStore } from '#domain/store';
import { type ServiceSettings, WorkflowService } from '#domain/workflow-service';
import { generateNodes, loadArgoFixtures, mutateNodes } from '#testkit/argo-generator';
import { interleaveAfter } from '#testkit/interleave';

const retentionSeconds = 3_600;

/** A service on a fresh memory store with a clock the test moves. */
function setUp(settings: Partial<ServiceSettings> = {}, store: WorkflowStore = new MemoryStore()) {
  const clock = { now: Date.parse('2026-06-01T00:00:00Z') };
  const service = new WorkflowService(store, {
    retentionSeconds,
    now: () => clock.now,
    sleep: async () => {},
    alwaysOffload: true,
    ...settings,
  });
  return { store, service, clock };
}

/** Versions stored one chunk per bucket (the layout before the log one), for what only it shows. */
const chunkLayout: Partial<ServiceSettings> = { codec: { ...defaultCodecOptions, layout: 'chunks' } };

const running = (id: string, extra: Record<string, unknown> = {}) => ({ id, phase: 'Running', ...extra });

describe('WorkflowService on the memory store', () => {
  it('round-trips every real Argo fixture, inline and offloaded', async () => {
    for (const alwaysOffload of [false, true]) {
      const { service } = setUp({ alwaysOffload });
      for (const { file, nodes: fixture } of loadArgoFixtures()) {
        const nodes = fixture as NodeMap;
        await service.persist({ uid: file.replace(/\W/g, '-'), namespace: 'argo', name: file, nodes });
        const read = await service.getWorkflow(file.replace(/\W/g, '-'));
        expect(read.nodes, file).toEqual(nodes);
      }
    }
  });

  it('writes nothing when the same map is put again, and only the changed buckets on a small patch', async () => {
    const { service } = setUp();
    const nodes = generateNodes({ nodeCount: 2_000, seed: 7 }) as NodeMap;
    const first = await service.persist({ uid: 'wf-big', namespace: 'argo', name: 'big', nodes });
    const again = await service.persist({ uid: 'wf-big', namespace: 'argo', name: 'big', nodes });
    const { set, changedIds } = mutateNodes(nodes, { count: 3, seed: 1 });

    const patched = await service.patch({ uid: 'wf-big', set: set as NodeMap });
    const read = await service.getWorkflow('wf-big');

    expect(first.write.chunksWritten).toBeGreaterThan(100);
    expect(again.write).toEqual({ chunksWritten: 0, chunksReused: 0, bytesWritten: 0, writeUnits: 0 });
    expect(again.workflow.resourceVersion).toBe(1);
    expect(patched.write.chunksWritten).toBeGreaterThan(0);
    expect(patched.write.chunksWritten).toBeLessThanOrEqual(changedIds.length);
    expect(read.nodes).toEqual({ ...nodes, ...set });
  });

  it('keeps terminal node phases under a patch', async () => {
    const { service } = setUp();
    await service.persist({
      uid: 'wf-sticky',
      namespace: 'argo',
      name: 's',
      nodes: { a: running('a', { phase: 'Succeeded' }), b: running('b') },
    });

    await service.patch({ uid: 'wf-sticky', set: { a: running('a'), b: running('b', { phase: 'Failed' }) } });
    const { nodes } = await service.getWorkflow('wf-sticky');

    expect(nodes.a?.phase).toBe('Succeeded');
    expect(nodes.b?.phase).toBe('Failed');
  });

  it('merges fields into nodes: only the fields named change, terminal phases stay, a missing node is created', async () => {
    const { service } = setUp();
    await service.persist({
      uid: 'wf-merge',
      namespace: 'argo',
      name: 'm',
      nodes: {
        a: running('a', { progress: '0/2', children: ['b'] }),
        b: running('b', { phase: 'Succeeded', finishedAt: '2026-01-01T00:00:00Z' }),
      },
    });

    await service.patch({
      uid: 'wf-merge',
      merge: {
        a: { set: { progress: '1/2' }, unset: ['children'] },
        b: { set: { phase: 'Running' } },
        c: { set: { id: 'c', phase: 'Pending' } },
      },
    });
    const { nodes } = await service.getWorkflow('wf-merge');

    expect(nodes.a).toEqual({ id: 'a', phase: 'Running', progress: '1/2' });
    expect(nodes.b).toEqual({ id: 'b', phase: 'Succeeded', finishedAt: '2026-01-01T00:00:00Z' });
    expect(nodes.c).toEqual({ id: 'c', phase: 'Pending' });
    await expect(
      service.patch({ uid: 'wf-merge', merge: { a: { set: { phase: 'Nope' } } } }),
    ).rejects.toThrow(/unknown phase/);
    await expect(
      service.patch({ uid: 'wf-merge', remove: ['a'], merge: { a: { set: { progress: '2/2' } } } }),
    ).rejects.toThrow(/both merged and set or removed/);
  });

  it('stops once: unfinished nodes fail, a second stop writes nothing, a completed workflow cannot be stopped', async () => {
    const { service } = setUp();
    await service.persist({
      uid: 'wf-stop',
      namespace: 'argo',
      name: 's',
      nodes: { a: running('a'), b: running('b', { phase: 'Succeeded' }) },
    });
    await service.persist({ uid: 'wf-done', namespace: 'argo', name: 'd', phase: 'Succeeded', nodes: {} });

    const stopped = await service.stop({ uid: 'wf-stop', strategy: 'Stop' });
    const again = await service.stop({ uid: 'wf-stop', strategy: 'Terminate' });
    const later = await service.patch({ uid: 'wf-stop', set: { c: running('c') } });

    expect(stopped.changed).toBe(true);
    expect(stopped.workflow).toMatchObject({ phase: 'Failed', shutdown: 'Stop' });
    expect(stopped.workflow.nodes.a).toMatchObject({
      phase: 'Failed',
      message: "Stopped with strategy 'Stop'",
    });
    expect(stopped.workflow.nodes.b?.phase).toBe('Succeeded');
    expect(again.changed).toBe(false);
    expect(again.workflow.shutdown).toBe('Stop');
    expect(later.workflow.shutdown).toBe('Stop');
    expect((await service.getWorkflow('wf-stop')).nodes.c?.phase).toBe('Failed');
    await expect(service.stop({ uid: 'wf-done', strategy: 'Stop' })).rejects.toBeInstanceOf(ConflictError);
  });

  it('re-applies a stale full map on the current state, from its base version', async () => {
    const { service } = setUp();
    const base = await service.persist({
      uid: 'wf-reapply',
      namespace: 'argo',
      name: 'r',
      nodes: { a: running('a'), b: running('b') },
    });
    await service.patch({ uid: 'wf-reapply', set: { a: running('a', { phase: 'Succeeded' }) } });
    const stale = {
      uid: 'wf-reapply',
      namespace: 'argo',
      name: 'r',
      baseVersion: base.workflow.nodeStatusVersion,
      nodes: { a: running('a'), b: running('b', { phase: 'Succeeded' }), c: running('c') },
    };

    await expect(service.persist(stale, { ifMatch: '1' })).rejects.toBeInstanceOf(ConflictError);
    const reapplied = await service.persist(stale, { ifMatch: '1', reapply: true });
    const { nodes } = await service.getWorkflow('wf-reapply');

    expect(reapplied.reapplied).toBe(true);
    expect(nodes).toEqual({
      a: running('a', { phase: 'Succeeded' }),
      b: running('b', { phase: 'Succeeded' }),
      c: running('c'),
    });
  });

  it('recognises a retried create and a retried patch as their own result, and nothing else', async () => {
    const { service } = setUp();
    const input = { uid: 'wf-retry', namespace: 'argo', name: 'r', nodes: { a: running('a') } };
    await service.persist(input, { ifNoneMatch: true });
    const createdAgain = await service.persist(input, { ifNoneMatch: true });
    const delta = { uid: 'wf-retry', set: { a: running('a', { phase: 'Succeeded' }) } };
    await service.patch(delta, { ifMatch: '1' });

    const retried = await service.patch(delta, { ifMatch: '1' });

    expect(createdAgain.write.writeUnits).toBe(0);
    expect(retried.workflow.resourceVersion).toBe(2);
    expect(retried.write.chunksWritten).toBe(0);
    await expect(
      service.persist({ ...input, nodes: { b: running('b') } }, { ifNoneMatch: true }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(
      service.patch({ uid: 'wf-retry', set: { b: running('b') } }, { ifMatch: '1' }),
    ).rejects.toBeInstanceOf(ConflictError);
  });

  it("refuses a workflow phase that is not Argo's, and takes an empty one as no change", async () => {
    const { service } = setUp();
    await service.persist({ uid: 'wf-phase', namespace: 'argo', name: 'p', phase: 'Pending', nodes: {} });

    await expect(service.patch({ uid: 'wf-phase', phase: 'Nope' })).rejects.toBeInstanceOf(ValidationError);
    await expect(
      service.persist({ uid: 'wf-phase', namespace: 'argo', name: 'p', phase: 'Completed', nodes: {} }),
    ).rejects.toThrow(/Pending, Running, Succeeded, Failed, Error/);
    const empty = await service.patch({ uid: 'wf-phase', phase: '' });

    expect(empty.workflow.phase).toBe('Pending');
  });

  it('lists only committed versions: a lost race leaves its history entry out of the list (chunk layout)', async () => {
    const { store, service } = setUp(chunkLayout);
    await service.persist({ uid: 'wf-race', namespace: 'argo', name: 'r', nodes: { a: running('a') } });
    const loser = new WorkflowService(
      interleaveAfter(store, 'putManifest', () =>
        service.patch({ uid: 'wf-race', set: { b: running('b') } }),
      ),
      { retentionSeconds, sleep: async () => {}, alwaysOffload: true, ...chunkLayout },
    );

    const result = await loser.patch({ uid: 'wf-race', set: { c: running('c') } });
    const listed = await service.listVersions('wf-race');
    const entries = await store.listVersions('wf-race', 100);

    expect(result.conflicts).toBe(1);
    expect(entries).toHaveLength(4);
    expect(listed).toHaveLength(3);
    expect(listed[0]).toMatchObject({ nodeStatusVersion: result.workflow.nodeStatusVersion, current: true });
    expect(Object.keys((await service.getWorkflow('wf-race')).nodes).sort()).toEqual(['a', 'b', 'c']);
  });

  it('lists only committed versions: a lost race leaves its log entry out of the list (log layout)', async () => {
    const { store, service } = setUp();
    await service.persist({ uid: 'wf-race', namespace: 'argo', name: 'r', nodes: { a: running('a') } });
    const loser = new WorkflowService(
      interleaveAfter(store, 'putLogEntry', () =>
        service.patch({ uid: 'wf-race', set: { b: running('b') } }),
      ),
      { retentionSeconds, sleep: async () => {}, alwaysOffload: true },
    );

    const result = await loser.patch({ uid: 'wf-race', set: { c: running('c') } });
    const listed = await service.listVersions('wf-race');
    const entries = await store.listLogVersions('wf-race', 100);

    expect(result.conflicts).toBe(1);
    expect(entries).toHaveLength(4);
    expect(listed).toHaveLength(3);
    expect(listed[0]).toMatchObject({ nodeStatusVersion: result.workflow.nodeStatusVersion, current: true });
    expect(Object.keys((await service.getWorkflow('wf-race')).nodes).sort()).toEqual(['a', 'b', 'c']);
  });

  it('keeps a superseded version readable for R, and the current one for as long as the renewer runs', async () => {
    const store = new MemoryStore();
    const { service, clock } = setUp({}, store);
    const first = await service.persist({
      uid: 'wf-ttl',
      namespace: 'argo',
      name: 't',
      nodes: { a: running('a') },
    });
    clock.now += 1_000 * retentionSeconds;
    await service.patch({ uid: 'wf-ttl', set: { a: running('a', { phase: 'Succeeded' }) } });
    const supersededAt = clock.now;

    for (let quarter = 1; quarter <= 16; quarter++) {
      clock.now += (1_000 * retentionSeconds) / 4;
      await service.renew();
      store.expire(Math.floor(clock.now / 1000));
      if (clock.now - supersededAt <= 1_000 * retentionSeconds) {
        await expect(service.getVersion('wf-ttl', first.workflow.nodeStatusVersion)).resolves.toBeDefined();
      }
      expect((await service.getWorkflow('wf-ttl')).nodes.a?.phase).toBe('Succeeded');
    }
    await expect(service.getVersion('wf-ttl', first.workflow.nodeStatusVersion)).rejects.toThrow(/expired/);
  });

  it('in the log layout, reads every version it wrote back by id, with the id a whole PUT gives whatever the key order, and each delta names only the buckets that changed, across chains and folds (property)', async () => {
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8', 'n9'];
    const phase = fc.constantFrom('Pending', 'Running', 'Succeeded', 'Failed');
    const node = (id: string) =>
      fc.record({ phase, note: fc.string({ maxLength: 20 }) }).map((fields) => ({ id, ...fields }));
    const step = fc.record({
      whole: fc.boolean(),
      set: fc.subarray(ids).chain((chosen) => fc.tuple(...chosen.map((id) => node(id)))),
      remove: fc.subarray(ids, { maxLength: 2 }),
    });
    const codec = {
      ...defaultCodecOptions,
      targetNodesPerBucket: 2,
      maxBucketCount: 8,
      compressionLevel: 1,
      pageBuckets: 2,
      maxChainDeltas: 3,
    };
    const seen = { deltas: 0, snapshots: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 10 }), async (steps) => {
        const store = new MemoryStore();
        const { service } = setUp({ alwaysOffload: true, codec }, store);
        const model: NodeMap = { n1: { id: 'n1', phase: 'Running' } };
        await service.persist({ uid: 'wf-log', namespace: 'argo', name: 'l', nodes: model });
        const written: { version: string; nodes: NodeMap }[] = [];
        for (const { whole, set, remove } of steps) {
          const setMap = Object.fromEntries(set.map((entry) => [entry.id, entry]));
          const removed = remove.filter((id) => !(id in setMap));
          const before = prepareVersion(structuredClone(model), codec);
          const headBefore = (await store.getRecord('wf-log'))?.log?.head;
          applyNodeChange(model, { set: setMap, remove: removed });
          const result = whole
            ? await service.persist({
                uid: 'wf-log',
                namespace: 'argo',
                name: 'l',
                nodes: structuredClone(model),
              })
            : await service.patch({ uid: 'wf-log', set: setMap, remove: removed });
          const after = prepareVersion(structuredClone(model), codec);
          expect(result.workflow.nodeStatusVersion).toBe(after.nodeStatusVersion);
          written.push({ version: after.nodeStatusVersion, nodes: structuredClone(model) });
          // The same map with its ids and fields in another order is the same version: nothing to write.
          const reordered = Object.fromEntries(
            Object.entries(model)
              .reverse()
              .map(([id, node]) => [id, Object.fromEntries(Object.entries(node).reverse())]),
          ) as NodeMap;
          const again = await service.persist({
            uid: 'wf-log',
            namespace: 'argo',
            name: 'l',
            nodes: reordered,
          });
          expect(again.workflow.nodeStatusVersion).toBe(after.nodeStatusVersion);
          expect(again.write.writeUnits).toBe(0);

          const record = await store.getRecord('wf-log');
          const head = record?.log
            ? (await store.getLogEntries('wf-log', record.log.chainStart, record.log.head, true)).at(-1)
            : undefined;
          const wroteEntry = head !== undefined && JSON.stringify(head.key) !== JSON.stringify(headBefore);
          if (wroteEntry) seen[head?.kind === 'delta' ? 'deltas' : 'snapshots']++;
          if (wroteEntry && head?.kind === 'delta' && before.bucketCount === after.bucketCount) {
            const changed = after.buckets
              .filter((bucket) => bucket.chunkId !== before.buckets[bucket.index]?.chunkId)
              .map((bucket) => bucket.index);
            expect(unpackDeltaBuckets(head.data).map((bucket) => bucket.index)).toEqual(changed);
          }
        }
        for (const { version, nodes } of written) {
          expect((await service.getVersion('wf-log', version)).nodes).toEqual(nodes);
        }
        expect((await service.getWorkflow('wf-log')).nodes).toEqual(model);
      }),
      { numRuns: 80 },
    );
    // The runs went through both kinds of entry: chains were built and folded.
    expect(seen.deltas).toBeGreaterThan(20);
    expect(seen.snapshots).toBeGreaterThan(20);
  });

  it('in the log layout, writes a change as a delta while it fits its chain, and folds the chain into a snapshot when it is full', async () => {
    const store = new MemoryStore();
    const codec = { ...defaultCodecOptions, maxChainDeltas: 5 };
    const { service } = setUp({ codec }, store);
    const nodes = generateNodes({ nodeCount: 2_000, seed: 21 }) as NodeMap;
    await service.persist({ uid: 'wf-fold', namespace: 'argo', name: 'f', nodes });
    const headKind = async () => {
      const record = await store.getRecord('wf-fold');
      const log = record?.log;
      return log
        ? (await store.getLogEntries('wf-fold', log.chainStart, log.head, true)).at(-1)?.kind
        : undefined;
    };
    const kinds: (string | undefined)[] = [await headKind()];
    let state = nodes;
    for (let round = 0; round < 6; round++) {
      const { set } = mutateNodes(state, { count: 3, seed: round });
      await service.patch({ uid: 'wf-fold', set: set as NodeMap });
      state = { ...state, ...(set as NodeMap) };
      kinds.push(await headKind());
    }
    // A new, incompressible field on every node: its delta alone would be more than a quarter of the snapshot.
    const everything = Object.fromEntries(
      Object.entries(state).map(([id, node]) => [
        id,
        { ...node, digest: createHash('sha256').update(id).digest('hex') },
      ]),
    ) as NodeMap;
    await service.patch({ uid: 'wf-fold', set: everything });
    kinds.push(await headKind());

    expect(kinds).toEqual(['snapshot', 'delta', 'delta', 'delta', 'delta', 'delta', 'snapshot', 'snapshot']);
    expect((await service.getWorkflow('wf-fold')).nodes).toEqual(everything);
  });

  it('in the log layout, finds an earlier version by walking back from chain to chain, and one behind a change of layout among every entry', async () => {
    const store = new MemoryStore();
    let searches = 0;
    const findLogVersion = store.findLogVersion.bind(store);
    store.findLogVersion = (uid, version) => {
      searches++;
      return findLogVersion(uid, version);
    };
    const { service } = setUp({ codec: { ...defaultCodecOptions, maxChainDeltas: 3 } }, store);
    const uid = 'wf-find';
    let state = generateNodes({ nodeCount: 2_000, seed: 5 }) as NodeMap;
    const written: { version: string; nodes: NodeMap }[] = [];
    const next = async (seed: number) => {
      state = { ...state, ...(mutateNodes(state, { count: 3, seed }).set as NodeMap) };
      const { workflow } = await service.persist({ uid, namespace: 'argo', name: 'f', nodes: state });
      written.push({ version: workflow.nodeStatusVersion, nodes: state });
    };
    const readEach = async () => {
      const counts: number[] = [];
      for (const { version, nodes } of written) {
        searches = 0;
        expect((await service.getVersion(uid, version)).nodes, version).toEqual(nodes);
        counts.push(searches);
      }
      return counts;
    };
    for (let seed = 0; seed < 10; seed++) await next(seed);
    const head = (await store.getRecord(uid))?.log?.head as { seq: number; tag: string };
    const snapshots = (await store.getLogEntries(uid, 0, head, true)).filter(
      (entry) => entry.kind === 'snapshot',
    );

    // Ten versions over three chains (a fold after three deltas): each found by walking back.
    const linked = await readEach();
    // Out of the log layout (a small map is kept inline, with its manifest) and back: the
    // new chain has no link to the ones before, so they are found among every entry.
    const small = generateNodes({ nodeCount: 5, seed: 6 }) as NodeMap;
    await setUp({ alwaysOffload: false }, store).service.persist({
      uid,
      namespace: 'argo',
      name: 'f',
      nodes: small,
    });
    const inline = (await store.getRecord(uid))?.nodeStatusVersion as string;
    await next(10);
    const behindTheGap = await readEach();

    expect(snapshots).toHaveLength(3);
    expect(linked).toEqual(Array(10).fill(0));
    expect(behindTheGap).toEqual([...Array(10).fill(1), 0]);
    expect((await service.getVersion(uid, inline)).nodes).toEqual(small);
    await expect(service.getVersion(uid, 'f'.repeat(64))).rejects.toBeInstanceOf(VersionNotFoundError);
  });

  it('ends every sequence of patches in the state a plain replay of them gives (property)', async () => {
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8'];
    const phase = fc.constantFrom('Pending', 'Running', 'Succeeded', 'Failed', 'Omitted');
    const node = (id: string) => fc.record({ phase, size: fc.nat(200) }).map((fields) => ({ id, ...fields }));
    const patch = fc.record({
      set: fc.subarray(ids).chain((chosen) => fc.tuple(...chosen.map((id) => node(id)))),
      remove: fc.subarray(ids, { maxLength: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(patch, { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        async (patches, offload) => {
          const { service } = setUp({
            alwaysOffload: offload,
            codec: {
              ...defaultCodecOptions,
              targetNodesPerBucket: 2,
              maxBucketCount: 8,
              compressionLevel: 1,
            },
          });
          await service.persist({ uid: 'wf-prop', namespace: 'argo', name: 'p', nodes: {} });
          const model: NodeMap = {};
          for (const { set, remove } of patches) {
            const setMap = Object.fromEntries(set.map((entry) => [entry.id, entry]));
            const removed = remove.filter((id) => !(id in setMap));
            await service.patch({ uid: 'wf-prop', set: setMap, remove: removed });
            applyNodeChange(model, { set: setMap, remove: removed });
          }
          expect((await service.getWorkflow('wf-prop')).nodes).toEqual(model);
        },
      ),
      { numRuns: 60 },
    );
  });
});
