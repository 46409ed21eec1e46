import { beforeAll, describe, expect, it } from 'vitest';
import { versionTableNameFor } from '#contract/tables';
import { bucketCountFor, bucketOf, defaultCodecOptions, logCodecName, prepareVersion } from '#domain/codec';
import {
  ConflictError,
  StoreUnavailableError,
  VersionMissingError,
  VersionNotFoundError,
  WorkflowNotFoundError,
} from '#domain/errors';
import { unpackDeltaBuckets, unpackDeltaChange } from '#domain/log-codec';
import { isTerminalNodePhase, type NodeMap } from '#domain/nodes';
import { type ServiceSettings, WorkflowService } from '#domain/workflow-service';
import { DynamoDbStore } from '#store/dynamodb-store';
import { generateNodes, loadArgoFixtures, mutateNodes } from '#testkit/argo-generator';
import { recordCommands, scanTable } from '#testkit/command-log';
import { interleaveAfter } from '#testkit/interleave';
import { ArgoStyleStore } from '#testkit/stores/argo-style-store';
import { createTestTable, type TestTable } from '#testkit/table';

let testTable: TestTable;
let store: DynamoDbStore;

beforeAll(async () => {
  testTable = await createTestTable('service');
  store = new DynamoDbStore(testTable.documentClient, { tableName: testTable.tableName });
});

const serviceOn = (
  target = store as DynamoDbStore | ReturnType<typeof interleaveAfter>,
  settings: Partial<ServiceSettings> = {},
) => new WorkflowService(target, { sleep: async () => {}, ...settings });

/** Versions stored one chunk per bucket with a manifest: the layout before the log one. */
const chunkLayout: Partial<ServiceSettings> = { codec: { ...defaultCodecOptions, layout: 'chunks' } };

let uidCounter = 0;
const nextUid = (label: string) => `${label}-${Date.now()}-${uidCounter++}`;

