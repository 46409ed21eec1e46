/**
 * The storage port the domain owns. `functions/store/dynamodb-store.ts` is the
 * DynamoDB adapter and `memory-store.ts` an in-memory one; both pass the same
 * port contract suite (`test/contract/store-port.ts`). The adapter knows keys,
 * items and conditions; policy (when to write a delta manifest, when to
 * renew) is the domain's. No AWS type appears here.
 */
import type { StopStrategy } from '#contract/workflow';
import type { PhaseCounts } from './summaries.ts';

/** One chunk a version needs: its id and how many items hold it. */
export interface ChunkRef {
  readonly chunkId: string;
  readonly parts: number;
}

export interface ManifestChunk extends ChunkRef {
  /** Lower bound of the chunk items' `expiresAt` when the manifest was written (epoch seconds). */
  readonly leaseExpiresAt: number;
  /** Compressed size of the chunk, all parts. */
  readonly storedBytes: number;
  /** Which phases occur in the bucket (see `summaries.ts`); absent when not known (older manifests). */
  readonly phaseMask?: number;
  /** Which node types occur in the bucket; absent when not known. */
  readonly typeMask?: number;
}

/** An immutable description of one node-status version. */
export interface Manifest {
  readonly uid: string;
  readonly nodeStatusVersion: string;
  readonly codec: string;
  readonly bucketCount: number;
  readonly nodeCount: number;
  readonly rawBytes: number;
  readonly storedBytes: number;
  readonly createdAt: string;
  /** Epoch seconds; the TTL attribute. */
  readonly expiresAt: number;
  /** Nodes by phase; absent when not known. */
  readonly phaseCounts?: PhaseCounts;
  /**
   * The version the record pointed at when this one was written: the one it
   * replaces if its commit succeeds. Absent for a workflow's first version.
   */
  readonly parentVersion?: string;
  /** Ordered by bucket index; empty when the version is stored inline. */
  readonly chunks: readonly ManifestChunk[];
  /** Compressed buckets, in bucket order, when the version is small enough to live inline. */
  readonly inline?: readonly Uint8Array[];
  /**
   * Set when the store keeps this manifest as a delta: the full manifest it
   * only lists the differences from. Both items must be alive to read it.
   */
  readonly base?: Manifest;
}

/** How a manifest is stored as the difference from a full one. */
export interface ManifestDelta {
  /** The full manifest the delta names for every bucket it does not list. */
  readonly base: Manifest;
  /** Bucket indexes whose chunk differs from the base's, ascending. */
  readonly changedIndexes: readonly number[];
}

/**
 * Where a log entry is stored: the resourceVersion of the commit that wrote
 * it, and a tag its writer drew at random, so that two writers racing for
 * the same resourceVersion never write the same item.
 */
export interface EntryKey {
  readonly seq: number;
  readonly tag: string;
}

/** What a delta's chain stands on: a snapshot entry, or a version stored in the chunk layout. */
export type LogBase =
  | { readonly kind: 'snapshot'; readonly key: EntryKey }
  | { readonly kind: 'manifest'; readonly nodeStatusVersion: string };

/**
 * One item of the log layout (`log-codec.ts` has its payload formats). A
 * snapshot holds a whole version: its bucket table (each bucket's chunk id,
 * masks and size) and the pages its buckets are stored in. A delta holds
 * only what one commit changed: the changed buckets' new chunk ids and the
 * changed nodes, field by field. A version is its entry, its parents back
 * to the chain's base, and that base. Immutable, like every item of the
 * versions table.
 */
export interface LogEntry {
  readonly uid: string;
  readonly key: EntryKey;
  readonly kind: 'snapshot' | 'delta';
  readonly nodeStatusVersion: string;
  /** The version the record pointed at when this entry was written (the history chain). */
  readonly parentVersion?: string;
  /** A delta: the entry of the version it changes; absent on the first delta on a chunk-layout base. */
  readonly parent?: EntryKey;
  /** A delta: the base of its chain. */
  readonly base?: LogBase;
  /**
   * A snapshot written on a version of the log layout: that version's head
   * entry and chain, so a reader can walk back from chain to chain.
   */
  readonly previousChain?: { readonly head: EntryKey; readonly chainStart: number };
  /** Sequence number of the chain's first entry: where a read of the chain starts. */
  readonly chainStart: number;
  /** Codec of the node change of a delta (its dictionary). */
  readonly codec: string;
  readonly bucketCount: number;
  readonly nodeCount: number;
  readonly rawBytes: number;
  /** Stored bytes of the whole version: its base's pages or chunks and its chain's entries. */
  readonly storedBytes: number;
  readonly phaseCounts?: PhaseCounts;
  readonly createdAt: string;
  /** Epoch seconds; the TTL attribute. */
  readonly expiresAt: number;
  /** The packed payload (see `log-codec.ts`). */
  readonly data: Uint8Array;
}

