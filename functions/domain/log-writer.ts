/**
 * Storing a version in the log layout (`log-codec.ts` has the formats): a
 * delta entry with one commit's change on the current version's chain, or a
 * snapshot of pages that a new chain starts from. Which one is the
 * planner's choice (`log-policy.ts`); the commit point is the committer's.
 * Nothing is deleted and no item is written twice by two writers: an entry's
 * key carries its writer's tag, a page's id is its content.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  type CodecOptions,
  compressPage,
  logCodecName,
  type PreparedBucket,
  pageCodecName,
} from './codec.ts';
import { VersionMissingError } from './errors.ts';
import { renewVersion } from './leases.ts';
import { type PageRef, packSnapshot } from './log-codec.ts';
import type { DeltaPlan, VersionPlan } from './planner.ts';
import type {
  EntryKey,
  LogBase,
  LogEntry,
  StoredChunk,
  WorkflowRecord,
  WorkflowStore,
  WriteCost,
} from './store.ts';
import type { LoadedVersion } from './version-reader.ts';

/** Times of one commit, in the forms its items need. */
export interface Times {
  readonly nowIso: string;
  readonly expiresAt: number;
  readonly renewBefore: number;
}

/** What storing a version's content wrote, and what the record must say of it. */
export interface Stored {
  readonly costs: readonly WriteCost[];
  readonly chunksWritten: number;
  readonly chunksReused: number;
  readonly storedBytes: number;
  readonly codec: string;
  /** Lower bound of the `expiresAt` of every item the version needs. */
  readonly leaseExpiresAt: number;
  readonly log?: { readonly head: EntryKey; readonly chainStart: number };
}

/** A writer's own tag for the keys of its log entries (see `EntryKey`). */
const newTag = (): string => randomBytes(4).toString('hex');

/** A page's chunk id: its buckets' chunk ids name its content. */
const pageIdOf = (buckets: readonly PreparedBucket[]): string =>
  createHash('sha256')
    .update(`${pageCodecName}\n${buckets.map((bucket) => bucket.chunkId).join('\n')}`)
    .digest('hex');

const partsBytes = (parts: readonly Uint8Array[]): number =>
  parts.reduce((sum, part) => sum + part.length, 0);

/** What every entry of a commit says of its version, whatever its kind. */
const entryOf = (
  uid: string,
  key: EntryKey,
  record: WorkflowRecord | undefined,
  plan: VersionPlan,
  times: Times,
) => ({
  uid,
  key,
  nodeStatusVersion: plan.nodeStatusVersion,
  ...(record ? { parentVersion: record.nodeStatusVersion } : {}),
  codec: logCodecName,
  bucketCount: plan.bucketCount,
  nodeCount: plan.nodeCount,
  rawBytes: plan.rawBytes,
  ...(plan.phaseCounts === undefined ? {} : { phaseCounts: plan.phaseCounts }),
  createdAt: times.nowIso,
  expiresAt: times.expiresAt,
});

export class LogWriter {
  constructor(
    private readonly store: WorkflowStore,
    private readonly codec: CodecOptions,
  ) {}

  /**
   * The log layout, one commit's change only: a delta entry on the current
   * version's chain (which stays as it is), renewed first when the record's
   * lease runs short.
   */
  async storeDelta(
    uid: string,
    record: WorkflowRecord | undefined,
    plan: VersionPlan,
    delta: DeltaPlan,
    current: LoadedVersion,
    times: Times,
  ): Promise<Stored> {
    const costs: WriteCost[] = [];
    const key: EntryKey = { seq: (record?.resourceVersion ?? 0) + 1, tag: newTag() };
    const head = current.log?.head;
    let lease = record?.leaseExpiresAt ?? 0;
    if (record && lease < times.renewBefore) {
      const renewed = await renewVersion(this.store, uid, current, times.expiresAt);
      if (renewed.missing) throw new VersionMissingError(uid, record.nodeStatusVersion, []);
      costs.push(renewed);
      lease = times.expiresAt;
    }
    const base: LogBase | undefined = head
      ? head.kind === 'snapshot'
        ? { kind: 'snapshot', key: head.key }
        : head.base
      : { kind: 'manifest', nodeStatusVersion: current.manifest?.nodeStatusVersion as string };
    const chainStart = head ? head.chainStart : key.seq;
    const baseBytes = current.log?.baseBytes ?? current.manifest?.storedBytes ?? 0;
    const storedBytes = baseBytes + (current.log?.deltaBytes ?? 0) + delta.data.length;
    const entry: LogEntry = {
      ...entryOf(uid, key, record, plan, times),
      kind: 'delta',
      ...(head ? { parent: head.key } : {}),
      ...(base ? { base } : {}),
      chainStart,
      storedBytes,
      data: delta.data,
    };
    costs.push(await this.store.putLogEntry(entry));
    return {
      costs,
      chunksWritten: delta.changed.length,
      chunksReused: plan.bucketCount - delta.changed.length,
      storedBytes,
      codec: logCodecName,
      leaseExpiresAt: Math.min(lease, times.expiresAt),
      log: { head: key, chainStart },
    };
  }