describe('persist and hydrate', () => {
  it('round-trips every real Argo node status exactly, inline and offloaded', async () => {
    for (const alwaysOffload of [false, true]) {
      const service = serviceOn(store, { alwaysOffload });
      for (const fixture of loadArgoFixtures()) {
        const uid = nextUid('fixture');
        await service.persist({
          uid,
          namespace: 'argo',
          name: fixture.file,
          nodes: fixture.nodes as NodeMap,
        });
        const workflow = await service.getWorkflow(uid);
        expect(workflow.nodes, fixture.file).toStrictEqual(fixture.nodes);
      }
    }
  });

  it('round-trips a 10,000-node workflow deep-equal', async () => {
    const nodes = generateNodes({ nodeCount: 10_000, seed: 1 }) as NodeMap;
    const service = serviceOn();
    const uid = nextUid('large');
    const result = await service.persist({ uid, namespace: 'argo', name: 'large', nodes });
    expect(result.created).toBe(true);
    expect(result.write.chunksWritten).toBeGreaterThan(100);
    const workflow = await service.getWorkflow(uid);
    expect(workflow.nodeCount).toBe(10_000);
    expect(workflow.nodes).toStrictEqual(nodes);
    console.info(
      `10k nodes: raw ${result.rawBytes} B, stored ${result.storedBytes} B in ${result.write.chunksWritten} chunks, ${result.write.writeUnits} write units`,
    );
  });

  it('writes only the chunks holding 10 changed nodes, plus the manifest, its history entry and the record (chunk layout)', async () => {
    const nodes = generateNodes({ nodeCount: 10_000, seed: 2 }) as NodeMap;
    const service = serviceOn(store, chunkLayout);
    const uid = nextUid('delta');
    const first = await service.persist({ uid, namespace: 'argo', name: 'delta', nodes });
    const before = await scanTable(testTable.documentClient, testTable.tableName);
    const { set, changedIds } = mutateNodes(nodes, { count: 10, seed: 3 });
    expect(changedIds.length).toBeGreaterThanOrEqual(10);
    const updated = { ...nodes, ...(set as NodeMap) };

    const sent = recordCommands(testTable.documentClient);
    const second = await service.persist({ uid, namespace: 'argo', name: 'delta', nodes: updated });
    const after = await scanTable(testTable.documentClient, testTable.tableName);

    const newKeys = [...after.keys()].filter((key) => !before.has(key));
    const changedItems = [...after.keys()].filter(
      (key) => before.has(key) && JSON.stringify(before.get(key)) !== JSON.stringify(after.get(key)),
    );
    const newChunks = newKeys.filter((key) => key.includes('|C#'));
    const { bucketOf, bucketCountFor } = await import('#domain/codec');
    const bucketCount = bucketCountFor(10_000);
    const touchedBuckets = new Set(changedIds.map((id) => bucketOf(id, bucketCount)));
    expect(newChunks.length).toBe(touchedBuckets.size);
    expect(newKeys.filter((key) => key.includes('|V#'))).toEqual([
      `WF#${uid}|V#${second.workflow.nodeStatusVersion}`,
    ]);
    expect(newKeys.filter((key) => key.includes('|T#'))).toHaveLength(1);
    expect(newKeys).toHaveLength(newChunks.length + 2);
    expect(changedItems).toEqual([`WF#${uid}|RECORD`]);
    // Nothing else was sent that writes: no deletes, no renewals of reused chunks. The
    // chunks and the history entry go in batches; the (delta) manifest and the record
    // are conditional puts.
    const writes = sent.filter((command) => !/^(Get|BatchGet|Query|Scan)/.test(command.name));
    expect(writes.map((command) => command.name).sort()).toEqual(
      [
        ...Array(Math.ceil(newChunks.length / 25)).fill('BatchWriteItemCommand'),
        'BatchWriteItemCommand',
        'PutItemCommand',
        'PutItemCommand',
      ].sort(),
    );

    const wholeMapBytes = first.storedBytes;
    const deltaBytes = newChunks.reduce(
      (sum, key) => sum + (after.get(key) as { data: Uint8Array }).data.length,
      0,
    );
    console.info(
      `10-node change in 10k: ${newChunks.length} chunks, ${deltaBytes} B of chunk data (${second.write.bytesWritten} B in all items, ${second.write.writeUnits} WCU) vs whole compressed map ${wholeMapBytes} B (${first.write.writeUnits} WCU)`,
    );
    expect(await service.getWorkflow(uid).then((workflow) => workflow.nodes)).toStrictEqual(updated);
  });

  it('patches a delta touching only the affected buckets and reads back the merged map', async () => {
    const nodes = generateNodes({ nodeCount: 2_000, seed: 4 }) as NodeMap;
    const service = serviceOn();
    const uid = nextUid('patch');
    await service.persist({ uid, namespace: 'argo', name: 'patch', nodes });
    const { set, changedIds } = mutateNodes(nodes, { count: 5, seed: 5 });
    const removed = Object.keys(nodes)
      .filter((id) => !changedIds.includes(id))
      .slice(0, 2);
    const result = await service.patch({ uid, set: set as NodeMap, remove: removed });
    const expected = { ...nodes, ...(set as NodeMap) };
    for (const id of removed) delete expected[id];
    const full = await serviceOn().persist({
      uid: nextUid('compare'),
      namespace: 'argo',
      name: 'x',
      nodes: expected,
    });
    expect(result.workflow.nodeStatusVersion).toBe(full.workflow.nodeStatusVersion);
    expect(result.workflow.nodeCount).toBe(2_000 - removed.length);
    expect((await service.getWorkflow(uid)).nodes).toStrictEqual(expected);
    expect(result.write.chunksWritten).toBeLessThanOrEqual(changedIds.length + removed.length);
  });

  it('writes small changes as delta manifests of a full base, and every version stays readable (chunk layout)', async () => {
    const nodes = generateNodes({ nodeCount: 3_000, seed: 9 }) as NodeMap;
    const service = serviceOn(store, chunkLayout);
    const uid = nextUid('deltas');
    const versions = [await service.persist({ uid, namespace: 'argo', name: 'd', nodes })];
    const expected = [structuredClone(nodes)];
    let current = nodes;
    for (let round = 0; round < 12; round++) {
      const { set } = mutateNodes(current, { count: 5, seed: 100 + round });
      versions.push(await service.patch({ uid, set: set as NodeMap }));
      current = { ...current, ...(set as NodeMap) };
      expected.push(structuredClone(current));
    }
    const items = await scanTable(testTable.documentClient, testTable.tableName);
    const manifests = [...items.values()].filter(
      (item) => item.pk === `WF#${uid}` && String(item.sk).startsWith('V#'),
    );
    const deltas = manifests.filter((item) => typeof item.base === 'string');
    expect(deltas.length).toBeGreaterThan(0);
    expect(manifests.length - deltas.length).toBeGreaterThanOrEqual(2);
    for (const delta of deltas) expect(items.has(`WF#${uid}|V#${delta.base}`)).toBe(true);
    for (const [index, version] of versions.entries()) {
      const read = await service.getVersion(uid, version.workflow.nodeStatusVersion);
      expect(read.nodes, `version ${index}`).toStrictEqual(expected[index]);
    }
  });

  it('keeps a full manifest that deltas depend on when its version recurs (chunk layout)', async () => {
    const service = serviceOn(store, chunkLayout);
    const uid = nextUid('recur');
    const mapA = generateNodes({ nodeCount: 3_000, seed: 12 }) as NodeMap;
    const ids = Object.keys(mapA);
    const changed = (from: NodeMap, count: number, mark: string): NodeMap => {
      const out = { ...from };
      for (const id of ids.slice(0, count)) out[id] = { ...(from[id] as object), mark } as NodeMap[string];
      return out;
    };
    const a = await service.persist({ uid, namespace: 'argo', name: 'r', nodes: mapA }); // A: full
    const mapB = changed(mapA, 2, 'b');
    const b = await service.persist({ uid, namespace: 'argo', name: 'r', nodes: mapB }); // B: delta of A
    await service.persist({ uid, namespace: 'argo', name: 'r', nodes: changed(mapA, 2_000, 'x') }); // X: full
    await service.persist({ uid, namespace: 'argo', name: 'r', nodes: changed(mapA, 2, 'r') }); // R: full, near A
    const again = await service.persist({ uid, namespace: 'argo', name: 'r', nodes: mapA }); // A recurs near R

    expect(again.workflow.nodeStatusVersion).toBe(a.workflow.nodeStatusVersion);
    const items = await scanTable(testTable.documentClient, testTable.tableName);
    expect(items.get(`WF#${uid}|V#${b.workflow.nodeStatusVersion}`)?.base).toBe(a.workflow.nodeStatusVersion);
    expect(items.get(`WF#${uid}|V#${a.workflow.nodeStatusVersion}`)?.base).toBeUndefined();
    expect((await service.getVersion(uid, b.workflow.nodeStatusVersion)).nodes).toStrictEqual(mapB);
    expect((await service.getWorkflow(uid)).nodes).toStrictEqual(mapA);
  });

  it('keeps small node maps inline and still serves a superseded inline version by id', async () => {
    const service = serviceOn();
    const uid = nextUid('inline');
    const v1 = await service.persist({
      uid,
      namespace: 'argo',
      name: 'small',
      nodes: { a: { id: 'a', phase: 'Running' } },
    });
    const v2 = await service.persist({
      uid,
      namespace: 'argo',
      name: 'small',
      nodes: { a: { id: 'a', phase: 'Succeeded' } },
    });
    const items = await scanTable(testTable.documentClient, testTable.tableName);
    expect(items.get(`WF#${uid}|RECORD`)?.inline).toBeDefined();
    expect([...items.keys()].filter((key) => key.startsWith(`WF#${uid}|C#`))).toHaveLength(0);
    expect((await service.getVersion(uid, v1.workflow.nodeStatusVersion)).nodes).toEqual({
      a: { id: 'a', phase: 'Running' },
    });
    expect((await service.getWorkflow(uid)).nodeStatusVersion).toBe(v2.workflow.nodeStatusVersion);
  });

  it('offloads whatever the size when always-offload is set', async () => {
    const service = serviceOn(store, { alwaysOffload: true });
    const uid = nextUid('offload');
    await service.persist({ uid, namespace: 'argo', name: 'small', nodes: { a: { id: 'a' } } });
    const items = await scanTable(testTable.documentClient, testTable.tableName);
    expect(items.get(`WF#${uid}|RECORD`)?.inline).toBeUndefined();
    expect([...items.keys()].filter((key) => key.startsWith(`WF#${uid}|C#`))).toHaveLength(1);
  });

  it('raises a typed VersionMissing error, never an empty map, when a chunk is gone', async () => {
    const service = serviceOn(store, { alwaysOffload: true });
    const uid = nextUid('missing');
    await service.persist({
      uid,
      namespace: 'argo',
      name: 'm',
      nodes: generateNodes({ nodeCount: 300, seed: 6 }) as NodeMap,
    });
    const items = await scanTable(testTable.documentClient, testTable.tableName);
    const chunkKey = [...items.values()].find(
      (item) => item.pk === `WF#${uid}` && String(item.sk).startsWith('C#'),
    );
    const { DeleteCommand } = await import('@aws-sdk/lib-dynamodb');
    await testTable.documentClient.send(
      new DeleteCommand({
        TableName: versionTableNameFor(testTable.tableName),
        Key: { pk: chunkKey?.pk, sk: chunkKey?.sk },
      }),
    );
    await expect(service.getWorkflow(uid)).rejects.toBeInstanceOf(VersionMissingError);
  });
});