/** Where a version id was written in the log layout: which entry, on which chain. */
export interface LogVersionRef {
  readonly nodeStatusVersion: string;
  readonly key: EntryKey;
  readonly chainStart: number;
  readonly expiresAt: number;
}

/** The workflow record: the one item whose conditional update commits a change. */
export interface WorkflowRecord {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly phase: string;
  readonly message?: string;
  readonly shutdown?: StopStrategy;
  /** Compare-and-set counter; every committed change increments it. */
  readonly resourceVersion: number;
  readonly nodeStatusVersion: string;
  /**
   * The version the record pointed at before the commit that wrote it (the
   * same as `nodeStatusVersion` when that commit changed fields only): a
   * retried patch recognises its own result through it. Absent on a
   * workflow's first commit.
   */
  readonly previousNodeStatusVersion?: string;
  readonly nodeCount: number;
  /** The current version's nodes by phase; absent on records written before it was kept. */
  readonly phaseCounts?: PhaseCounts;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Every item of the current version expires no earlier than this (epoch seconds). */
  readonly leaseExpiresAt: number;
  readonly codec: string;
  /** Copy of the current version's compressed buckets when stored inline: one read hydrates it. */
  readonly inline?: readonly Uint8Array[];
  /** Set when the current version is stored in the log layout: its entry and where its chain starts. */
  readonly log?: { readonly head: EntryKey; readonly chainStart: number };
}

export type WorkflowSummary = Omit<
  WorkflowRecord,
  'inline' | 'leaseExpiresAt' | 'codec' | 'previousNodeStatusVersion' | 'log'
>;

export interface StoredChunk {
  readonly chunkId: string;
  readonly codec: string;
  readonly parts: readonly Uint8Array[];
}

export interface FetchedChunk {
  readonly codec: string;
  readonly data: Uint8Array;
}

/** What a write cost, from the sizes of the items written, by DynamoDB's published rules. */
export interface WriteCost {
  readonly items: number;
  readonly bytes: number;
  readonly writeUnits: number;
}

export interface VersionSummary {
  readonly nodeStatusVersion: string;
  readonly createdAt: string;
  readonly expiresAt: number;
  readonly nodeCount: number;
  readonly storedBytes: number;
  /** Nodes by phase; absent when not known. */
  readonly phaseCounts?: PhaseCounts;
  /** See {@link Manifest.parentVersion}: committed versions form a chain through it. */
  readonly parentVersion?: string;
}

/** A workflow the lease index lists: which one, and when the lease of its current version ends. */
export interface LeaseEntry {
  readonly uid: string;
  readonly leaseExpiresAt: number;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Opaque cursor for the next page; absent on the last page. */
  readonly next?: string;
}

/** A staged upload: a large save sent in parts, invisible until its commit. */
export interface Upload {
  readonly uid: string;
  readonly uploadId: string;
  readonly namespace: string;
  readonly name: string;
  readonly phase?: string;
  readonly message?: string;
  /** Nodes the whole map will have, as declared when the upload began. */
  readonly nodeCount: number;
  readonly bucketCount: number;
  /** The version the record pointed at when the upload began: buckets not uploaded are taken from it. */
  readonly baseVersion?: string;
  readonly createdAt: string;
  /** Epoch seconds; the TTL attribute. An upload never committed expires. */
  readonly expiresAt: number;
}

/** One bucket an upload part stored as a chunk. */
export interface UploadedBucket extends ManifestChunk {
  readonly index: number;
  readonly nodeCount: number;
  readonly rawBytes: number;
  readonly phaseCounts: PhaseCounts;
}

export interface UploadPart {
  readonly partNumber: number;
  readonly buckets: readonly UploadedBucket[];
  /** Epoch seconds; the TTL attribute. */
  readonly expiresAt: number;
}

