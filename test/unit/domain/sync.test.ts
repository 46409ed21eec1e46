/**
 * The sync operations on the in-memory store: paged reads pinned to one
 * version, reads since a version (checked against a brute-force diff of two
 * hydrated maps, and for what they read), and staged uploads.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketCountFor, bucketOf, defaultCodecOptions } from '#domain/codec';
import { ConflictError, UploadNotFoundError, ValidationError, VersionGoneError } from '#domain/errors';
import { unpackDeltaBuckets } from '#domain/log-codec';
import { MemoryStore } from '#domain/memory-store';
import { type FieldChange, mergeFields, type NodeMap } from '#domain/nodes';
import type { WorkflowStore } from '#domain/store';
import { type ServiceSettings, WorkflowService } from '#domain/workflow-service';
import { generateNodes, mutateNodes } from '#testkit/argo-generator';

const retentionSeconds = 3_600;

function setUp(store: WorkflowStore = new MemoryStore(), settings: Partial<ServiceSettings> = {}) {
  const clock = { now: Date.parse('2026-06-01T00:00:00Z') };
  const service = new WorkflowService(store, {
    retentionSeconds,
    now: () => clock.now,
    sleep: async () => {},
    ...settings,
  });
  return { store, service, clock };
}

/** Versions stored one chunk per bucket (the layout before the log one), for what only it shows. */
const chunkLayout: Partial<ServiceSettings> = { codec: { ...defaultCodecOptions, layout: 'chunks' } };

/** The pages (of `pageBuckets` consecutive buckets) that hold some of `buckets`. */
const pagesOf = (buckets: Iterable<number>) =>
  new Set([...buckets].map((bucket) => Math.floor(bucket / defaultCodecOptions.pageBuckets)));

/**
 * What a read of the change between two versions reads, by layout, for the
 * buckets that changed: in the chunk layout the old and the new chunk of
 * each; in the log layout (both versions on one snapshot) the pages that
 * hold them, once for each version. Nothing else.
 */
const layouts = [
  ['chunks that differ (chunk layout)', chunkLayout, (buckets: Set<number>) => 2 * buckets.size],
  [
    'pages that hold the buckets that differ (log layout)',
    {},
    (buckets: Set<number>) => 2 * pagesOf(buckets).size,
  ],
] as const;

/** Counts the chunks a store is asked for. */
function countingStore() {
  const store = new MemoryStore();
  const counts = { chunksRead: 0 };
  const getChunks = store.getChunks.bind(store);
  store.getChunks = async (uid, refs) => {
    counts.chunksRead += refs.length;
    return getChunks(uid, refs);
  };
  return { store, counts };
}

/** Every page of a read (full or since), each from the version the first one pinned. */
async function readAll(
  service: WorkflowService,
  uid: string,
  options: { since?: string; budgetBytes?: number } = {},
) {
  const nodes: NodeMap = {};
  const set: NodeMap = {};
  const merge: Record<string, FieldChange> = {};
  const remove: string[] = [];
  let first: Awaited<ReturnType<WorkflowService['readNodes']>> | undefined;
  let fromBucket: number | undefined;
  let pages = 0;
  do {
    const page = await service.readNodes({
      uid,
      budgetBytes: options.budgetBytes ?? 4 * 1024 * 1024,
      ...(first ? { version: first.nodeStatusVersion, pinned: true } : {}),
      ...(options.since === undefined ? {} : { since: options.since }),
      ...(fromBucket === undefined ? {} : { fromBucket }),
    });
    first ??= page;
    expect(page.nodeStatusVersion).toBe(first.nodeStatusVersion);
    Object.assign(nodes, page.nodes);
    Object.assign(set, page.change?.set);
    Object.assign(merge, page.change?.merge);
    remove.push(...(page.change?.remove ?? []));
    fromBucket = page.nextBucket;
    pages++;
  } while (fromBucket !== undefined);
  return { first: first as NonNullable<typeof first>, nodes, set, merge, remove, pages };
}

/** `before` with a read-since change applied, as a client applies it. */
function applied(
  before: NodeMap,
  change: { set: NodeMap; merge: Record<string, FieldChange>; remove: string[] },
) {
  // Plainly, as a reader does: the server already applied its rules (sticky phases) when it committed.
  const out = { ...before };
  for (const id of change.remove) delete out[id];
  for (const [id, fields] of Object.entries(change.merge)) out[id] = mergeFields(out[id], fields);
  Object.assign(out, change.set);
  return out;
}

