/**
 * Fault: a writer dies after writing some of a version and before its commit
 * (the one conditional write on the record). Nothing of it may be visible,
 * and what it wrote expires by DynamoDB Local's real TTL on the versions
 * table, with no delete from anyone (DynamoDB Local removes 20 expired items
 * per 10 s sweep, so the maps are small). Retention is 4 s here; the current
 * version is kept alive by the renewer, run in the polling loop as the
 * schedule would run it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultCodecOptions } from '#domain/codec';
import type { NodeMap } from '#domain/nodes';
import type { WorkflowStore } from '#domain/store';
import { WorkflowService } from '#domain/workflow-service';
import { DynamoDbStore } from '#store/dynamodb-store';
import { recordCommands, scanTable } from '#testkit/command-log';
import { interleaveAfter } from '#testkit/interleave';
import { createTtlTestTable, type TestTable } from '#testkit/table';

const retentionSeconds = 4;
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** What a process that died half-way looks like to the caller: an exception at that point, nothing after. */
class InjectedCrash extends Error {}

/** The store, except that `method` throws instead of running. */
function crashingAt(store: WorkflowStore, method: keyof WorkflowStore): WorkflowStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === method) {
        return async () => {
          throw new InjectedCrash(`crash injected at ${String(method)}`);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const nodes = (phase: string, count = 60): NodeMap => {
  const map: NodeMap = {};
  for (let index = 0; index < count; index++) {
    map[`node-${index}`] = { id: `node-${index}`, phase, detail: `step ${index} of a long pipeline` };
  }
  return map;
};

let table: TestTable;
let store: DynamoDbStore;

beforeAll(async () => {
  table = await createTtlTestTable('fault-crash');
  store = new DynamoDbStore(table.documentClient, { tableName: table.tableName });
});

type Layout = 'log' | 'chunks' | 'log, snapshots only';
const serviceOn = (target: WorkflowStore, layout: Layout = 'log') =>
  new WorkflowService(target, {
    retentionSeconds,
    alwaysOffload: true,
    codec:
      layout === 'log, snapshots only'
        ? // A chain that takes no delta: every write is a snapshot, its pages written first.
          { ...defaultCodecOptions, layout: 'log', maxChainFraction: 0 }
        : { ...defaultCodecOptions, layout },
  });

/** Keys (`pk|sk`) of every item of a workflow, in both tables. */
const keysOf = async (uid: string): Promise<Set<string>> =>
  new Set(
    [...(await scanTable(table.documentClient, table.tableName)).keys()].filter((key) =>
      key.startsWith(`WF#${uid}|`),
    ),
  );

/** What a caller can see of a workflow: the hydrated workflow and its version list. */
async function visibleState(service: WorkflowService, uid: string) {
  const workflow = await service.getWorkflow(uid);
  const versions = await service.listVersions(uid);
  return {
    workflow,
    // A renewal moves expiresAt; which versions are listed, and which is current, is what matters.
    versions: versions.map(({ nodeStatusVersion, current, createdAt }) => ({
      nodeStatusVersion,
      current,
      createdAt,
    })),
  };
}

describe('a crash between the chunk writes and the commit', () => {
  it('leaves no visible change, and TTL removes what the dead writer wrote', {
    timeout: 240_000,
  }, async () => {
    const service = serviceOn(store);
    const sent = recordCommands(table.documentClient);
    const cases = [
      { uid: 'crash-before-manifest', crashAt: 'putManifest' as const, layout: 'chunks' as const },
      { uid: 'crash-before-commit-chunks', crashAt: 'commitRecord' as const, layout: 'chunks' as const },
      { uid: 'crash-before-entry', crashAt: 'putLogEntry' as const, layout: 'log, snapshots only' as const },
      {
        uid: 'crash-before-snapshot',
        crashAt: 'commitRecord' as const,
        layout: 'log, snapshots only' as const,
      },
      { uid: 'crash-before-commit', crashAt: 'commitRecord' as const, layout: 'log' as const },
    ];
    const orphans = new Map<string, Set<string>>();
    const visibleBefore = new Map<string, Awaited<ReturnType<typeof visibleState>>>();
    for (const { uid, crashAt, layout } of cases) {
      await serviceOn(store, layout).persist({ uid, namespace: 'argo', name: uid, nodes: nodes('Running') });
      visibleBefore.set(uid, await visibleState(service, uid));
      const itemsBefore = await keysOf(uid);

      await expect(
        serviceOn(crashingAt(store, crashAt), layout).persist({
          uid,
          namespace: 'argo',
          name: uid,
          nodes: nodes('Succeeded'),
        }),
      ).rejects.toThrow(InjectedCrash);

      const written = [...(await keysOf(uid))].filter((key) => !itemsBefore.has(key));
      orphans.set(uid, new Set(written));
      // Every node changed: new chunks (one per bucket) or new pages (a snapshot); a delta
      // on the log chain holds the changed fields in its entry alone.
      expect(written.some((key) => key.includes('|C#'))).toBe(layout !== 'log');
      // Crashing at the commit, the manifest and its history entry (chunk layout), or the
      // entry (log layout), were written too.
      const committing = crashAt === 'commitRecord';
      expect(written.some((key) => key.includes('|V#'))).toBe(committing && layout === 'chunks');
      expect(written.some((key) => key.includes('|T#'))).toBe(committing && layout === 'chunks');
      expect(written.some((key) => key.includes('|E#'))).toBe(committing && layout !== 'chunks');
      expect(written.length).toBeGreaterThan(0);
      expect(await visibleState(service, uid)).toStrictEqual(visibleBefore.get(uid));
    }

    // Poll until TTL has removed every orphan, renewing the current versions meanwhile.
    const started = Date.now();
    const deadline = started + 180_000;
    let remaining = [...orphans.values()].reduce((sum, keys) => sum + keys.size, 0);
    while (remaining > 0 && Date.now() < deadline) {
      await service.renew();
      for (const { uid } of cases) {
        expect(await visibleState(service, uid)).toStrictEqual(visibleBefore.get(uid));
      }
      const present = new Set<string>();
      for (const { uid } of cases) for (const key of await keysOf(uid)) present.add(key);
      remaining = [...orphans.values()].reduce(
        (sum, keys) => sum + [...keys].filter((key) => present.has(key)).length,
        0,
      );
      if (remaining > 0) await sleep(1000);
    }
    console.info(
      `crash orphans (${[...orphans.values()].map((keys) => keys.size).join(' + ')} items) removed by TTL within ${Date.now() - started} ms at R=${retentionSeconds}s`,
    );
    expect(remaining).toBe(0);
    for (const { uid } of cases) {
      expect(await visibleState(service, uid)).toStrictEqual(visibleBefore.get(uid));
    }
    // TTL did it: nobody sent a delete.
    expect(
      sent.filter(
        (command) =>
          command.name.startsWith('Delete') ||
          (command.name.startsWith('BatchWrite') && JSON.stringify(command.input).includes('DeleteRequest')),
      ),
    ).toEqual([]);
  });

  it.each([
    ['chunks', 'putManifest', 'history'],
    ['log', 'putLogEntry', 'log'],
  ] as const)(
    'lists no version of a writer that lost its compare-and-set and retried (%s layout)',
    async (layout, writesVersion, listedBy) => {
      const service = serviceOn(store, layout);
      const uid = `lost-race-${layout}`;
      await service.persist({ uid, namespace: 'argo', name: uid, nodes: nodes('Pending') });
      // The loser writes its version (manifest and history entry, or log entry), then the winner commits first.
      const winner = serviceOn(store, layout);
      const loser = serviceOn(
        interleaveAfter(store, writesVersion, () =>
          winner.patch({ uid, set: { 'node-0': { id: 'node-0', phase: 'Running' } } }),
        ),
        layout,
      );

      const result = await loser.patch({ uid, set: { 'node-1': { id: 'node-1', phase: 'Running' } } });

      expect(result.conflicts).toBe(1);
      const listed = (await service.listVersions(uid)).map((version) => version.nodeStatusVersion);
      const entries = (
        listedBy === 'history' ? await store.listVersions(uid, 100) : await store.listLogVersions(uid, 100)
      ).map((version) => version.nodeStatusVersion);
      // Four entries were written (create, winner, the loser's lost attempt, its retry); three committed.
      expect(entries).toHaveLength(4);
      expect(listed).toHaveLength(3);
      expect(listed[0]).toBe(result.workflow.nodeStatusVersion);
      expect(new Set(entries).size).toBe(4);
      const { nodes: current } = await service.getWorkflow(uid);
      expect(current['node-0']?.phase).toBe('Running');
      expect(current['node-1']?.phase).toBe('Running');
    },
  );
});
