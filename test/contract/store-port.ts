/**
 * The storage port's contract, as one suite that every adapter runs: the
 * DynamoDB adapter on DynamoDB Local (test/integration/store/) and the
 * in-memory adapter (test/unit/store/). What the domain relies on, and only
 * that: a conditional commit, immutable chunks whose lease only grows,
 * manifests whole or as a delta of a full base (never a delta over a full
 * one), history newest first, the namespace listing and the lease index
 * with page tokens that cannot be forged.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#domain/errors';
import type {
  EntryKey,
  LogEntry,
  Manifest,
  ManifestChunk,
  WorkflowRecord,
  WorkflowStore,
} from '#domain/store';

/** A fresh store for each test, and the uid prefix to keep tests apart. */
export type StoreFactory = () => Promise<WorkflowStore> | WorkflowStore;

let counter = 0;
const uniqueUid = (label: string) => `port-${label}-${Date.now().toString(36)}-${counter++}`;

const hex = (digit: string) => digit.repeat(64);

export const recordOf = (uid: string, overrides: Partial<WorkflowRecord> = {}): WorkflowRecord => ({
  uid,
  namespace: 'argo',
  name: uid,
  phase: 'Running',
  resourceVersion: 1,
  nodeStatusVersion: hex('a'),
  nodeCount: 3,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  leaseExpiresAt: 1_000,
  codec: 'wfo-bucket-deflate-d1',
  ...overrides,
});

const chunk = (digit: string, leaseExpiresAt = 1_000, parts = 1): ManifestChunk => ({
  chunkId: hex(digit),
  parts,
  leaseExpiresAt,
  storedBytes: 10 * parts,
});

export const manifestOf = (
  uid: string,
  version: string,
  chunks: ManifestChunk[],
  extra: Partial<Manifest> = {},
): Manifest => ({
  uid,
  nodeStatusVersion: version,
  codec: 'wfo-bucket-deflate-d1',
  bucketCount: chunks.length,
  nodeCount: chunks.length * 2,
  rawBytes: 100,
  storedBytes: 50,
  createdAt: `2026-01-01T00:00:0${counter % 10}.000Z`,
  expiresAt: 1_000,
  chunks,
  ...extra,
});

export const entryOf = (
  uid: string,
  key: EntryKey,
  version: string,
  extra: Partial<LogEntry> = {},
): LogEntry => ({
  uid,
  key,
  kind: 'delta',
  nodeStatusVersion: version,
  chainStart: 1,
  codec: 'wfo-log-deflate-d2',
  bucketCount: 4,
  nodeCount: 8,
  rawBytes: 100,
  storedBytes: 60,
  createdAt: `2026-01-01T00:00:${String(key.seq % 60).padStart(2, '0')}.000Z`,
  expiresAt: 1_000,
  data: new Uint8Array([key.seq, 1, 2, 3]),
  ...extra,
});