/** The change from `before` to `after`, node by node, the slow obvious way. */
function bruteForceDiff(before: NodeMap, after: NodeMap) {
  const set: NodeMap = {};
  for (const [id, node] of Object.entries(after)) {
    if (JSON.stringify(before[id]) !== JSON.stringify(node)) set[id] = node;
  }
  return {
    set,
    remove: Object.keys(before)
      .filter((id) => !(id in after))
      .sort(),
  };
}

const sortKeys = (nodes: NodeMap) =>
  JSON.parse(
    JSON.stringify(nodes, (_key, value) =>
      value && typeof value === 'object' && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)))
        : value,
    ),
  ) as NodeMap;

describe('paged reads', () => {
  it('returns every node of one version in pages within the budget, all pinned to the first', async () => {
    const { service } = setUp();
    const nodes = generateNodes({ nodeCount: 3_000, seed: 3 }) as NodeMap;
    await service.persist({ uid: 'wf-pages', namespace: 'argo', name: 'p', nodes });

    const { nodes: read, pages } = await readAll(service, 'wf-pages', { budgetBytes: 256 * 1024 });

    expect(pages).toBeGreaterThan(3);
    expect(read).toEqual(nodes);
  });

  it('fills each page of a log version chained on a chunk-layout version up to the budget', async () => {
    const store = new MemoryStore();
    const nodes = generateNodes({ nodeCount: 10_000, seed: 1 }) as NodeMap;
    await setUp(store, chunkLayout).service.persist({ uid: 'wf-mixed', namespace: 'argo', name: 'm', nodes });
    const { service } = setUp(store);
    await service.patch({ uid: 'wf-mixed', set: mutateNodes(nodes, { count: 10, seed: 3 }).set as NodeMap });
    const budgetBytes = 4 * 1024 * 1024;

    const sizes: number[] = [];
    let fromBucket: number | undefined;
    let version: string | undefined;
    do {
      const page = await service.readNodes({
        uid: 'wf-mixed',
        budgetBytes,
        ...(version ? { version, pinned: true } : {}),
        ...(fromBucket === undefined ? {} : { fromBucket }),
      });
      version ??= page.nodeStatusVersion;
      fromBucket = page.nextBucket;
      sizes.push(JSON.stringify(page.nodes).length);
    } while (fromBucket !== undefined);

    // Sized by the chunk-layout base's own ratio of raw to stored bytes: no page cut short.
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThan(0.9 * budgetBytes);
    expect(sizes.every((size) => size <= budgetBytes)).toBe(true);
  });

  it('keeps reading the pinned version after the workflow moved on, and says when it is gone', async () => {
    const { service, store, clock } = setUp();
    const nodes = generateNodes({ nodeCount: 2_000, seed: 4 }) as NodeMap;
    await service.persist({ uid: 'wf-pin', namespace: 'argo', name: 'p', nodes });
    const first = await service.readNodes({ uid: 'wf-pin', budgetBytes: 64 * 1024 });
    await service.patch({ uid: 'wf-pin', set: mutateNodes(nodes, { count: 20, seed: 1 }).set as NodeMap });

    const second = await service.readNodes({
      uid: 'wf-pin',
      version: first.nodeStatusVersion,
      pinned: true,
      fromBucket: first.nextBucket as number,
      budgetBytes: 64 * 1024,
    });
    clock.now += 3 * retentionSeconds * 1000;
    (store as MemoryStore).expire(Math.floor(clock.now / 1000));

    expect(second.nodeStatusVersion).toBe(first.nodeStatusVersion);
    for (const [id, node] of Object.entries(second.nodes ?? {})) expect(node).toEqual(nodes[id]);
    await expect(
      service.readNodes({ uid: 'wf-pin', version: first.nodeStatusVersion, pinned: true, budgetBytes: 1024 }),
    ).rejects.toBeInstanceOf(VersionGoneError);
  });
});

