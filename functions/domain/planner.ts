/**
 * Planning a commit: which buckets of the next version are new, and which
 * the current version already has. A delta touches only the buckets of the
 * ids it changes; a whole map reuses every bucket the current version has.
 * In the log layout a plan also carries the node change from the current
 * version, bucket by bucket, so the committer can store just that (a delta
 * entry) instead of the buckets; `log-policy.ts` says when the chain is long
 * enough to fold into a new snapshot instead. Nothing is written here.
 */
import {
  bucketCountFor,
  bucketOf,
  type CodecOptions,
  logCodecName,
  type PreparedBucket,
  type PreparedVersion,
  prepareBucket,
  prepareVersion,
  versionIdOf,
} from './codec.ts';
import {
  type ChangedBucket,
  emptyChange,
  type MutableNodeChange,
  packDelta,
  storedChangeBetween,
} from './log-codec.ts';
import { deltaFits, deltaTableBytes, shouldFold } from './log-policy.ts';
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
  /** The current version's manifest, when it is in the chunk layout: the next may be written as a delta of it. */
  readonly previous?: Manifest;
  /** The current version as located, when there is one and it is not inline. */
  readonly current?: LoadedVersion;
  readonly nodeStatusVersion: string;
  readonly bucketCount: number;
  readonly nodeCount: number;
  readonly rawBytes: number;
  /** The version's nodes by phase; absent when not known (the current one's were not). */
  readonly phaseCounts?: PhaseCounts;
  /** One entry per bucket, in order: a new bucket to store, or a chunk the current version already has. */
  readonly entries: readonly PlanEntry[];
  /**
   * Set when the plan may be stored as a delta entry on the current
   * version's chain (log layout): the buckets that changed and the node
   * change from the current version.
   */
  readonly delta?: DeltaPlan;
}

/** A delta entry's content: the changed buckets, the node change, and both packed as stored. */
export interface DeltaPlan {
  readonly changed: readonly ChangedBucket[];
  readonly change: NodeChange;
  /** The packed payload (`log-codec.ts`), within the item limit. */
  readonly data: Uint8Array;
}

export type PlanEntry =
  | { readonly kind: 'new'; readonly bucket: PreparedBucket }
  /** A chunk of the current version: its lease is at least the record's. Its text, when known. */
  | { readonly kind: 'reused'; readonly chunk: ManifestChunk; readonly bucket?: PreparedBucket }
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
  version: LoadedVersion,
  nodeStatusVersion: string,
  buckets: Map<number, DecodedBucket>,
  bucketCount: number,
): Promise<NodeMap> {
  const all: NodeMap = {};
  for (const bucket of (await reader.readBuckets(record.uid, nodeStatusVersion, version)).values()) {
    Object.assign(all, bucket.nodes);
  }
  for (const id of Object.keys(all)) if (buckets.has(bucketOf(id, bucketCount))) delete all[id];
  for (const bucket of buckets.values()) Object.assign(all, bucket.nodes);
  return all;
}

