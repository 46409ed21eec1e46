/**
 * Making a plan visible: writes the new chunks (renewing reused ones whose
 * lease runs short), the manifest, then the one conditional write on the
 * record that is the commit point (invariant 2). Everything written before
 * the record is invisible until the record points at it; a writer that loses
 * the compare-and-set leaves orphans that TTL removes (nothing is deleted).
 */

import type { StopStrategy } from '#contract/workflow';
import { type CodecOptions, compressBucket, type PreparedBucket } from './codec.ts';
import { VersionMissingError } from './errors.ts';
import { LogWriter, type Stored, type Times } from './log-writer.ts';
import { writeManifest } from './manifest-policy.ts';
import type { VersionPlan } from './planner.ts';
import { epochSeconds, type Retention } from './retention.ts';
import type {
  ChunkRef,
  Manifest,
  ManifestChunk,
  StoredChunk,
  WorkflowRecord,
  WorkflowStore,
  WorkflowSummary,
  WriteCost,
} from './store.ts';

/** Every bucket's canonical text, when the plan knows them all (a snapshot needs them). */
function textsOf(plan: VersionPlan): PreparedBucket[] | undefined {
  if (plan.entries.length !== plan.bucketCount) return undefined;
  const out: PreparedBucket[] = [];
  for (const entry of plan.entries) {
    if (entry.kind === 'staged' || entry.bucket === undefined) return undefined;
    out.push(entry.bucket);
  }
  return out;
}

/** Workflow-level fields a commit sets. */
export interface RecordFields {
  readonly namespace: string;
  readonly name: string;
  readonly phase: string;
  readonly message?: string;
  readonly shutdown?: StopStrategy;
}

export interface WriteStats {
  chunksWritten: number;
  chunksReused: number;
  bytesWritten: number;
  writeUnits: number;
}

/** What one successful commit did. */
export interface CommitOutcome {
  readonly workflow: WorkflowSummary;
  /** True when this commit created the workflow. */
  readonly created: boolean;
  readonly write: WriteStats;
  readonly rawBytes: number;
  readonly storedBytes: number;
}

export interface CommitterSettings {
  readonly retention: Retention;
  /** Largest compressed node map kept inline in the record. */
  readonly inlineMaxBytes: number;
  /** Never inline, whatever the size. */
  readonly alwaysOffload: boolean;
  readonly codec: CodecOptions;
  readonly now: () => number;
}

export const nothingWritten = (): WriteStats => ({
  chunksWritten: 0,
  chunksReused: 0,
  bytesWritten: 0,
  writeUnits: 0,
});

export const toSummary = (record: WorkflowRecord): WorkflowSummary => {
  const {
    inline: _inline,
    leaseExpiresAt: _lease,
    codec: _codec,
    previousNodeStatusVersion: _previous,
    log: _log,
    ...summary
  } = record;
  return summary;
};

const sameFields = (record: WorkflowRecord, fields: RecordFields): boolean =>
  record.namespace === fields.namespace &&
  record.name === fields.name &&
  record.phase === fields.phase &&
  record.message === fields.message &&
  record.shutdown === fields.shutdown;

const partsBytes = (parts: readonly Uint8Array[]): number =>
  parts.reduce((sum, part) => sum + part.length, 0);

/** The outcome of a commit that changed nothing. */
export const unchangedOutcome = (record: WorkflowRecord): CommitOutcome => ({
  workflow: toSummary(record),
  created: false,
  write: nothingWritten(),
  rawBytes: 0,
  storedBytes: 0,
});

export class Committer {
  private readonly log: LogWriter;

  constructor(
    private readonly store: WorkflowStore,
    private readonly settings: CommitterSettings,
  ) {
    this.log = new LogWriter(store, settings.codec);
  }