describe('reads since a version', () => {
  it.each(layouts)(
    'returns the node-level change and reads only the %s',
    async (_what, settings, readsOf) => {
      const { store, counts } = countingStore();
      const { service } = setUp(store, settings);
      const nodes = generateNodes({ nodeCount: 10_000, seed: 5 }) as NodeMap;
      const base = await service.persist({ uid: 'wf-since', namespace: 'argo', name: 's', nodes });
      const { set } = mutateNodes(nodes, { count: 10, seed: 2 });
      await service.patch({
        uid: 'wf-since',
        set: set as NodeMap,
        remove: [Object.keys(nodes)[7] as string],
      });
      const after = (await service.getWorkflow('wf-since')).nodes;
      counts.chunksRead = 0;

      const change = await readAll(service, 'wf-since', { since: base.workflow.nodeStatusVersion });
      const expected = bruteForceDiff(sortKeys(nodes), after);
      const touchedBuckets = new Set(
        [...Object.keys(expected.set), ...expected.remove].map((id) => bucketOf(id, bucketCountFor(10_000))),
      );

      expect(sortKeys(applied(sortKeys(nodes), change))).toEqual(sortKeys(after));
      expect([...Object.keys(change.set), ...Object.keys(change.merge)].sort()).toEqual(
        Object.keys(expected.set).sort(),
      );
      expect(Object.keys(change.merge).length).toBeGreaterThan(0);
      expect(change.remove.sort()).toEqual(expected.remove);
      expect(counts.chunksRead).toBe(readsOf(touchedBuckets));
      console.info(
        `read since a version: ${Object.keys(change.set).length} set, ${change.remove.length} removed, ${counts.chunksRead} items read`,
      );
    },
  );

  it.each(layouts)(
    'diffs a 10-node change of 10,000 nodes entry by entry, reading only the %s',
    async (_what, settings, readsOf) => {
      const { store, counts } = countingStore();
      const { service } = setUp(store, settings);
      const nodes = generateNodes({ nodeCount: 10_000, seed: 6 }) as NodeMap;
      await service.persist({ uid: 'wf-diff', namespace: 'argo', name: 'd', nodes });
      const { set } = mutateNodes(nodes, { count: 10, seed: 4 });
      const removed = Object.keys(nodes)[11] as string;
      await service.patch({ uid: 'wf-diff', set: set as NodeMap, remove: [removed] });
      const after = (await service.getWorkflow('wf-diff')).nodes;
      counts.chunksRead = 0;

      const page = await service.diff('wf-diff', {}, 4 * 1024 * 1024);
      const expected = bruteForceDiff(sortKeys(nodes), after);
      const entries = page.change?.entries ?? [];
      const touchedBuckets = new Set(
        [...Object.keys(expected.set), ...expected.remove].map((id) => bucketOf(id, bucketCountFor(10_000))),
      );

      expect(page.nextBucket).toBeUndefined();
      expect(entries.filter((entry) => entry.change === 'removed').map((entry) => entry.id)).toEqual([
        removed,
      ]);
      expect(
        entries
          .filter((entry) => entry.change !== 'removed')
          .map((entry) => entry.id)
          .sort(),
      ).toEqual(Object.keys(expected.set).sort());
      for (const entry of entries.filter((candidate) => candidate.change === 'changed')) {
        const before = nodes[entry.id] as Record<string, unknown>;
        const now = after[entry.id] as Record<string, unknown>;
        expect(entry.phaseBefore).toBe(before.phase);
        expect(entry.phaseAfter).toBe(now.phase);
        const differing = [...new Set([...Object.keys(before), ...Object.keys(now)])]
          .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(now[key]))
          .sort();
        expect(entry.fields).toEqual(differing);
      }
      expect(counts.chunksRead).toBe(readsOf(touchedBuckets));
      console.info(
        `diff of a 10-node change in 10,000 nodes: ${entries.length} entries, ${counts.chunksRead} items read`,
      );
    },
  );

  it('answers 410 for a since-version that expired, and an empty change for the current one', async () => {
    const { service, store, clock } = setUp();
    const first = await service.persist({
      uid: 'wf-gone',
      namespace: 'argo',
      name: 'g',
      nodes: { a: { phase: 'Running' } },
    });
    await service.patch({ uid: 'wf-gone', set: { b: { phase: 'Running' } } });
    const current = await service.getWorkflow('wf-gone');

    const same = await service.readNodes({
      uid: 'wf-gone',
      since: current.nodeStatusVersion,
      budgetBytes: 1024,
    });
    clock.now += 3 * retentionSeconds * 1000;
    await service.renew();
    (store as MemoryStore).expire(Math.floor(clock.now / 1000));

    expect(same.change).toEqual({
      since: current.nodeStatusVersion,
      set: {},
      merge: {},
      remove: [],
      entries: [],
    });
    await expect(
      service.readNodes({ uid: 'wf-gone', since: first.workflow.nodeStatusVersion, budgetBytes: 1024 }),
    ).rejects.toBeInstanceOf(VersionGoneError);
  });

  it('equals a brute-force diff of the two hydrated maps, across re-bucketing too (property)', async () => {
    const id = fc.integer({ min: 0, max: 120 }).map((n) => `n-${n}`);
    const node = fc.record({ phase: fc.constantFrom('Pending', 'Running', 'Succeeded'), size: fc.nat(50) });
    const map = fc.dictionary(id, node, { maxKeys: 120 });
    await fc.assert(
      fc.asyncProperty(map, map, fc.integer({ min: 256, max: 8192 }), async (before, after, budgetBytes) => {
        const { service } = setUp();
        const options = { ...defaultCodecOptions, targetNodesPerBucket: 4 };
        const tiny = new WorkflowService(new MemoryStore(), {
          codec: options,
          alwaysOffload: true,
          sleep: async () => {},
        });
        for (const subject of [service, tiny]) {
          const first = await subject.persist({
            uid: 'wf-p',
            namespace: 'argo',
            name: 'p',
            nodes: before as NodeMap,
          });
          await subject.persist({ uid: 'wf-p', namespace: 'argo', name: 'p', nodes: after as NodeMap });
          const change = await readAll(subject, 'wf-p', {
            since: first.workflow.nodeStatusVersion,
            budgetBytes,
          });
          const expected = bruteForceDiff(sortKeys(before as NodeMap), sortKeys(after as NodeMap));
          expect([...Object.keys(change.set), ...Object.keys(change.merge)].sort()).toEqual(
            Object.keys(expected.set).sort(),
          );
          expect(change.remove.sort()).toEqual(expected.remove);
          expect(sortKeys(applied(sortKeys(before as NodeMap), change))).toEqual(sortKeys(after as NodeMap));
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('staged uploads', () => {
  /** The map's buckets as an upload part wants them. */
  function bucketsOf(nodes: NodeMap, bucketCount: number): Record<string, NodeMap> {
    const buckets: Record<string, NodeMap> = {};
    for (let index = 0; index < bucketCount; index++) buckets[index] = {};
    for (const [id, node] of Object.entries(nodes))
      (buckets[bucketOf(id, bucketCount)] as NodeMap)[id] = node;
    return buckets;
  }

  it('commits a map sent in parts as the version a PUT of it makes, invisible until then', async () => {
    const { service } = setUp();
    const nodes = generateNodes({ nodeCount: 3_000, seed: 9 }) as NodeMap;
    const { upload } = await service.beginUpload({
      uid: 'wf-up',
      namespace: 'argo',
      name: 'u',
      nodeCount: 3_000,
    });
    const buckets = Object.entries(bucketsOf(nodes, upload.bucketCount));
    await service.putUploadPart('wf-up', upload.uploadId, 1, Object.fromEntries(buckets.slice(0, 100)));
    await expect(service.getWorkflow('wf-up')).rejects.toThrow(/does not exist/);
    await service.putUploadPart('wf-up', upload.uploadId, 2, Object.fromEntries(buckets.slice(100)));

    const committed = await service.commitUpload('wf-up', upload.uploadId, {}, { ifNoneMatch: true });
    const again = await service.commitUpload('wf-up', upload.uploadId, {}, { ifNoneMatch: true });
    const reference = await setUp().service.persist({ uid: 'wf-up', namespace: 'argo', name: 'u', nodes });

    expect(committed.created).toBe(true);
    expect(committed.workflow.nodeStatusVersion).toBe(reference.workflow.nodeStatusVersion);
    expect(again.write.writeUnits).toBe(0);
    expect((await service.getWorkflow('wf-up')).nodes).toEqual(nodes);
  });

  it.each([
    ['log', {}],
    ['chunk', chunkLayout],
  ] as const)(
    'takes the buckets not sent from the version the upload began on (%s layout)',
    async (layout, settings) => {
      const { service, store } = setUp(new MemoryStore(), settings);
      const nodes = generateNodes({ nodeCount: 3_000, seed: 10 }) as NodeMap;
      await service.persist({ uid: 'wf-delta-up', namespace: 'argo', name: 'u', nodes });
      const { set } = mutateNodes(nodes, { count: 5, seed: 3 });
      const next = { ...nodes, ...(set as NodeMap) };
      const begun = await service.beginUpload({
        uid: 'wf-delta-up',
        namespace: 'argo',
        name: 'u',
        nodeCount: 3_000,
      });
      const buckets = bucketsOf(next, begun.upload.bucketCount);
      const reference = await setUp().service.persist({
        uid: 'x',
        namespace: 'argo',
        name: 'u',
        nodes: next,
      });
      const changed = Object.keys(buckets).filter(
        (index) => !Object.keys(set).every((id) => bucketOf(id, begun.upload.bucketCount) !== Number(index)),
      );

      await service.putUploadPart(
        'wf-delta-up',
        begun.upload.uploadId,
        1,
        Object.fromEntries(changed.map((index) => [index, buckets[index] as NodeMap])),
      );
      const committed = await service.commitUpload('wf-delta-up', begun.upload.uploadId);

      expect(begun.baseChunkIds).toHaveLength(begun.upload.bucketCount);
      expect(committed.workflow.nodeStatusVersion).toBe(reference.workflow.nodeStatusVersion);
      expect((await service.getWorkflow('wf-delta-up')).nodes).toEqual(next);
      const record = await store.getRecord('wf-delta-up');
      if (layout === 'log') {
        // The upload went on the base's chain as one delta of the buckets it changed.
        const log = record?.log as NonNullable<typeof record>['log'] & {};
        const head = (await store.getLogEntries('wf-delta-up', log.chainStart, log.head, true)).at(-1);
        expect(head?.kind).toBe('delta');
        expect(unpackDeltaBuckets(head?.data as Uint8Array).map((bucket) => String(bucket.index))).toEqual(
          [...changed].sort((a, b) => Number(a) - Number(b)),
        );
        expect(committed.write.chunksWritten).toBe(changed.length);
      } else {
        // The staged chunks became the version as they were.
        expect(record?.log).toBeUndefined();
        expect(committed.write.chunksWritten).toBe(changed.length);
      }
    },
  );

  it('refuses misplaced nodes, a wrong node count and an unknown upload', async () => {
    const { service } = setUp();
    const { upload } = await service.beginUpload({
      uid: 'wf-bad-up',
      namespace: 'argo',
      name: 'u',
      nodeCount: 100,
    });
    const wrongBucket = (bucketOf('a', upload.bucketCount) + 1) % upload.bucketCount;

    await expect(
      service.putUploadPart('wf-bad-up', upload.uploadId, 1, { [wrongBucket]: { a: { phase: 'Running' } } }),
    ).rejects.toThrow(/belongs in bucket/);
    await expect(service.putUploadPart('wf-bad-up', 'no-such', 1, {})).rejects.toBeInstanceOf(
      UploadNotFoundError,
    );
    await service.putUploadPart(
      'wf-bad-up',
      upload.uploadId,
      1,
      bucketsOf({ a: { phase: 'Running' } }, upload.bucketCount),
    );
    await expect(service.commitUpload('wf-bad-up', upload.uploadId)).rejects.toBeInstanceOf(ValidationError);
  });

  it('loses to a stop that commits during the upload, and re-applies on it when asked', async () => {
    const { service } = setUp();
    const nodes: NodeMap = { a: { id: 'a', phase: 'Running' }, b: { id: 'b', phase: 'Running' } };
    const created = await service.persist({ uid: 'wf-race-up', namespace: 'argo', name: 'u', nodes });
    const next: NodeMap = { ...nodes, b: { id: 'b', phase: 'Succeeded' }, c: { id: 'c', phase: 'Running' } };
    const { upload } = await service.beginUpload({
      uid: 'wf-race-up',
      namespace: 'argo',
      name: 'u',
      nodeCount: 3,
    });
    await service.putUploadPart('wf-race-up', upload.uploadId, 1, bucketsOf(next, upload.bucketCount));
    await service.stop({ uid: 'wf-race-up', strategy: 'Stop' });

    await expect(
      service.commitUpload('wf-race-up', upload.uploadId, {}, { ifMatch: '1' }),
    ).rejects.toBeInstanceOf(ConflictError);
    const reapplied = await service.commitUpload(
      'wf-race-up',
      upload.uploadId,
      { baseVersion: created.workflow.nodeStatusVersion },
      { ifMatch: '1', reapply: true },
    );
    const after = await service.getWorkflow('wf-race-up');

    expect(reapplied.workflow.shutdown).toBe('Stop');
    expect(after.nodes.a?.phase).toBe('Failed');
    expect(after.nodes.b?.phase).toBe('Succeeded');
    expect(after.nodes.c?.phase).toBe('Failed');
  });
});

describe('scoped reads and phase counts', () => {
  it('keeps node counts by phase on the record through puts, patches and a stop', async () => {
    const { service } = setUp();
    const nodes = generateNodes({ nodeCount: 3_000, seed: 12 }) as NodeMap;
    const count = (map: NodeMap) => {
      const counts: Record<string, number> = {};
      for (const node of Object.values(map))
        counts[node.phase as string] = (counts[node.phase as string] ?? 0) + 1;
      return counts;
    };
    const put = await service.persist({ uid: 'wf-counts', namespace: 'argo', name: 'c', nodes });
    const { set } = mutateNodes(nodes, { count: 10, seed: 6 });
    const patched = await service.patch({ uid: 'wf-counts', set: set as NodeMap });
    const stopped = await service.stop({ uid: 'wf-counts', strategy: 'Stop' });
    const listed = await service.listWorkflows('argo', 10);

    expect(put.workflow.phaseCounts).toEqual(count(nodes));
    expect(patched.workflow.phaseCounts).toEqual(count({ ...nodes, ...(set as NodeMap) }));
    expect(stopped.workflow.phaseCounts).toEqual(count(stopped.workflow.nodes));
    expect(listed.items[0]?.phaseCounts).toEqual(count(stopped.workflow.nodes));
  });

  it('reads only the buckets that can hold a phase asked for, and every node of it', async () => {
    const { store, counts } = countingStore();
    const { service } = setUp(store);
    const nodes = generateNodes({ nodeCount: 10_000, seed: 13 }) as NodeMap;
    await service.persist({ uid: 'wf-scoped', namespace: 'argo', name: 's', nodes });
    counts.chunksRead = 0;

    const running: NodeMap = {};
    let fromBucket: number | undefined;
    do {
      const page = await service.readNodes({
        uid: 'wf-scoped',
        budgetBytes: 4 * 1024 * 1024,
        filter: { phases: ['Running'], types: ['Pod'] },
        ...(fromBucket === undefined ? {} : { fromBucket }),
      });
      Object.assign(running, page.nodes);
      fromBucket = page.nextBucket;
    } while (fromBucket !== undefined);
    const expected = Object.fromEntries(
      Object.entries(nodes).filter(([, node]) => node.phase === 'Running' && node.type === 'Pod'),
    );

    expect(Object.keys(running).sort()).toEqual(Object.keys(expected).sort());
    expect(counts.chunksRead).toBeGreaterThan(0);
    expect(counts.chunksRead).toBeLessThan(bucketCountFor(10_000));
  });

  it('reads the nodes under one node through their children, not the whole map', async () => {
    const { store, counts } = countingStore();
    const { service } = setUp(store);
    const nodes = generateNodes({ nodeCount: 10_000, seed: 14, workflowName: 'wf' }) as NodeMap;
    await service.persist({ uid: 'wf-under', namespace: 'argo', name: 'wf', nodes });
    // A node with a small subtree: a DAG or Steps node a few levels down.
    const group = Object.values(nodes).find(
      (node) => node.type === 'Retry' && Array.isArray(node.children) && node.children.length >= 2,
    ) as NodeMap[string];
    const expected = new Set<string>();
    const walk = (id: string) => {
      if (expected.has(id) || !nodes[id]) return;
      expected.add(id);
      for (const child of (nodes[id]?.children as string[] | undefined) ?? []) walk(child);
    };
    walk(group.id as string);
    counts.chunksRead = 0;

    const page = await service.readNodes({
      uid: 'wf-under',
      budgetBytes: 4 * 1024 * 1024,
      filter: { under: group.id as string },
    });

    expect(Object.keys(page.nodes ?? {}).sort()).toEqual([...expected].sort());
    expect(counts.chunksRead).toBeLessThanOrEqual(expected.size);
  });
});