describe('conditional writes', () => {
  it('rejects a stale If-Match with the current state, and accepts a retried write that already committed', async () => {
    const service = serviceOn();
    const uid = nextUid('cas');
    const created = await service.persist({
      uid,
      namespace: 'argo',
      name: 'c',
      nodes: { a: { id: 'a', phase: 'Pending' } },
    });
    const update = { uid, namespace: 'argo', name: 'c', nodes: { a: { id: 'a', phase: 'Running' } } };
    const first = await service.persist(update, { ifMatch: created.workflow.resourceVersion.toString() });
    const retried = await service.persist(update, { ifMatch: created.workflow.resourceVersion.toString() });
    expect(retried.workflow.resourceVersion).toBe(first.workflow.resourceVersion);
    const stale = service.persist(
      { ...update, nodes: { a: { id: 'a', phase: 'Failed' } } },
      { ifMatch: created.workflow.resourceVersion.toString() },
    );
    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    await expect(stale).rejects.toMatchObject({
      current: { resourceVersion: '2', nodeStatusVersion: first.workflow.nodeStatusVersion },
    });
    await expect(service.persist(update, { ifNoneMatch: true })).resolves.toMatchObject({ created: false });
    await expect(service.persist({ ...update, name: 'other' }, { ifNoneMatch: true })).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  it('re-applies a stale full update on the current state, keeping terminal phases sticky', async () => {
    const service = serviceOn();
    const uid = nextUid('reapply');
    const base = {
      a: { id: 'a', phase: 'Running' },
      b: { id: 'b', phase: 'Running' },
      c: { id: 'c', phase: 'Pending' },
    };
    const v1 = await service.persist({ uid, namespace: 'argo', name: 'r', nodes: base });
    // Another writer finishes a and b.
    await service.patch({
      uid,
      set: { a: { id: 'a', phase: 'Succeeded' }, b: { id: 'b', phase: 'Failed' } },
    });
    // The stale writer, from v1, moves c to Running and rewrites b as Running.
    const stale = {
      ...base,
      b: { id: 'b', phase: 'Running', message: 'stale' },
      c: { id: 'c', phase: 'Running' },
    };
    const result = await service.persist(
      { uid, namespace: 'argo', name: 'r', nodes: stale, baseVersion: v1.workflow.nodeStatusVersion },
      { ifMatch: String(v1.workflow.resourceVersion), reapply: true },
    );
    expect(result.reapplied).toBe(true);
    expect((await service.getWorkflow(uid)).nodes).toEqual({
      a: { id: 'a', phase: 'Succeeded' },
      b: { id: 'b', phase: 'Failed' },
      c: { id: 'c', phase: 'Running' },
    });
  });
});

describe('stop', () => {
  it('stops a workflow: every unfinished node fails with the strategy message, and a second stop changes nothing', async () => {
    const service = serviceOn();
    const uid = nextUid('stop');
    await service.persist({
      uid,
      namespace: 'argo',
      name: 's',
      nodes: {
        a: { id: 'a', phase: 'Succeeded' },
        b: { id: 'b', phase: 'Running' },
        c: { id: 'c', phase: 'Pending' },
      },
    });
    const stopped = await service.stop({ uid, strategy: 'Terminate' });
    expect(stopped.changed).toBe(true);
    expect(stopped.workflow).toMatchObject({ phase: 'Failed', shutdown: 'Terminate' });
    expect(stopped.workflow.nodes.b).toMatchObject({
      phase: 'Failed',
      message: "Stopped with strategy 'Terminate'",
    });
    expect(stopped.workflow.nodes.a).toEqual({ id: 'a', phase: 'Succeeded' });
    const again = await service.stop({ uid, strategy: 'Terminate' });
    expect(again.changed).toBe(false);
    expect(again.workflow.resourceVersion).toBe(stopped.workflow.resourceVersion);
    // Updates after the stop cannot restart a node.
    await service.patch({ uid, set: { b: { id: 'b', phase: 'Running' }, d: { id: 'd', phase: 'Pending' } } });
    const after = await service.getWorkflow(uid);
    expect(Object.values(after.nodes).filter((node) => !isTerminalNodePhase(node.phase))).toEqual([]);
    expect(after.phase).toBe('Failed');
  });

  it('refuses to stop a completed workflow', async () => {
    const service = serviceOn();
    const uid = nextUid('done');
    await service.persist({
      uid,
      namespace: 'argo',
      name: 'd',
      phase: 'Succeeded',
      nodes: { a: { id: 'a', phase: 'Succeeded' } },
    });
    await expect(service.stop({ uid, strategy: 'Stop' })).rejects.toBeInstanceOf(ConflictError);
  });

  describe('the seed race: a stop that loaded v1 while the controller commits v2', () => {
    const raceOn = async (target: DynamoDbStore, settings: Partial<ServiceSettings> = {}) => {
      const controller = serviceOn(target, { alwaysOffload: true, ...settings });
      const uid = nextUid('race');
      const nodes = generateNodes({ nodeCount: 2_000, seed: 7, runningFraction: 0.5 }) as NodeMap;
      await controller.persist({ uid, namespace: 'argo', name: 'race', nodes });
      const { set } = mutateNodes(nodes, { count: 20, seed: 8 });
      let controllerCommitted = '';
      // t0 the stop reads the record (v1); t1 the controller commits v2; t2 the stop hydrates v1 and commits.
      const stopStore = interleaveAfter(target, 'getRecord', async () => {
        const update = await controller.persist({
          uid,
          namespace: 'argo',
          name: 'race',
          nodes: { ...nodes, ...(set as NodeMap) },
        });
        controllerCommitted = update.workflow.nodeStatusVersion;
      });
      const stopper = serviceOn(stopStore, { alwaysOffload: true, ...settings });
      return {
        uid,
        set: set as NodeMap,
        stop: () => stopper.stop({ uid, strategy: 'Stop' }),
        committed: () => controllerCommitted,
        controller,
      };
    };

    it('succeeds on this store: no VersionMissing, the final state is stopped and keeps the controller update', async () => {
      const race = await raceOn(store);
      const result = await race.stop();
      expect(race.committed()).not.toBe('');
      expect(result.conflicts).toBeGreaterThanOrEqual(1);
      const workflow = await race.controller.getWorkflow(race.uid);
      expect(workflow.shutdown).toBe('Stop');
      expect(workflow.phase).toBe('Failed');
      expect(Object.values(workflow.nodes).filter((node) => !isTerminalNodePhase(node.phase))).toEqual([]);
      for (const [id, node] of Object.entries(race.set)) {
        if (isTerminalNodePhase(node.phase)) expect(workflow.nodes[id]).toEqual(node);
      }
    });

    it('fails on a store that deletes old versions on save, as Argo did before its fix', async () => {
      const argoStyle = new ArgoStyleStore(testTable.documentClient, {
        tableName: testTable.tableName,
        versionTtlSeconds: 0,
      });
      // Argo keeps each version whole, in its own row: the chunk layout, where a version is
      // its manifest, is that store's shape (log versions share their chain's items).
      const race = await raceOn(argoStyle, chunkLayout);
      await expect(race.stop()).rejects.toBeInstanceOf(VersionMissingError);
      expect(race.committed()).not.toBe('');
    });
  });
});

async function retryOnUnavailable(write: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError) || attempt >= 5) throw error;
    }
  }
}