  /**
   * Commits `plan` (or, with 'unchanged', only `fields`) on top of `record`,
   * or answers 'conflict' when another writer committed first. Timeline of
   * the race it closes:
   *
   *   t0  writer A reads record (resourceVersion 7)
   *   t1  writer B reads record (resourceVersion 7)
   *   t2  A writes its chunks and manifest (invisible), commits 7 -> 8
   *   t3  B writes its chunks and manifest (invisible), commit 7 -> 8 fails
   *   t4  B reloads and retries; its orphans expire by TTL, nothing deleted
   */
  async commit(
    uid: string,
    record: WorkflowRecord | undefined,
    fields: RecordFields,
    plan: VersionPlan | 'unchanged',
  ): Promise<CommitOutcome | 'conflict'> {
    const nowMs = this.settings.now();
    const nowIso = new Date(nowMs).toISOString();
    if (record && (plan === 'unchanged' || plan.nodeStatusVersion === record.nodeStatusVersion)) {
      return this.commitFields(record, fields, nowIso);
    }
    if (plan === 'unchanged') throw new Error('unreachable: an unchanged plan needs a record');

    const write = nothingWritten();
    const add = (cost: WriteCost) => {
      write.bytesWritten += cost.bytes;
      write.writeUnits += cost.writeUnits;
    };
    const nowSeconds = epochSeconds(nowMs);
    const { retention } = this.settings;
    const expiresAt = retention.bornExpiresAt(nowSeconds);
    const renewBefore = retention.renewBefore(nowSeconds);
    const times = { nowIso, expiresAt, renewBefore };

    const { inline, compressed } = this.inlineOf(plan);
    let stored: Stored;
    if (inline) {
      stored = await this.storeChunkLayout(uid, record, plan, inline, compressed, times);
    } else if (plan.delta && plan.current && this.settings.codec.layout === 'log') {
      stored = await this.log.storeDelta(uid, record, plan, plan.delta, plan.current, times);
    } else if (this.settings.codec.layout === 'log' && textsOf(plan) !== undefined) {
      stored = await this.log.storeSnapshot(uid, record, plan, textsOf(plan) as PreparedBucket[], times);
    } else {
      stored = await this.storeChunkLayout(uid, record, plan, undefined, compressed, times);
    }
    write.chunksWritten = stored.chunksWritten;
    write.chunksReused = stored.chunksReused;
    for (const cost of stored.costs) add(cost);

    const next: WorkflowRecord = {
      uid,
      ...fields,
      resourceVersion: (record?.resourceVersion ?? 0) + 1,
      nodeStatusVersion: plan.nodeStatusVersion,
      ...(record ? { previousNodeStatusVersion: record.nodeStatusVersion } : {}),
      nodeCount: plan.nodeCount,
      ...(plan.phaseCounts === undefined ? {} : { phaseCounts: plan.phaseCounts }),
      createdAt: record?.createdAt ?? nowIso,
      updatedAt: nowIso,
      leaseExpiresAt: stored.leaseExpiresAt,
      codec: stored.codec,
      ...(inline ? { inline } : {}),
      ...(stored.log ? { log: stored.log } : {}),
    };
    const committed = await this.store.commitRecord(next, record?.resourceVersion);
    if (committed === 'conflict') return 'conflict';
    add(committed);
    return {
      workflow: toSummary(next),
      created: record === undefined,
      write,
      rawBytes: plan.rawBytes,
      storedBytes: stored.storedBytes,
    };
  }

  /** The chunk layout: new chunks (or the map inline), reused ones renewed, then the manifest. */
  private async storeChunkLayout(
    uid: string,
    record: WorkflowRecord | undefined,
    plan: VersionPlan,
    inline: Uint8Array[] | undefined,
    compressed: Map<number, Uint8Array[]>,
    times: Times,
  ): Promise<Stored> {
    const costs: WriteCost[] = [];
    let manifestChunks: ManifestChunk[] = [];
    let storedBytes: number;
    let chunksWritten: number;
    let chunksReused = 0;
    if (inline) {
      storedBytes = partsBytes(inline);
      chunksWritten = inline.length;
    } else {
      const stored = await this.storeChunks(
        uid,
        record,
        plan,
        compressed,
        times.expiresAt,
        times.renewBefore,
      );
      manifestChunks = stored.manifestChunks;
      storedBytes = stored.storedBytes;
      chunksWritten = stored.chunksWritten;
      chunksReused = stored.chunksReused;
      costs.push(...stored.costs);
    }
    const manifest: Manifest = {
      uid,
      nodeStatusVersion: plan.nodeStatusVersion,
      codec: this.settings.codec.codec,
      bucketCount: plan.bucketCount,
      nodeCount: plan.nodeCount,
      rawBytes: plan.rawBytes,
      storedBytes,
      createdAt: times.nowIso,
      expiresAt: times.expiresAt,
      ...(plan.phaseCounts === undefined ? {} : { phaseCounts: plan.phaseCounts }),
      ...(record ? { parentVersion: record.nodeStatusVersion } : {}),
      chunks: manifestChunks,
      ...(inline ? { inline } : {}),
    };
    const storedManifest = await writeManifest(this.store, manifest, plan.previous, times.renewBefore);
    costs.push(storedManifest);
    return {
      costs,
      chunksWritten,
      chunksReused,
      storedBytes,
      codec: this.settings.codec.codec,
      leaseExpiresAt: manifestChunks.reduce(
        (lease, chunk) => Math.min(lease, chunk.leaseExpiresAt),
        storedManifest.leaseExpiresAt,
      ),
    };
  }