export function describeStorePort(adapter: string, makeStore: StoreFactory): void {
  describe(`the storage port (${adapter})`, () => {
    describe('records', () => {
      it('creates a record only when none exists, then commits only on the expected resourceVersion', async () => {
        const store = await makeStore();
        const uid = uniqueUid('commit');

        const absent = await store.getRecord(uid);
        const created = await store.commitRecord(recordOf(uid), undefined);
        const createdAgain = await store.commitRecord(recordOf(uid), undefined);
        const next = await store.commitRecord(recordOf(uid, { resourceVersion: 2, phase: 'Failed' }), 1);
        const stale = await store.commitRecord(recordOf(uid, { resourceVersion: 2, phase: 'Error' }), 1);
        const stored = await store.getRecord(uid);

        expect(absent).toBeUndefined();
        expect(created).toMatchObject({ items: 1, writeUnits: expect.any(Number) });
        expect(createdAgain).toBe('conflict');
        expect(next).not.toBe('conflict');
        expect(stale).toBe('conflict');
        expect(stored).toMatchObject({ uid, resourceVersion: 2, phase: 'Failed' });
      });

      it('keeps every field of a record, inline buckets and the previous version included', async () => {
        const store = await makeStore();
        const uid = uniqueUid('fields');
        const record = recordOf(uid, {
          message: 'hello',
          shutdown: 'Stop',
          previousNodeStatusVersion: hex('b'),
          inline: [new Uint8Array([1, 2, 3]), new Uint8Array([4])],
        });

        await store.commitRecord(record, undefined);
        const stored = await store.getRecord(uid);

        expect({ ...stored, inline: stored?.inline?.map((part) => [...part]) }).toEqual({
          ...record,
          inline: [[1, 2, 3], [4]],
        });
      });

      it('deletes a record once, and only the record', async () => {
        const store = await makeStore();
        const uid = uniqueUid('delete');
        await store.commitRecord(recordOf(uid), undefined);
        await store.putManifest(manifestOf(uid, hex('a'), [chunk('1')]));

        expect(await store.deleteRecord(uid)).toBe(true);
        expect(await store.deleteRecord(uid)).toBe(false);
        expect(await store.getRecord(uid)).toBeUndefined();
        expect(await store.getManifest(uid, hex('a'))).toBeDefined();
      });

      it("raises a record's lease only while it points at the version, and never lowers it", async () => {
        const store = await makeStore();
        const uid = uniqueUid('lease');
        await store.commitRecord(recordOf(uid, { leaseExpiresAt: 500 }), undefined);

        const otherVersion = await store.renewRecordLease(uid, hex('f'), 900);
        const lower = await store.renewRecordLease(uid, hex('a'), 400);
        const raised = await store.renewRecordLease(uid, hex('a'), 900);

        expect([otherVersion, lower, raised]).toEqual([false, false, true]);
        expect((await store.getRecord(uid))?.leaseExpiresAt).toBe(900);
      });

      it('keeps the log pointer of a record as it was committed', async () => {
        const store = await makeStore();
        const uid = uniqueUid('log-pointer');
        const log = { head: { seq: 7, tag: '0a1b2c3d' }, chainStart: 3 };

        await store.commitRecord(recordOf(uid, { log }), undefined);
        const withPointer = await store.getRecord(uid);
        await store.commitRecord(recordOf(uid, { resourceVersion: 2 }), 1);
        const without = await store.getRecord(uid);

        expect(withPointer?.log).toEqual(log);
        expect(without?.log).toBeUndefined();
        expect(
          (await store.listRecords('argo', 100)).items.find((item) => item.uid === uid),
        ).not.toHaveProperty('log');
      });
    });

    describe('log entries', () => {
      it('reads a chain as a range of keys in commit order, with the payload as put', async () => {
        const store = await makeStore();
        const uid = uniqueUid('log-range');
        const snapshot = entryOf(uid, { seq: 2, tag: 'aaaa0001' }, hex('1'), {
          kind: 'snapshot',
          chainStart: 2,
          previousChain: { head: { seq: 1, tag: 'dddd0005' }, chainStart: 1 },
        });
        const first = entryOf(uid, { seq: 3, tag: 'bbbb0002' }, hex('2'), {
          parent: snapshot.key,
          parentVersion: hex('1'),
          base: { kind: 'snapshot', key: snapshot.key },
          chainStart: 2,
          phaseCounts: { Running: 8 },
        });
        // A writer that lost the race for resourceVersion 3: its entry is in the range too.
        const orphan = entryOf(uid, { seq: 3, tag: 'aaaa0003' }, hex('3'), { parent: snapshot.key });
        const second = entryOf(uid, { seq: 12, tag: 'cccc0004' }, hex('4'), {
          parent: first.key,
          base: { kind: 'manifest', nodeStatusVersion: hex('9') },
          chainStart: 2,
        });
        const before = entryOf(uid, { seq: 1, tag: 'dddd0005' }, hex('5'));
        const after = entryOf(uid, { seq: 13, tag: 'eeee0006' }, hex('6'));
        for (const entry of [second, orphan, after, first, before, snapshot]) await store.putLogEntry(entry);

        const eventual = await store.getLogEntries(uid, 2, second.key, false);
        const consistent = await store.getLogEntries(uid, 2, second.key, true);
        const upToFirst = await store.getLogEntries(uid, 2, first.key, true);

        for (const read of [eventual, consistent]) {
          expect(read.map((entry) => entry.key)).toEqual([snapshot.key, orphan.key, first.key, second.key]);
        }
        expect(upToFirst.map((entry) => entry.key)).toEqual([snapshot.key, orphan.key, first.key]);
        const [readFirst, readSecond] = [consistent[2] as LogEntry, consistent[3] as LogEntry];
        expect({ ...readFirst, data: [...readFirst.data] }).toEqual({ ...first, data: [...first.data] });
        expect(readSecond.base).toEqual({ kind: 'manifest', nodeStatusVersion: hex('9') });
        expect((consistent[0] as LogEntry).kind).toBe('snapshot');
        expect((consistent[0] as LogEntry).previousChain).toEqual(snapshot.previousChain);
        expect(readFirst.previousChain).toBeUndefined();
      });

      it('finds the entries of a version by its id, newest first, and not its chunk-layout manifest', async () => {
        const store = await makeStore();
        const uid = uniqueUid('log-find');
        await store.putLogEntry(entryOf(uid, { seq: 4, tag: 'aaaa0001' }, hex('1'), { chainStart: 2 }));
        await store.putLogEntry(entryOf(uid, { seq: 9, tag: 'bbbb0002' }, hex('1'), { chainStart: 9 }));
        await store.putLogEntry(entryOf(uid, { seq: 5, tag: 'cccc0003' }, hex('2')));
        await store.putManifest(manifestOf(uid, hex('1'), [chunk('7')]));

        const found = await store.findLogVersion(uid, hex('1'));
        const none = await store.findLogVersion(uid, hex('8'));

        expect(found.map(({ key, chainStart }) => ({ key, chainStart }))).toEqual([
          { key: { seq: 9, tag: 'bbbb0002' }, chainStart: 9 },
          { key: { seq: 4, tag: 'aaaa0001' }, chainStart: 2 },
        ]);
        expect(found.every((ref) => ref.nodeStatusVersion === hex('1') && ref.expiresAt === 1_000)).toBe(
          true,
        );
        expect(none).toEqual([]);
        expect((await store.getManifest(uid, hex('1')))?.chunks).toEqual([chunk('7')]);
      });

      it('lists the versions of the log newest first, as history entries', async () => {
        const store = await makeStore();
        const uid = uniqueUid('log-list');
        for (const seq of [1, 2, 3]) {
          await store.putLogEntry(
            entryOf(uid, { seq, tag: `aaaa000${seq}` }, hex(String(seq)), {
              ...(seq > 1 ? { parentVersion: hex(String(seq - 1)) } : {}),
              phaseCounts: { Running: seq },
            }),
          );
        }

        const listed = await store.listLogVersions(uid, 2);

        expect(listed).toEqual([
          {
            nodeStatusVersion: hex('3'),
            createdAt: '2026-01-01T00:00:03.000Z',
            expiresAt: 1_000,
            nodeCount: 8,
            storedBytes: 60,
            phaseCounts: { Running: 3 },
            parentVersion: hex('2'),
          },
          expect.objectContaining({ nodeStatusVersion: hex('2'), parentVersion: hex('1') }),
        ]);
      });

      it('renews entries upwards only, and counts the entries that no longer exist', async () => {
        const store = await makeStore();
        const uid = uniqueUid('log-renew');
        const entry = entryOf(uid, { seq: 4, tag: 'aaaa0001' }, hex('1'));
        await store.putLogEntry(entry);

        const lower = await store.renewLogItems(uid, [entry.key], 500);
        const higher = await store.renewLogItems(
          uid,
          [entry.key, { seq: 5, tag: 'ffff0009' }, { seq: 3, tag: 'ffff0008' }],
          2_000,
        );

        expect(lower).toMatchObject({ writeUnits: 0, missing: 0 });
        expect(higher.writeUnits).toBeGreaterThan(0);
        expect(higher.missing).toBe(2);
        expect((await store.getLogEntries(uid, 4, entry.key, true))[0]?.expiresAt).toBe(2_000);
        expect((await store.findLogVersion(uid, hex('1')))[0]?.expiresAt).toBe(2_000);
      });
    });

    describe('chunks', () => {
      it('gives back what was put, parts joined, and names what is missing', async () => {
        const store = await makeStore();
        const uid = uniqueUid('chunks');
        await store.putChunks(
          uid,
          [
            { chunkId: hex('1'), codec: 'c', parts: [new Uint8Array([1, 2])] },
            { chunkId: hex('2'), codec: 'c', parts: [new Uint8Array([3]), new Uint8Array([4, 5])] },
          ],
          1_000,
        );

        const { found, missing } = await store.getChunks(uid, [
          { chunkId: hex('1'), parts: 1 },
          { chunkId: hex('2'), parts: 2 },
          { chunkId: hex('3'), parts: 1 },
        ]);

        expect([...(found.get(hex('1'))?.data ?? [])]).toEqual([1, 2]);
        expect([...(found.get(hex('2'))?.data ?? [])]).toEqual([3, 4, 5]);
        expect(found.get(hex('1'))?.codec).toBe('c');
        expect(missing).toEqual([hex('3')]);
      });

      it('renews chunk leases upwards only, and reports chunks that no longer exist', async () => {
        const store = await makeStore();
        const uid = uniqueUid('renew-chunks');
        await store.putChunks(uid, [{ chunkId: hex('1'), codec: 'c', parts: [new Uint8Array([1])] }], 1_000);

        const lower = await store.renewChunks(uid, [{ chunkId: hex('1'), parts: 1 }], 500);
        const higher = await store.renewChunks(
          uid,
          [
            { chunkId: hex('1'), parts: 1 },
            { chunkId: hex('9'), parts: 1 },
          ],
          2_000,
        );

        expect(lower).toMatchObject({ writeUnits: 0, missing: [] });
        expect(higher.writeUnits).toBeGreaterThan(0);
        expect(higher.missing).toEqual([hex('9')]);
      });
    });

    describe('manifests', () => {
      it('stores a full manifest and reads it back as written, without the parent', async () => {
        const store = await makeStore();
        const uid = uniqueUid('manifest');
        const manifest = manifestOf(uid, hex('a'), [chunk('1'), chunk('2', 900, 3)], {
          parentVersion: hex('0'),
        });

        const written = await store.putManifest(manifest);
        const read = await store.getManifest(uid, hex('a'));

        expect(written.stored).toBe(true);
        const { parentVersion: _parent, ...withoutParent } = manifest;
        expect(read).toEqual(withoutParent);
        expect(await store.getManifest(uid, hex('e'))).toBeUndefined();
      });

      it('stores a delta of a full base and reads it back whole, with its base', async () => {
        const store = await makeStore();
        const uid = uniqueUid('delta');
        const base = manifestOf(uid, hex('a'), [chunk('1'), chunk('2'), chunk('3'), chunk('4')]);
        const next = manifestOf(uid, hex('b'), [chunk('1'), chunk('5', 1_200), chunk('3'), chunk('4')]);
        await store.putManifest(base);

        const written = await store.putManifest(next, { base, changedIndexes: [1] });
        const read = await store.getManifest(uid, hex('b'));

        expect(written.stored).toBe(true);
        expect(read?.chunks).toEqual(next.chunks);
        expect(read?.base?.nodeStatusVersion).toBe(hex('a'));
        expect(read?.nodeStatusVersion).toBe(hex('b'));
      });

      it('never turns a full manifest into a delta when its version recurs', async () => {
        const store = await makeStore();
        const uid = uniqueUid('recur');
        const full = manifestOf(uid, hex('a'), [chunk('1'), chunk('2')]);
        const other = manifestOf(uid, hex('b'), [chunk('3'), chunk('2')]);
        await store.putManifest(full);
        await store.putManifest(other);

        const again = await store.putManifest(
          { ...full, createdAt: '2026-01-02T00:00:00.000Z' },
          {
            base: other,
            changedIndexes: [0],
          },
        );
        const read = await store.getManifest(uid, hex('a'));

        expect(again.stored).toBe(false);
        expect(read?.base).toBeUndefined();
        expect(read?.chunks).toEqual(full.chunks);
        // The history entry of the recurrence is written all the same.
        expect((await store.listVersions(uid, 10)).map((entry) => entry.createdAt)).toContain(
          '2026-01-02T00:00:00.000Z',
        );
      });

      it('extends a manifest lease upwards only, and says when the manifest is gone', async () => {
        const store = await makeStore();
        const uid = uniqueUid('extend');
        await store.putManifest(manifestOf(uid, hex('a'), [chunk('1')], { expiresAt: 1_000 }));

        const lower = await store.extendManifestLease(uid, hex('a'), 500);
        const higher = await store.extendManifestLease(uid, hex('a'), 3_000);
        const missing = await store.extendManifestLease(uid, hex('e'), 3_000);

        expect(lower).toMatchObject({ writeUnits: 0 });
        expect(higher?.writeUnits).toBeGreaterThan(0);
        expect(missing).toBeUndefined();
        expect((await store.getManifest(uid, hex('a')))?.expiresAt).toBe(3_000);
      });

      it('renews a delta, its base and its history entry together; undefined when one is gone', async () => {
        const store = await makeStore();
        const uid = uniqueUid('renew-manifest');
        const base = manifestOf(uid, hex('a'), [chunk('1'), chunk('2')]);
        const next = manifestOf(uid, hex('b'), [chunk('1'), chunk('3')], {
          createdAt: '2026-01-03T00:00:00.000Z',
        });
        await store.putManifest(base);
        await store.putManifest(next, { base, changedIndexes: [1] });
        const delta = (await store.getManifest(uid, hex('b'))) as Manifest;

        const renewed = await store.renewManifest(delta, 5_000);
        const gone = await store.renewManifest(manifestOf(uid, hex('e'), [chunk('1')]), 5_000);

        expect(renewed?.writeUnits).toBeGreaterThan(0);
        expect(gone).toBeUndefined();
        expect((await store.getManifest(uid, hex('a')))?.expiresAt).toBe(5_000);
        expect((await store.getManifest(uid, hex('b')))?.expiresAt).toBe(5_000);
        expect(
          (await store.listVersions(uid, 10)).find((entry) => entry.nodeStatusVersion === hex('b'))
            ?.expiresAt,
        ).toBe(5_000);
      });

      it('lists history entries newest first, with their parents, up to the limit', async () => {
        const store = await makeStore();
        const uid = uniqueUid('history');
        const versions = ['1', '2', '3'].map((digit, index) =>
          manifestOf(uid, hex(digit), [chunk(digit)], {
            createdAt: `2026-01-01T00:00:0${index}.000Z`,
            ...(index > 0 ? { parentVersion: hex(String(index)) } : {}),
          }),
        );
        for (const manifest of versions) await store.putManifest(manifest);

        const listed = await store.listVersions(uid, 2);

        expect(listed.map((entry) => entry.nodeStatusVersion)).toEqual([hex('3'), hex('2')]);
        expect(listed.map((entry) => entry.parentVersion)).toEqual([hex('2'), hex('1')]);
        expect(listed[0]).toMatchObject({
          nodeCount: 2,
          storedBytes: 50,
          createdAt: '2026-01-01T00:00:02.000Z',
        });
      });
    });

    describe('indexes', () => {
      it('lists a namespace by name, in pages, and refuses a token of another namespace or a forged one', async () => {
        const store = await makeStore();
        const namespace = `ns-${Date.now().toString(36)}-${counter++}`;
        const names = ['delta', 'alpha', 'echo', 'bravo', 'charlie'];
        for (const name of names) {
          await store.commitRecord(recordOf(uniqueUid(name), { namespace, name }), undefined);
        }
        await store.commitRecord(
          recordOf(uniqueUid('other'), { namespace: `${namespace}-other` }),
          undefined,
        );

        const seen: string[] = [];
        let next: string | undefined;
        let pages = 0;
        do {
          const page = await store.listRecords(namespace, 2, next);
          seen.push(...page.items.map((item) => item.name));
          expect(page.items.every((item) => !('inline' in item) && !('leaseExpiresAt' in item))).toBe(true);
          next = page.next;
          pages++;
        } while (next && pages < 10);
        const firstPage = await store.listRecords(namespace, 2);

        expect(seen).toEqual([...names].sort());
        expect(pages).toBeGreaterThanOrEqual(3);
        await expect(store.listRecords(`${namespace}-other`, 2, firstPage.next)).rejects.toBeInstanceOf(
          ValidationError,
        );
        await expect(store.listRecords(namespace, 2, 'not-a-token')).rejects.toBeInstanceOf(ValidationError);
      });

      it('lists each record as last committed, and leaves out a deleted one', async () => {
        const store = await makeStore();
        const namespace = `ns-${Date.now().toString(36)}-${counter++}`;
        const kept = uniqueUid('kept');
        const gone = uniqueUid('gone');
        await store.commitRecord(recordOf(kept, { namespace, name: 'a' }), undefined);
        await store.commitRecord(recordOf(gone, { namespace, name: 'b' }), undefined);
        await store.commitRecord(
          recordOf(kept, {
            namespace,
            name: 'a',
            resourceVersion: 2,
            nodeStatusVersion: hex('b'),
            phase: 'Succeeded',
            nodeCount: 5,
            phaseCounts: { Succeeded: 5 },
            updatedAt: '2026-01-01T00:01:00.000Z',
          }),
          1,
        );
        await store.deleteRecord(gone);

        const page = await store.listRecords(namespace, 10);

        expect(page.items).toEqual([
          {
            uid: kept,
            namespace,
            name: 'a',
            phase: 'Succeeded',
            resourceVersion: 2,
            nodeStatusVersion: hex('b'),
            nodeCount: 5,
            phaseCounts: { Succeeded: 5 },
            createdAt: '2026-01-01T00:00:00.000Z',
            updatedAt: '2026-01-01T00:01:00.000Z',
          },
        ]);
      });

      it('finds every record whose lease ends before a time, across pages, and the smallest lease', async () => {
        const store = await makeStore();
        const prefix = uniqueUid('leases');
        const leases = [100, 200, 300, 400, 5_000];
        for (const [index, lease] of leases.entries()) {
          await store.commitRecord(recordOf(`${prefix}-${index}`, { leaseExpiresAt: lease }), undefined);
        }

        const found: string[] = [];
        let next: string | undefined;
        let pages = 0;
        do {
          const page = await store.findShortLeases(1_000, 2, next);
          found.push(...page.items.filter((entry) => entry.uid.startsWith(prefix)).map((entry) => entry.uid));
          for (const entry of page.items) expect(entry.leaseExpiresAt).toBeLessThan(1_000);
          next = page.next;
          pages++;
        } while (next && pages < 100);

        expect(found.sort()).toEqual([0, 1, 2, 3].map((index) => `${prefix}-${index}`));
        expect(await store.minimumLease()).toBeLessThanOrEqual(100);
      });
    });
  });
}