export interface WorkflowStore {
  /** Strongly consistent read of the record. */
  getRecord(uid: string): Promise<WorkflowRecord | undefined>;
  getManifest(uid: string, nodeStatusVersion: string): Promise<Manifest | undefined>;
  /** Batched, parallel reads; ids of chunks with any part missing are returned in `missing`. */
  getChunks(
    uid: string,
    refs: readonly ChunkRef[],
  ): Promise<{ found: Map<string, FetchedChunk>; missing: string[] }>;
  /** Puts chunk items (immutable content; re-putting one only extends its lease). */
  putChunks(uid: string, chunks: readonly StoredChunk[], expiresAt: number): Promise<WriteCost>;
  /**
   * Raises `expiresAt` of existing chunk items to `expiresAt` (never lowers
   * it); returns the ids of chunks that no longer exist.
   */
  renewChunks(
    uid: string,
    refs: readonly ChunkRef[],
    expiresAt: number,
  ): Promise<WriteCost & { missing: string[] }>;
  /**
   * Writes the manifest and its history entry. With `delta`, the manifest
   * item lists only the buckets at `changedIndexes` and names `delta.base`
   * (a full manifest) for the rest; the domain decides when (see
   * `manifest-policy.ts`). A delta is not stored over a full manifest of the
   * same version, which other deltas may name as their base: `stored` is then
   * false, the full one is kept, and only the history entry is written.
   */
  putManifest(manifest: Manifest, delta?: ManifestDelta): Promise<WriteCost & { stored: boolean }>;
  /**
   * Raises `expiresAt` of one manifest item (never lowers it, never creates
   * it); undefined if it no longer exists.
   */
  extendManifestLease(
    uid: string,
    nodeStatusVersion: string,
    expiresAt: number,
  ): Promise<WriteCost | undefined>;
  /** Raises `expiresAt` of the manifest (and of its base, if any); undefined if an item no longer exists. */
  renewManifest(manifest: Manifest, expiresAt: number): Promise<WriteCost | undefined>;
  /**
   * The commit point: writes the record if its resourceVersion still equals
   * `expectedResourceVersion` (or if it does not exist, when that is
   * undefined). Returns 'conflict' when the condition fails.
   */
  commitRecord(
    record: WorkflowRecord,
    expectedResourceVersion: number | undefined,
  ): Promise<WriteCost | 'conflict'>;
  /** Deletes the record only; false if it did not exist. */
  deleteRecord(uid: string): Promise<boolean>;
  listRecords(namespace: string, limit: number, cursor?: string): Promise<Page<WorkflowSummary>>;
  /** Newest first. */
  listVersions(uid: string, limit: number): Promise<VersionSummary[]>;
  /** Records whose lease ends before `before`, from the lease index (no scan). */
  findShortLeases(before: number, limit: number, cursor?: string): Promise<Page<LeaseEntry>>;
  /** The smallest lease of any record, or undefined when there is none. */
  minimumLease(): Promise<number | undefined>;
  /** Stores an upload (immutable; expires by TTL). */
  putUpload(upload: Upload): Promise<WriteCost>;
  getUpload(uid: string, uploadId: string): Promise<Upload | undefined>;
  /** Stores one part's list of uploaded buckets; putting a part number again replaces it. */
  putUploadPart(uid: string, uploadId: string, part: UploadPart): Promise<WriteCost>;
  /** Every part of an upload, by part number. */
  listUploadParts(uid: string, uploadId: string): Promise<UploadPart[]>;
  /** Sets the record's lease if it still points at `nodeStatusVersion`. */
  renewRecordLease(uid: string, nodeStatusVersion: string, leaseExpiresAt: number): Promise<boolean>;
  /** Puts a log entry (immutable; a writer's tag makes its key its own). */
  putLogEntry(entry: LogEntry): Promise<WriteCost>;
  /**
   * The entries from sequence number `chainStart` up to and including
   * `head`, in key order: the chain of the version `head` is, and any entry
   * of another writer in between (an orphan), which the caller skips by
   * following parents. Eventually consistent unless `consistent`.
   */
  getLogEntries(uid: string, chainStart: number, head: EntryKey, consistent: boolean): Promise<LogEntry[]>;
  /**
   * The entries a version id was written as, newest first (usually one),
   * read consistently. It reads every log entry of the workflow: a reader
   * looks on the current version's chain first.
   */
  findLogVersion(uid: string, nodeStatusVersion: string): Promise<LogVersionRef[]>;
  /** Log entries newest first, without their payload: what `GET .../versions` lists. */
  listLogVersions(uid: string, limit: number): Promise<VersionSummary[]>;
  /**
   * Raises `expiresAt` of log entries (never lowers it, never creates an
   * item); returns how many no longer exist.
   */
  renewLogItems(
    uid: string,
    entries: readonly EntryKey[],
    expiresAt: number,
  ): Promise<WriteCost & { missing: number }>;
}