  /** Same version: only the record's fields change (or nothing at all). */
  private async commitFields(
    record: WorkflowRecord,
    fields: RecordFields,
    nowIso: string,
  ): Promise<CommitOutcome | 'conflict'> {
    if (sameFields(record, fields)) return unchangedOutcome(record);
    const next: WorkflowRecord = {
      ...record,
      ...fields,
      resourceVersion: record.resourceVersion + 1,
      previousNodeStatusVersion: record.nodeStatusVersion,
      updatedAt: nowIso,
    };
    const committed = await this.store.commitRecord(next, record.resourceVersion);
    if (committed === 'conflict') return 'conflict';
    const write = nothingWritten();
    write.bytesWritten = committed.bytes;
    write.writeUnits = committed.writeUnits;
    return { workflow: toSummary(next), created: false, write, rawBytes: 0, storedBytes: 0 };
  }

  /**
   * Small maps stay inline: one read hydrates them. The manifest keeps a
   * copy, so the version stays readable by id after it is superseded
   * (invariant 3). Returns the buckets compressed on the way, to reuse.
   */
  private inlineOf(plan: VersionPlan): {
    inline?: Uint8Array[];
    compressed: Map<number, Uint8Array[]>;
  } {
    const compressed = new Map<number, Uint8Array[]>();
    const { alwaysOffload, inlineMaxBytes, codec } = this.settings;
    if (alwaysOffload || plan.rawBytes > inlineMaxBytes * 16) return { compressed };
    if (plan.entries.length !== plan.bucketCount) return { compressed };
    const all = plan.entries.map((entry, index) => {
      if (entry.kind !== 'new') return undefined;
      const parts = compressBucket(entry.bucket.canonical, codec);
      compressed.set(index, parts);
      return parts;
    });
    if (!all.every((parts) => parts !== undefined && parts.length === 1)) return { compressed };
    const chunks = all.map((parts) => (parts as Uint8Array[])[0] as Uint8Array);
    return partsBytes(chunks) <= inlineMaxBytes ? { inline: chunks, compressed } : { compressed };
  }

  /** Puts the new chunks and renews the reused ones whose lease ends before `renewBefore`. */
  private async storeChunks(
    uid: string,
    record: WorkflowRecord | undefined,
    plan: VersionPlan,
    compressed: Map<number, Uint8Array[]>,
    expiresAt: number,
    renewBefore: number,
  ) {
    const recordLease = record?.leaseExpiresAt ?? 0;
    const manifestChunks: ManifestChunk[] = [];
    const toStore: StoredChunk[] = [];
    const toRenew: ChunkRef[] = [];
    const seen = new Set<string>();
    let storedBytes = 0;
    plan.entries.forEach((entry, index) => {
      if (entry.kind === 'new') {
        const parts = compressed.get(index) ?? compressBucket(entry.bucket.canonical, this.settings.codec);
        storedBytes += partsBytes(parts);
        manifestChunks.push({
          chunkId: entry.bucket.chunkId,
          parts: parts.length,
          leaseExpiresAt: expiresAt,
          storedBytes: partsBytes(parts),
          phaseMask: entry.bucket.summary.phaseMask,
          typeMask: entry.bucket.summary.typeMask,
        });
        if (!seen.has(entry.bucket.chunkId)) {
          seen.add(entry.bucket.chunkId);
          toStore.push({ chunkId: entry.bucket.chunkId, codec: this.settings.codec.codec, parts });
        }
        return;
      }
      storedBytes += entry.chunk.storedBytes;
      // The record's lease bounds the current version's items only, never a staged chunk's.
      const lease =
        entry.kind === 'reused'
          ? Math.max(entry.chunk.leaseExpiresAt, recordLease)
          : entry.chunk.leaseExpiresAt;
      if (lease < renewBefore) {
        if (!seen.has(entry.chunk.chunkId)) toRenew.push(entry.chunk);
        seen.add(entry.chunk.chunkId);
        manifestChunks.push({ ...entry.chunk, leaseExpiresAt: expiresAt });
      } else {
        seen.add(entry.chunk.chunkId);
        manifestChunks.push({ ...entry.chunk, leaseExpiresAt: lease });
      }
    });
    const [stored, renewed] = await Promise.all([
      this.store.putChunks(uid, toStore, expiresAt),
      toRenew.length > 0 ? this.store.renewChunks(uid, toRenew, expiresAt) : undefined,
    ]);
    if (renewed && renewed.missing.length > 0 && record) {
      throw new VersionMissingError(record.uid, record.nodeStatusVersion, renewed.missing);
    }
    return {
      manifestChunks,
      storedBytes,
      chunksWritten: toStore.length,
      chunksReused: plan.entries.filter((entry) => entry.kind !== 'new').length,
      costs: renewed ? [stored, renewed] : [stored],
    };
  }
}