/** Shallow copies of buckets' node maps: the change replaces nodes, it never edits one in place. */
const copyNodes = (buckets: Map<number, DecodedBucket>): Map<number, NodeMap> =>
  new Map([...buckets].map(([index, bucket]) => [index, { ...bucket.nodes }]));

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
    const before = copyNodes(buckets);
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
    const rewrite =
      version.inline ||
      bucketCountFor(nodeCount, this.codec) !== version.bucketCount ||
      (this.codec.layout === 'log' ? shouldFold(version, this.codec) : version.log !== undefined);
    const delta = rewrite ? undefined : this.deltaOf(buckets, before, version);
    if (rewrite || (this.codec.layout === 'log' && delta === undefined)) {
      // Small (inline) maps, bucket-count changes and long chains are re-encoded whole.
      const all = await wholeMapWith(
        this.reader,
        record,
        version,
        record.nodeStatusVersion,
        buckets,
        version.bucketCount,
      );
      return this.planWhole(record, prepareVersion(all, this.codec), version, { fold: true });
    }
    const infos = version.buckets as readonly { readonly chunkId: string }[];
    let rawBytes = version.manifest?.rawBytes ?? version.log?.head.rawBytes ?? 0;
    const current = new Map((version.manifest?.chunks ?? []).map((chunk) => [chunk.chunkId, chunk]));
    const entries: PlanEntry[] = version.manifest
      ? version.manifest.chunks.map((chunk) => ({ kind: 'reused', chunk }))
      : [];
    const chunkIds = infos.map((info) => info.chunkId);
    for (const [index, bucket] of buckets) {
      const prepared = (delta?.prepared.get(index) ?? prepareBucket(index, bucket.nodes)) as PreparedBucket;
      rawBytes += prepared.rawBytes - bucket.rawBytes;
      if (prepared.chunkId === chunkIds[index]) continue;
      chunkIds[index] = prepared.chunkId;
      if (version.manifest) {
        const existing = current.get(prepared.chunkId);
        entries[index] = existing ? { kind: 'reused', chunk: existing } : { kind: 'new', bucket: prepared };
      }
    }
    const countsAfter = sumCounts([...buckets.values()].map((bucket) => summarize(bucket.nodes).phaseCounts));
    return {
      ...(version.manifest ? { previous: version.manifest } : {}),
      current: version,
      nodeStatusVersion: versionIdOf(chunkIds),
      bucketCount: version.bucketCount,
      nodeCount,
      rawBytes,
      ...(record.phaseCounts === undefined
        ? {}
        : { phaseCounts: addCounts(addCounts(record.phaseCounts, countsBefore, -1), countsAfter) }),
      entries,
      ...(this.codec.layout === 'log' && delta ? { delta: delta.plan } : {}),
    };
  }

  /**
   * The delta entry of changed buckets (their nodes before and after), or
   * undefined when it would not fit in an item.
   */
  private deltaOf(
    buckets: Map<number, DecodedBucket>,
    before: Map<number, NodeMap>,
    version: LoadedVersion,
  ): { plan: DeltaPlan; prepared: Map<number, PreparedBucket> } | undefined {
    const prepared = new Map<number, PreparedBucket>();
    const changed: ChangedBucket[] = [];
    const stored = emptyChange();
    for (const [index, bucket] of buckets) {
      const bucketPrepared = prepareBucket(index, bucket.nodes);
      prepared.set(index, bucketPrepared);
      if (bucketPrepared.chunkId === version.buckets?.[index]?.chunkId) continue;
      changed.push(changedBucketOf(bucketPrepared));
      storedChangeBetween(before.get(index) as NodeMap, bucket.nodes, stored);
    }
    const plan = this.packed(sortChanged(changed), stored, version);
    return plan ? { plan, prepared } : undefined;
  }

  /**
   * A delta of whole buckets, each given before and after (an upload's
   * buckets on the version it began from), or undefined when it does not fit
   * the chain of `version`.
   */
  deltaOfBuckets(
    version: LoadedVersion,
    buckets: readonly {
      readonly before: NodeMap;
      readonly after: NodeMap;
      readonly changed: ChangedBucket;
    }[],
  ): DeltaPlan | undefined {
    const stored = emptyChange();
    for (const bucket of buckets) storedChangeBetween(bucket.before, bucket.after, stored);
    return this.packed(sortChanged(buckets.map((bucket) => bucket.changed)), stored, version);
  }

  /** A delta plan with its payload packed, or undefined when it does not fit the chain (`log-policy.ts`). */
  private packed(
    changed: readonly ChangedBucket[],
    change: NodeChange,
    version: LoadedVersion,
  ): DeltaPlan | undefined {
    const data = packDelta({ changed, change }, logCodecName, this.codec.compressionLevel);
    return deltaFits(data.length, version, this.codec) ? { changed, change, data } : undefined;
  }

  /**
   * A plan for a whole prepared map: buckets the current version already has
   * are reused. In the log layout, a map that differs from the current
   * version in few enough buckets is planned as a delta of it too, unless
   * `fold` asks for a whole version.
   */
  async planWhole(
    record: WorkflowRecord | undefined,
    prepared: PreparedVersion,
    currentVersion?: LoadedVersion,
    options: { readonly fold?: boolean } = {},
  ): Promise<VersionPlan> {
    let version = currentVersion;
    if (!version && record && !record.inline && record.nodeStatusVersion !== prepared.nodeStatusVersion) {
      version = await this.reader.locate(record, record.nodeStatusVersion);
    }
    const manifest = version?.manifest;
    const current = new Map((manifest?.chunks ?? []).map((chunk) => [chunk.chunkId, chunk]));
    const plan: VersionPlan = {
      ...(manifest ? { previous: manifest } : {}),
      ...(version && !version.inline ? { current: version } : {}),
      nodeStatusVersion: prepared.nodeStatusVersion,
      bucketCount: prepared.bucketCount,
      nodeCount: prepared.nodeCount,
      rawBytes: prepared.rawBytes,
      phaseCounts: sumCounts(prepared.buckets.map((bucket) => bucket.summary.phaseCounts)),
      entries: prepared.buckets.map((bucket) => {
        const chunk = current.get(bucket.chunkId);
        return chunk ? { kind: 'reused' as const, chunk, bucket } : { kind: 'new' as const, bucket };
      }),
    };
    if (
      this.codec.layout !== 'log' ||
      options.fold ||
      !record ||
      !version ||
      version.inline ||
      !version.buckets ||
      version.bucketCount !== prepared.bucketCount ||
      shouldFold(version, this.codec)
    ) {
      return plan;
    }
    const infos = version.buckets;
    const changedIndexes = prepared.buckets
      .filter((bucket) => bucket.chunkId !== infos[bucket.index]?.chunkId)
      .map((bucket) => bucket.index);
    // Too many changed buckets for a delta to fit, whatever its nodes: no need to read them.
    if (!deltaFits(deltaTableBytes(changedIndexes.length), version, this.codec)) return plan;
    const buckets = await this.reader.readBuckets(
      record.uid,
      record.nodeStatusVersion,
      version,
      changedIndexes,
    );
    const stored: MutableNodeChange = emptyChange();
    for (const index of changedIndexes) {
      const after = JSON.parse((prepared.buckets[index] as PreparedBucket).canonical) as NodeMap;
      storedChangeBetween((buckets.get(index) as DecodedBucket).nodes, after, stored);
    }
    const changed = changedIndexes.map((index) => changedBucketOf(prepared.buckets[index] as PreparedBucket));
    const delta = this.packed(changed, stored, version);
    return delta ? { ...plan, delta } : plan;
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
    const { bucketCount } = version;
    const buckets = await this.reader.readBuckets(
      record.uid,
      base,
      version,
      affectedBuckets(change, bucketCount),
    );
    const before = version.manifest?.nodeCount ?? version.log?.head.nodeCount ?? 0;
    const nodeCount = applyToBuckets(buckets, change, bucketCount, before);
    if (bucketCountFor(nodeCount, this.codec) !== bucketCount) {
      const all = await wholeMapWith(this.reader, record, version, base, buckets, bucketCount);
      return prepareVersion(all, this.codec).nodeStatusVersion;
    }
    const chunkIds = (version.buckets ?? []).map((info) => info.chunkId);
    for (const [index, bucket] of buckets) chunkIds[index] = prepareBucket(index, bucket.nodes).chunkId;
    return versionIdOf(chunkIds);
  }
}

const changedBucketOf = (bucket: PreparedBucket): ChangedBucket => ({
  index: bucket.index,
  chunkId: bucket.chunkId,
  phaseMask: bucket.summary.phaseMask,
  typeMask: bucket.summary.typeMask,
  rawBytes: bucket.rawBytes,
});

const sortChanged = (changed: ChangedBucket[]): ChangedBucket[] => changed.sort((a, b) => a.index - b.index);
