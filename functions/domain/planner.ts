/**
 * Planning a commit: which buckets of the next version are new and which the
 * current version already has. A delta touches only the buckets of the ids it
 * changes; a whole map reuses every chunk the current version has. Nothing is
 * written here.
 */
import {
  bucketCountFor,
  bucketOf,
  type CodecOptions,
  type PreparedBucket,
  type PreparedVersion,
  prepareBucket,
  prepareVersion,
  versionIdOf,
} from './codec.ts';
import { VersionMissingError } from './errors.ts';
import {
  applyNodeChange,
  changedIds,
  failUnfinishedNodes,
  type NodeChange,
  type NodeMap,
  restrictChange,
} from './nodes.ts';
import type { Manifest, ManifestChunk, WorkflowRecord } from './store.ts';
import { addCounts, type PhaseCounts, sumCounts, summarize } from './summaries.ts';
import type { DecodedBucket, LoadedVersion, VersionReader } from './version-reader.ts';

/** The content a commit points the record at. */
export interface VersionPlan {
  /** The current version's manifest, when there is one: the next may be written as a delta of it. */
  readonly previous?: Manifest;
  readonly nodeStatusVersion: string;
  readonly bucketCount: number;
  readonly nodeCount: number;
  readonly rawBytes: number;
  /** The version's nodes by phase; absent when not known (the current one's were not). */
  readonly phaseCounts?: PhaseCounts;
  /** One entry per bucket, in order: a new bucket to store, or a chunk the current version already has. */
  readonly entries: readonly PlanEntry[];
}

export type PlanEntry =
  | { readonly kind: 'new'; readonly bucket: PreparedBucket }
  /** A chunk of the current version: its lease is at least the record's. */
  | { readonly kind: 'reused'; readonly chunk: ManifestChunk }
  /** A chunk stored outside the current version (by an upload part): its own lease only. */
  | { readonly kind: 'staged'; readonly chunk: ManifestChunk };

/** The chunk id a plan entry stands for. */
export const entryChunkId = (entry: PlanEntry): string =>
  entry.kind === 'new' ? entry.bucket.chunkId : entry.chunk.chunkId;

/** The ids a change touches, by the bucket they live in. */
const affectedBuckets = (change: NodeChange, bucketCount: number): number[] => [
  ...new Set(changedIds(change).map((id) => bucketOf(id, bucketCount))),
];

/**
 * Applies a change bucket by bucket (terminal phases sticky, a stop's failures
 * applied when `stopped` is given), in place. Returns the node count after.
 */
function applyToBuckets(
  buckets: Map<number, DecodedBucket>,
  change: NodeChange,
  bucketCount: number,
  nodeCountBefore: number,
  stopped?: { readonly strategy: Parameters<typeof failUnfinishedNodes>[1]; readonly finishedAt: string },
): number {
  let nodeCount = nodeCountBefore;
  for (const [index, bucket] of buckets) {
    const before = Object.keys(bucket.nodes).length;
    applyNodeChange(
      bucket.nodes,
      restrictChange(change, (id) => bucketOf(id, bucketCount) === index),
    );
    if (stopped) failUnfinishedNodes(bucket.nodes, stopped.strategy, stopped.finishedAt);
    nodeCount += Object.keys(bucket.nodes).length - before;
  }
  return nodeCount;
}

/** A whole map from a version's nodes with some buckets replaced. */
async function wholeMapWith(
  reader: VersionReader,
  record: WorkflowRecord,
  nodeStatusVersion: string,
  buckets: Map<number, DecodedBucket>,
  bucketCount: number,
): Promise<NodeMap> {
  const all = await reader.readAllNodes(record, nodeStatusVersion);
  for (const id of Object.keys(all)) if (buckets.has(bucketOf(id, bucketCount))) delete all[id];
  for (const bucket of buckets.values()) Object.assign(all, bucket.nodes);
  return all;
}

export class Planner {
  constructor(
    private readonly reader: VersionReader,
    private readonly codec: CodecOptions,
    private readonly now: () => number,
  ) {}