  /**
   * The log layout, a whole version: pages of consecutive buckets (a page
   * the current snapshot already has is reused), then a snapshot entry with
   * the bucket and page tables. The chain starts again from it.
   */
  async storeSnapshot(
    uid: string,
    record: WorkflowRecord | undefined,
    plan: VersionPlan,
    buckets: readonly PreparedBucket[],
    times: Times,
  ): Promise<Stored> {
    const codec = this.codec;
    const key: EntryKey = { seq: (record?.resourceVersion ?? 0) + 1, tag: newTag() };
    const recordLease = record?.leaseExpiresAt ?? 0;
    const currentPages = new Map(
      (plan.current?.log?.snapshot?.tables.pages ?? []).map((page) => [page.chunkId, page]),
    );
    const pages: PageRef[] = [];
    const toStore: StoredChunk[] = [];
    const toRenew: PageRef[] = [];
    let chunksWritten = 0;
    for (let first = 0; first < buckets.length; first += codec.pageBuckets) {
      const run = buckets.slice(first, first + codec.pageBuckets);
      const pageId = pageIdOf(run);
      const existing = currentPages.get(pageId);
      if (existing && existing.firstBucket === first && existing.bucketCount === run.length) {
        // A page of the current version: its lease is at least the record's.
        const lease = Math.max(existing.leaseExpiresAt, recordLease);
        if (lease < times.renewBefore) toRenew.push(existing);
        pages.push({ ...existing, leaseExpiresAt: lease < times.renewBefore ? times.expiresAt : lease });
        continue;
      }
      const parts = compressPage(
        run.map((bucket) => bucket.canonical),
        codec,
      );
      toStore.push({ chunkId: pageId, codec: pageCodecName, parts });
      pages.push({
        chunkId: pageId,
        parts: parts.length,
        firstBucket: first,
        bucketCount: run.length,
        leaseExpiresAt: times.expiresAt,
        storedBytes: partsBytes(parts),
      });
      chunksWritten += run.length;
    }
    const [storedPages, renewed] = await Promise.all([
      this.store.putChunks(uid, toStore, times.expiresAt),
      toRenew.length > 0 ? this.store.renewChunks(uid, toRenew, times.expiresAt) : undefined,
    ]);
    if (renewed && renewed.missing.length > 0 && record) {
      throw new VersionMissingError(record.uid, record.nodeStatusVersion, renewed.missing);
    }
    const data = packSnapshot({
      buckets: buckets.map((bucket) => ({
        chunkId: bucket.chunkId,
        phaseMask: bucket.summary.phaseMask,
        typeMask: bucket.summary.typeMask,
        rawBytes: bucket.rawBytes,
        storedBytes: 0,
      })),
      pages,
    });
    const storedBytes = pages.reduce((sum, page) => sum + page.storedBytes, 0) + data.length;
    const entry: LogEntry = {
      ...entryOf(uid, key, record, plan, times),
      kind: 'snapshot',
      ...(record?.log ? { previousChain: { head: record.log.head, chainStart: record.log.chainStart } } : {}),
      chainStart: key.seq,
      storedBytes,
      data,
    };
    const storedEntry = await this.store.putLogEntry(entry);
    return {
      costs: renewed ? [storedPages, renewed, storedEntry] : [storedPages, storedEntry],
      chunksWritten,
      chunksReused: buckets.length - chunksWritten,
      storedBytes,
      codec: logCodecName,
      leaseExpiresAt: pages.reduce((lease, page) => Math.min(lease, page.leaseExpiresAt), times.expiresAt),
      log: { head: key, chainStart: key.seq },
    };
  }
}