describe('concurrent writers', () => {
  it('loses no acknowledged update and never meets a missing version', async () => {
    const writers = 6;
    const rounds = 4;
    const service = serviceOn(store, {
      alwaysOffload: true,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
    const uid = nextUid('concurrent');
    const nodes: NodeMap = {};
    for (let index = 0; index < 600; index++)
      nodes[`n${index}`] = { id: `n${index}`, phase: 'Pending', owner: index % writers };
    await service.persist({ uid, namespace: 'argo', name: 'c', nodes });
    const acknowledged: NodeMap = {};
    const phases = ['Running', 'Succeeded'];
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let round = 0; round < rounds; round++) {
          const id = `n${writer + writers * round}`;
          for (const phase of phases) {
            const node = { id, phase, owner: writer, round };
            // A 503 (contention) tells the caller to retry, as the HTTP client does; only success counts.
            await retryOnUnavailable(async () => {
              if ((writer + round) % 2 === 0) {
                await service.patch({ uid, set: { [id]: node } });
              } else {
                const current = await service.getWorkflow(uid);
                await service.persist(
                  {
                    uid,
                    namespace: 'argo',
                    name: 'c',
                    nodes: { ...current.nodes, [id]: node },
                    baseVersion: current.nodeStatusVersion,
                  },
                  { ifMatch: current.resourceVersion.toString(), reapply: true },
                );
              }
            });
            acknowledged[id] = node;
          }
        }
      }),
    );
    const final = await service.getWorkflow(uid);
    for (const [id, node] of Object.entries(acknowledged)) expect(final.nodes[id], id).toEqual(node);
    expect(final.nodeCount).toBe(600);
    expect(final.resourceVersion).toBe(1 + writers * rounds * phases.length);
  });
});