  /** Plans a delta: touches only the buckets of the changed ids, unless the bucket count must change. */
  async planPatch(record: WorkflowRecord, change: NodeChange): Promise<VersionPlan> {
    const version = await this.reader.locate(record, record.nodeStatusVersion);
    const buckets = await this.reader.readBuckets(
      record.uid,
      record.nodeStatusVersion,
      version,
      affectedBuckets(change, version.bucketCount),
    );
    const countsBefore = sumCounts(
      [...buckets.values()].map((bucket) => summarize(bucket.nodes).phaseCounts),
    );
    const nodeCount = applyToBuckets(
      buckets,
      change,
      version.bucketCount,
      record.nodeCount,
      record.shutdown
        ? { strategy: record.shutdown, finishedAt: new Date(this.now()).toISOString() }
        : undefined,
    );
    if (version.inline || bucketCountFor(nodeCount, this.codec) !== version.bucketCount) {
      // Small (inline) maps and bucket-count changes are re-encoded whole.
      const all = await wholeMapWith(
        this.reader,
        record,
        record.nodeStatusVersion,
        buckets,
        version.bucketCount,
      );
      return this.planWhole(record, prepareVersion(all, this.codec), version.manifest);
    }
    const manifest = version.manifest as Manifest;
    let rawBytes = manifest.rawBytes;
    const entries: PlanEntry[] = manifest.chunks.map((chunk) => ({ kind: 'reused', chunk }));
    const current = new Map(manifest.chunks.map((chunk) => [chunk.chunkId, chunk]));
    for (const [index, bucket] of buckets) {
      const prepared = prepareBucket(index, bucket.nodes);
      rawBytes += prepared.rawBytes - bucket.rawBytes;
      if (prepared.chunkId === (manifest.chunks[index] as ManifestChunk).chunkId) continue;
      const existing = current.get(prepared.chunkId);
      entries[index] = existing ? { kind: 'reused', chunk: existing } : { kind: 'new', bucket: prepared };
    }
    const chunkIds = entries.map((entry) =>
      entry.kind === 'new' ? entry.bucket.chunkId : entry.chunk.chunkId,
    );
    const countsAfter = sumCounts([...buckets.values()].map((bucket) => summarize(bucket.nodes).phaseCounts));
    return {
      previous: manifest,
      nodeStatusVersion: versionIdOf(chunkIds),
      bucketCount: version.bucketCount,
      nodeCount,
      rawBytes,
      ...(record.phaseCounts === undefined
        ? {}
        : { phaseCounts: addCounts(addCounts(record.phaseCounts, countsBefore, -1), countsAfter) }),
      entries,
    };
  }

  /** A plan for a whole prepared map: buckets the current version already has are reused. */
  async planWhole(
    record: WorkflowRecord | undefined,
    prepared: PreparedVersion,
    currentManifest?: Manifest,
  ): Promise<VersionPlan> {
    let manifest = currentManifest;
    if (!manifest && record && !record.inline && record.nodeStatusVersion !== prepared.nodeStatusVersion) {
      manifest = await this.reader.store.getManifest(record.uid, record.nodeStatusVersion);
      if (!manifest) throw new VersionMissingError(record.uid, record.nodeStatusVersion, []);
    }
    const current = new Map((manifest?.chunks ?? []).map((chunk) => [chunk.chunkId, chunk]));
    return {
      ...(manifest ? { previous: manifest } : {}),
      nodeStatusVersion: prepared.nodeStatusVersion,
      bucketCount: prepared.bucketCount,
      nodeCount: prepared.nodeCount,
      rawBytes: prepared.rawBytes,
      phaseCounts: sumCounts(prepared.buckets.map((bucket) => bucket.summary.phaseCounts)),
      entries: prepared.buckets.map((bucket) => {
        const chunk = current.get(bucket.chunkId);
        return chunk ? { kind: 'reused' as const, chunk } : { kind: 'new' as const, bucket };
      }),
    };
  }

  /**
   * The version id `change` makes of version `base` (no stop applied),
   * reading only the buckets it touches; the whole map only when it is inline
   * or the bucket count changes, as {@link planPatch} does.
   */
  async versionAfter(record: WorkflowRecord, base: string, change: NodeChange): Promise<string> {
    const version: LoadedVersion = await this.reader.locate(record, base);
    if (version.inline) {
      const all = await this.reader.readAllNodes(record, base);
      applyNodeChange(all, change);
      return prepareVersion(all, this.codec).nodeStatusVersion;
    }
    const manifest = version.manifest as Manifest;
    const { bucketCount } = version;
    const buckets = await this.reader.readBuckets(
      record.uid,
      base,
      version,
      affectedBuckets(change, bucketCount),
    );
    const nodeCount = applyToBuckets(buckets, change, bucketCount, manifest.nodeCount);
    if (bucketCountFor(nodeCount, this.codec) !== bucketCount) {
      const all = await wholeMapWith(this.reader, record, base, buckets, bucketCount);
      return prepareVersion(all, this.codec).nodeStatusVersion;
    }
    const chunkIds = manifest.chunks.map((chunk) => chunk.chunkId);
    for (const [index, bucket] of buckets) chunkIds[index] = prepareBucket(index, bucket.nodes).chunkId;
    return versionIdOf(chunkIds);
  }
}