describe('delete, list and versions', () => {
  it('deletes only the record; the version data stays until TTL', async () => {
    const service = serviceOn(store, { alwaysOffload: true });
    const uid = nextUid('delete');
    const created = await service.persist({ uid, namespace: 'argo', name: 'd', nodes: { a: { id: 'a' } } });
    await service.deleteWorkflow(uid);
    await expect(service.getWorkflow(uid)).rejects.toBeInstanceOf(WorkflowNotFoundError);
    await expect(service.deleteWorkflow(uid)).rejects.toBeInstanceOf(WorkflowNotFoundError);
    const items = await scanTable(testTable.documentClient, testTable.tableName);
    expect(items.has(`WF#${uid}|RECORD`)).toBe(false);
    // Its entry (log layout) or its manifest (chunk layout), and the data behind it.
    const holdsVersion = [...items].filter(
      ([key, item]) =>
        key === `WF#${uid}|V#${created.workflow.nodeStatusVersion}` ||
        (key.startsWith(`WF#${uid}|E#`) && item.nodeStatusVersion === created.workflow.nodeStatusVersion),
    );
    expect(holdsVersion).toHaveLength(1);
    expect([...items.keys()].filter((key) => key.startsWith(`WF#${uid}|C#`))).toHaveLength(1);
  });

  it('lists a namespace page by page', async () => {
    const service = serviceOn();
    const namespace = `list-${uidCounter++}`;
    for (let index = 0; index < 7; index++) {
      await service.persist({ uid: nextUid('l'), namespace, name: `wf-${index}`, nodes: {} });
    }
    await service.persist({ uid: nextUid('other'), namespace: `${namespace}-x`, name: 'x', nodes: {} });
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await service.listWorkflows(namespace, 3, cursor);
      names.push(...page.items.map((item) => item.name));
      cursor = page.next;
      pages++;
    } while (cursor);
    expect(names).toEqual(['wf-0', 'wf-1', 'wf-2', 'wf-3', 'wf-4', 'wf-5', 'wf-6']);
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it('lists versions newest first and serves a past version by id', async () => {
    const service = serviceOn(store, { alwaysOffload: true });
    const uid = nextUid('versions');
    const v1 = await service.persist({
      uid,
      namespace: 'argo',
      name: 'v',
      nodes: { a: { id: 'a', phase: 'Pending' } },
    });
    const v2 = await service.persist({
      uid,
      namespace: 'argo',
      name: 'v',
      nodes: { a: { id: 'a', phase: 'Running' } },
    });
    const versions = await service.listVersions(uid);
    expect(versions.map((version) => [version.nodeStatusVersion, version.current])).toEqual([
      [v2.workflow.nodeStatusVersion, true],
      [v1.workflow.nodeStatusVersion, false],
    ]);
    expect((await service.getVersion(uid, v1.workflow.nodeStatusVersion)).nodes).toEqual({
      a: { id: 'a', phase: 'Pending' },
    });
    await expect(service.getVersion(uid, 'f'.repeat(64))).rejects.toBeInstanceOf(VersionNotFoundError);
  });
});

describe('versions written with an older codec', () => {
  const chunkCodecs = async (uid: string): Promise<Set<string>> => {
    const items = await scanTable(testTable.documentClient, testTable.tableName);
    const codecs = new Set<string>();
    for (const item of items.values()) {
      if (item.pk === `WF#${uid}` && String(item.sk).startsWith('C#')) codecs.add(String(item.codec));
    }
    return codecs;
  };

  it('reads a wfo-bucket-deflate-d1 version back, patches it into one that mixes both codecs, and keeps its ids (chunk layout)', async () => {
    const nodes = generateNodes({ nodeCount: 3000, seed: 12 }) as NodeMap;
    const uid = nextUid('old-codec');
    const old = serviceOn(store, {
      alwaysOffload: true,
      codec: { ...defaultCodecOptions, codec: 'wfo-bucket-deflate-d1', layout: 'chunks' },
    });
    const written = await old.persist({ uid, namespace: 'argo', name: 'old-codec', nodes });
    expect(await chunkCodecs(uid)).toStrictEqual(new Set(['wfo-bucket-deflate-d1']));

    const current = serviceOn(store, { alwaysOffload: true, ...chunkLayout });
    expect(defaultCodecOptions.codec).toBe('wfo-bucket-deflate-d2');
    expect((await current.getWorkflow(uid)).nodes).toStrictEqual(nodes);

    // The version id is a function of the map alone: a writer on the new codec agrees.
    const twin = nextUid('new-codec');
    const twinWritten = await current.persist({ uid: twin, namespace: 'argo', name: 'twin', nodes });
    expect(twinWritten.workflow.nodeStatusVersion).toBe(written.workflow.nodeStatusVersion);
    expect(prepareVersion(nodes).nodeStatusVersion).toBe(written.workflow.nodeStatusVersion);
    expect(await chunkCodecs(twin)).toStrictEqual(new Set(['wfo-bucket-deflate-d2']));

    const state = structuredClone(nodes);
    const { set } = mutateNodes(state, { count: 5, seed: 4 });
    const patched = await current.patch({ uid, set: set as NodeMap });
    const expected = { ...nodes, ...(set as NodeMap) };
    expect((await current.getWorkflow(uid)).nodes).toStrictEqual(expected);
    expect(patched.workflow.nodeStatusVersion).toBe(prepareVersion(expected).nodeStatusVersion);
    expect(await chunkCodecs(uid)).toStrictEqual(new Set(['wfo-bucket-deflate-d1', 'wfo-bucket-deflate-d2']));
    // The old version stays readable within retention, and the patch wrote only the touched buckets.
    expect((await current.getVersion(uid, written.workflow.nodeStatusVersion)).nodes).toStrictEqual(nodes);
    expect(patched.write.chunksWritten).toBeLessThanOrEqual(Object.keys(set).length);
    expect(patched.write.chunksWritten).toBeGreaterThan(0);
  });
});

describe('the log layout', () => {
  const keysOf = async (uid: string) =>
    [...(await scanTable(testTable.documentClient, testTable.tableName)).keys()].filter((key) =>
      key.startsWith(`WF#${uid}|`),
    );

  it('writes a 10-node change of 10,000 nodes as one delta entry holding just those nodes, and the record', async () => {
    const nodes = generateNodes({ nodeCount: 10_000, seed: 2 }) as NodeMap;
    const service = serviceOn();
    const uid = nextUid('log-delta');
    const first = await service.persist({ uid, namespace: 'argo', name: 'delta', nodes });
    const before = await scanTable(testTable.documentClient, testTable.tableName);
    const { set, changedIds } = mutateNodes(nodes, { count: 10, seed: 3 });
    const updated = { ...nodes, ...(set as NodeMap) };

    const sent = recordCommands(testTable.documentClient);
    const second = await service.persist({ uid, namespace: 'argo', name: 'delta', nodes: updated });
    const after = await scanTable(testTable.documentClient, testTable.tableName);

    const newKeys = [...after.keys()].filter((key) => !before.has(key));
    const changedItems = [...after.keys()].filter(
      (key) => before.has(key) && JSON.stringify(before.get(key)) !== JSON.stringify(after.get(key)),
    );
    const entries = newKeys.filter((key) => key.includes('|E#'));
    expect(entries).toHaveLength(1);
    expect((after.get(entries[0] as string) as { nodeStatusVersion: string }).nodeStatusVersion).toBe(
      second.workflow.nodeStatusVersion,
    );
    expect(newKeys).toHaveLength(1);
    expect(changedItems).toEqual([`WF#${uid}|RECORD`]);
    // The entry (one BatchWriteItem), then the record's conditional put: nothing else writes.
    const writes = sent.filter((command) => !/^(Get|BatchGet|Query|Scan)/.test(command.name));
    expect(writes.map((command) => command.name)).toEqual(['BatchWriteItemCommand', 'PutItemCommand']);

    const entry = after.get(entries[0] as string) as { kind: string; data: Uint8Array };
    const change = unpackDeltaChange(entry.data, logCodecName);
    const bucketCount = bucketCountFor(10_000);
    const changedBuckets = new Set(changedIds.map((id) => bucketOf(id, bucketCount)));
    expect(entry.kind).toBe('delta');
    expect([...Object.keys(change.set), ...Object.keys(change.merge ?? {})].sort()).toEqual(
      [...changedIds].sort(),
    );
    expect(new Set(unpackDeltaBuckets(entry.data).map((bucket) => bucket.index))).toEqual(changedBuckets);
    expect(second.write.chunksWritten).toBe(changedBuckets.size);
    console.info(
      `10-node change in 10k, log layout: one ${entry.data.length} B entry (${second.write.bytesWritten} B in all items, ${second.write.writeUnits} WCU) vs the snapshot ${first.storedBytes} B (${first.write.writeUnits} WCU)`,
    );
    expect(await service.getWorkflow(uid).then((workflow) => workflow.nodes)).toStrictEqual(updated);
  });

  it('chains deltas on a snapshot, folds a long chain into a new snapshot, and reads every version back by id', async () => {
    const nodes = generateNodes({ nodeCount: 3_000, seed: 9 }) as NodeMap;
    const service = serviceOn(store, { codec: { ...defaultCodecOptions, maxChainDeltas: 4 } });
    const uid = nextUid('log-chain');
    const versions = [await service.persist({ uid, namespace: 'argo', name: 'd', nodes })];
    const expected = [structuredClone(nodes)];
    let current = nodes;
    for (let round = 0; round < 12; round++) {
      const { set } = mutateNodes(current, { count: 5, seed: 100 + round });
      versions.push(
        round % 3 === 0
          ? await service.persist({
              uid,
              namespace: 'argo',
              name: 'd',
              nodes: { ...current, ...(set as NodeMap) },
            })
          : await service.patch({ uid, set: set as NodeMap }),
      );
      current = { ...current, ...(set as NodeMap) };
      expected.push(structuredClone(current));
    }
    const items = await scanTable(testTable.documentClient, testTable.tableName);
    const entries = [...items.values()].filter(
      (item) => item.pk === `WF#${uid}` && String(item.sk).startsWith('E#'),
    );
    const snapshots = entries.filter((item) => item.kind === 'snapshot');

    // 13 versions in chains of at most 4 deltas: the first snapshot, then a fold every fifth commit.
    expect(entries).toHaveLength(13);
    expect(snapshots).toHaveLength(3);
    for (const entry of entries.filter((item) => item.kind === 'delta')) {
      expect(
        items.has(
          `WF#${uid}|E#${String(entry.parent).replace(/^(\d+)#/, (_, seq) => `${String(seq).padStart(12, '0')}#`)}`,
        ),
      ).toBe(true);
    }
    for (const [index, version] of versions.entries()) {
      expect(version.workflow.nodeStatusVersion).toBe(
        prepareVersion(expected[index] as NodeMap).nodeStatusVersion,
      );
      const read = await service.getVersion(uid, version.workflow.nodeStatusVersion);
      expect(read.nodes, `version ${index}`).toStrictEqual(expected[index]);
    }
    expect((await service.listVersions(uid)).map((version) => version.nodeStatusVersion)).toEqual(
      versions.map((version) => version.workflow.nodeStatusVersion).reverse(),
    );
  });

  it('reads versions of the chunk layout (codecs d1 and d2) back, chains deltas on them, then folds them into pages, keeping every id', async () => {
    const nodes = generateNodes({ nodeCount: 3_000, seed: 12 }) as NodeMap;
    const uid = nextUid('from-chunks');
    const old = serviceOn(store, {
      alwaysOffload: true,
      codec: { ...defaultCodecOptions, codec: 'wfo-bucket-deflate-d1', layout: 'chunks' },
    });
    const written = await old.persist({ uid, namespace: 'argo', name: 'old', nodes });
    const { set: firstSet } = mutateNodes(structuredClone(nodes), { count: 5, seed: 3 });
    const d2 = serviceOn(store, { alwaysOffload: true, ...chunkLayout });
    const oldPatched = await d2.patch({ uid, set: firstSet as NodeMap });
    const oldMap = { ...nodes, ...(firstSet as NodeMap) };
    expect((await keysOf(uid)).filter((key) => key.includes('|E#'))).toEqual([]);

    const current = serviceOn(store, {
      alwaysOffload: true,
      codec: { ...defaultCodecOptions, maxChainDeltas: 2 },
    });
    expect(defaultCodecOptions.layout).toBe('log');
    expect((await current.getWorkflow(uid)).nodes).toStrictEqual(oldMap);
    let map = oldMap;
    const patched = [];
    for (const seed of [4, 5, 6]) {
      const { set } = mutateNodes(structuredClone(map), { count: 5, seed });
      patched.push(await current.patch({ uid, set: set as NodeMap }));
      map = { ...map, ...(set as NodeMap) };
      expect(patched.at(-1)?.workflow.nodeStatusVersion).toBe(prepareVersion(map).nodeStatusVersion);
    }
    const entries = [...(await scanTable(testTable.documentClient, testTable.tableName)).values()].filter(
      (item) => item.pk === `WF#${uid}` && String(item.sk).startsWith('E#'),
    );

    // Two deltas on the chunk-layout version, then a fold into a snapshot of pages.
    expect(entries.map((item) => item.kind)).toEqual(['delta', 'delta', 'snapshot']);
    expect(entries[0]?.baseVersion).toBe(oldPatched.workflow.nodeStatusVersion);
    expect((await current.getWorkflow(uid)).nodes).toStrictEqual(map);
    // Every version stays readable by id within retention, old and new.
    expect((await current.getVersion(uid, written.workflow.nodeStatusVersion)).nodes).toStrictEqual(nodes);
    expect((await current.getVersion(uid, oldPatched.workflow.nodeStatusVersion)).nodes).toStrictEqual(
      oldMap,
    );
    expect(
      (await current.getVersion(uid, patched[0]?.workflow.nodeStatusVersion as string)).nodes,
    ).toStrictEqual({
      ...oldMap,
      ...(mutateNodes(structuredClone(oldMap), { count: 5, seed: 4 }).set as NodeMap),
    });
  });

  it('keeps each entry a version id was written as readable when the version recurs', async () => {
    const service = serviceOn();
    const uid = nextUid('log-recur');
    const mapA = generateNodes({ nodeCount: 3_000, seed: 12 }) as NodeMap;
    const first = Object.keys(mapA)[0] as string;
    const mapB = { ...mapA, [first]: { ...(mapA[first] as object), mark: 'b' } } as NodeMap;
    const a = await service.persist({ uid, namespace: 'argo', name: 'r', nodes: mapA });
    const b = await service.persist({ uid, namespace: 'argo', name: 'r', nodes: mapB });
    const again = await service.persist({ uid, namespace: 'argo', name: 'r', nodes: mapA });

    expect(again.workflow.nodeStatusVersion).toBe(a.workflow.nodeStatusVersion);
    expect((await store.findLogVersion(uid, a.workflow.nodeStatusVersion)).map((ref) => ref.key.seq)).toEqual(
      [3, 1],
    );
    expect((await service.getVersion(uid, b.workflow.nodeStatusVersion)).nodes).toStrictEqual(mapB);
    expect((await service.getWorkflow(uid)).nodes).toStrictEqual(mapA);
    expect((await service.listVersions(uid)).map((version) => version.nodeStatusVersion)).toEqual([
      a.workflow.nodeStatusVersion,
      b.workflow.nodeStatusVersion,
      a.workflow.nodeStatusVersion,
    ]);
  });
});
