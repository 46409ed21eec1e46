/**
 * Staged large writes: a save too big for one request is sent as parts that
 * each carry whole buckets (the client buckets its map with the documented
 * hash, see docs/protocol.md). Each part's buckets are stored at once as
 * chunks, content-addressed and expiring by TTL like any chunk; nothing
 * refers to them until the commit writes a manifest and then, in one
 * compare-and-set, the record (invariant 2). Buckets the client did not send
 * are those of the version the upload began from. An upload never committed,
 * and its parts and chunks, simply expire.
 *
 *   t0  client begins upload U on version V (record at resourceVersion 7)
 *   t1  parts of U store their chunks: invisible
 *   t2  a stop commits 7 -> 8
 *   t3  U commits with If-Match 7: 409, or with re-apply its change is
 *       applied on the stopped state; without If-Match the stopped workflow
 *       stays stopped (its unfinished nodes fail), as any save after a stop
 */
import { randomUUID } from 'node:crypto';
import {
  bucketCountFor,
  bucketOf,
  type CodecOptions,
  compressBucket,
  prepareBucket,
  versionIdOf,
} from './codec.ts';
import { type RetryPolicy, retryCommit } from './commit-retry.ts';
import type { Committer, RecordFields } from './committer.ts';
import { unchangedOutcome } from './committer.ts';
import {
  ConflictError,
  PayloadTooLargeError,
  UploadNotFoundError,
  ValidationError,
  VersionGoneError,
  VersionMissingError,
  VersionNotFoundError,
  WorkflowNotFoundError,
} from './errors.ts';
import { type NodeMap, validateNode, workflowPhaseOf } from './nodes.ts';
import type { PlanEntry, Planner, VersionPlan } from './planner.ts';
import { epochSeconds, type Retention } from './retention.ts';
import type {
  Manifest,
  ManifestChunk,
  Upload,
  UploadedBucket,
  WorkflowRecord,
  WorkflowStore,
} from './store.ts';
import { addCounts, type PhaseCounts, sumCounts, summarize } from './summaries.ts';
import type { BucketInfo, LoadedVersion, VersionReader } from './version-reader.ts';

/** A located version's node count, raw bytes and phase counts. */
function totalsOf(version: LoadedVersion): {
  nodeCount: number;
  rawBytes: number;
  phaseCounts?: PhaseCounts | undefined;
} {
  const source = version.manifest ?? version.log?.head;
  return {
    nodeCount: source?.nodeCount ?? 0,
    rawBytes: source?.rawBytes ?? 0,
    phaseCounts: source?.phaseCounts,
  };
}

export interface BeginUploadInput {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly phase?: string;
  readonly message?: string;
  /** Nodes the whole map will have: it fixes the bucket count. */
  readonly nodeCount: number;
}

export interface BegunUpload {
  readonly upload: Upload;
  /** The current version's chunk ids by bucket, when its bucket count is the upload's: send only the buckets that differ. */
  readonly baseChunkIds?: readonly string[];
}

export interface UploadPartResult {
  readonly partNumber: number;
  readonly buckets: number;
  readonly chunksWritten: number;
  readonly bytesWritten: number;
  readonly writeUnits: number;
}

/** Where a finished upload's bucket comes from. */
type Source =
  | { readonly kind: 'uploaded'; readonly bucket: UploadedBucket }
  | { readonly kind: 'base'; readonly chunk: BucketInfo };

/** An upload's plan: where each bucket comes from, and the base version they are read from. */
export type UploadPlan = VersionPlan & {
  readonly sources: readonly Source[];
  readonly base?: LoadedVersion;
  /**
   * True when every bucket is a stored chunk (uploaded, or the base's in the
   * chunk layout): the staged chunks can become the version as they are.
   */
  readonly staged: boolean;
};

export interface UploadSettings extends RetryPolicy {
  readonly codec: CodecOptions;
  readonly maxNodes: number;
  readonly now: () => number;
}

export class Uploads {
  constructor(
    private readonly store: WorkflowStore,
    private readonly reader: VersionReader,
    private readonly committer: Committer,
    private readonly planner: Planner,
    private readonly retention: Retention,
    private readonly settings: UploadSettings,
  ) {}

  async begin(input: BeginUploadInput): Promise<BegunUpload> {
    const phase = workflowPhaseOf(input.phase);
    if (!Number.isInteger(input.nodeCount) || input.nodeCount < 0) {
      throw new ValidationError('nodeCount must be a whole number of nodes, 0 or more');
    }
    if (input.nodeCount > this.settings.maxNodes) {
      throw new PayloadTooLargeError(
        `nodeCount is ${input.nodeCount}; a workflow has at most ${this.settings.maxNodes} nodes`,
      );
    }
    const bucketCount = bucketCountFor(input.nodeCount, this.settings.codec);
    const record = await this.store.getRecord(input.uid);
    const current =
      record && !record.inline ? await this.reader.locate(record, record.nodeStatusVersion) : undefined;
    const base = current?.buckets && current.bucketCount === bucketCount ? current.buckets : undefined;
    const nowMs = this.settings.now();
    const upload: Upload = {
      uid: input.uid,
      uploadId: randomUUID(),
      namespace: input.namespace,
      name: input.name,
      ...(phase === undefined ? {} : { phase }),
      ...(input.message === undefined ? {} : { message: input.message }),
      nodeCount: input.nodeCount,
      bucketCount,
      ...(record && base ? { baseVersion: record.nodeStatusVersion } : {}),
      createdAt: new Date(nowMs).toISOString(),
      // An upload has R to be committed; its chunks, born with 2R, outlive it.
      expiresAt: epochSeconds(nowMs) + this.retention.retentionSeconds,
    };
    await this.store.putUpload(upload);
    return {
      upload,
      ...(upload.baseVersion && base ? { baseChunkIds: base.map((bucket) => bucket.chunkId) } : {}),
    };
  }

  /** Stores whole buckets: `buckets` maps a bucket index to every node of that bucket. */
  async putPart(
    uid: string,
    uploadId: string,
    partNumber: number,
    buckets: Readonly<Record<string, NodeMap>>,
  ): Promise<UploadPartResult> {
    const upload = await this.requireUpload(uid, uploadId);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 100_000) {
      throw new ValidationError('the part number must be a whole number from 1 to 100000');
    }
    const prepared = Object.entries(buckets).map(([key, nodes]) => {
      const index = Number(key);
      if (!/^\d+$/.test(key) || index >= upload.bucketCount) {
        throw new ValidationError(
          `bucket '${key.slice(0, 20)}' does not exist: this upload has buckets 0 to ${upload.bucketCount - 1}`,
        );
      }
      if (nodes === null || typeof nodes !== 'object' || Array.isArray(nodes)) {
        throw new ValidationError(`bucket ${index} must be a JSON object mapping node id to node status`);
      }
      for (const [id, node] of Object.entries(nodes)) {
        validateNode(id, node);
        const belongs = bucketOf(id, upload.bucketCount);
        if (belongs !== index) {
          throw new ValidationError(
            `node '${id}' belongs in bucket ${belongs} of ${upload.bucketCount}, not ${index} (see docs/protocol.md: bucketing)`,
          );
        }
      }
      return prepareBucket(index, nodes);
    });
    const nowSeconds = epochSeconds(this.settings.now());
    const expiresAt = this.retention.bornExpiresAt(nowSeconds);
    const uploaded: UploadedBucket[] = [];
    const toStore: { chunkId: string; codec: string; parts: Uint8Array[] }[] = [];
    for (const bucket of prepared) {
      const parts = compressBucket(bucket.canonical, this.settings.codec);
      const storedBytes = parts.reduce((sum, part) => sum + part.length, 0);
      toStore.push({ chunkId: bucket.chunkId, codec: this.settings.codec.codec, parts });
      uploaded.push({
        index: bucket.index,
        chunkId: bucket.chunkId,
        parts: parts.length,
        storedBytes,
        rawBytes: bucket.rawBytes,
        nodeCount: bucket.nodeCount,
        leaseExpiresAt: expiresAt,
        phaseMask: bucket.summary.phaseMask,
        typeMask: bucket.summary.typeMask,
        phaseCounts: bucket.summary.phaseCounts,
      });
    }
    const chunks = await this.store.putChunks(uid, toStore, expiresAt);
    const part = await this.store.putUploadPart(uid, uploadId, {
      partNumber,
      buckets: uploaded,
      expiresAt: upload.expiresAt,
    });
    return {
      partNumber,
      buckets: uploaded.length,
      chunksWritten: toStore.length,
      bytesWritten: chunks.bytes + part.bytes,
      writeUnits: chunks.writeUnits + part.writeUnits,
    };
  }

  /**
   * The upload's whole map as a plan: every bucket stored already, by an
   * upload part or in the base version. Checks that the buckets hold the
   * node count the bucket count was chosen for, so the version id is the one
   * any writer of the same map computes.
   */
  async plan(upload: Upload): Promise<UploadPlan> {
    const byIndex = new Map<number, UploadedBucket>();
    for (const part of await this.store.listUploadParts(upload.uid, upload.uploadId)) {
      for (const bucket of part.buckets) byIndex.set(bucket.index, bucket);
    }
    let base: LoadedVersion | undefined;
    if (byIndex.size < upload.bucketCount) {
      base = upload.baseVersion ? await this.locateBase(upload.uid, upload.baseVersion) : undefined;
      if (!base?.buckets) {
        const missing = Array.from({ length: upload.bucketCount }, (_, index) => index).find(
          (index) => !byIndex.has(index),
        );
        if (upload.baseVersion) throw new VersionGoneError(upload.uid, upload.baseVersion);
        throw new ValidationError(
          `bucket ${missing} was never uploaded, and the upload has no base version to take it from`,
        );
      }
    }
    const baseBuckets = base?.buckets ?? [];
    const sources: Source[] = Array.from({ length: upload.bucketCount }, (_, index) => {
      const bucket = byIndex.get(index);
      return bucket
        ? { kind: 'uploaded', bucket }
        : { kind: 'base', chunk: baseBuckets[index] as BucketInfo };
    });
    let nodeCount = sources.reduce(
      (sum, source) => sum + (source.kind === 'uploaded' ? source.bucket.nodeCount : 0),
      0,
    );
    let rawBytes = sources.reduce(
      (sum, source) => sum + (source.kind === 'uploaded' ? source.bucket.rawBytes : 0),
      0,
    );
    let phaseCounts: PhaseCounts | undefined = sumCounts(
      sources.flatMap((source) => (source.kind === 'uploaded' ? [source.bucket.phaseCounts] : [])),
    );
    if (base && upload.baseVersion) {
      // What the base buckets that were replaced held: read them (as many as the buckets sent).
      const replaced = sources.flatMap((source, index) => (source.kind === 'uploaded' ? [index] : []));
      const replacedBuckets = await this.reader.readBuckets(upload.uid, upload.baseVersion, base, replaced);
      const totals = totalsOf(base);
      nodeCount += totals.nodeCount;
      rawBytes += totals.rawBytes;
      for (const bucket of replacedBuckets.values()) {
        nodeCount -= Object.keys(bucket.nodes).length;
        rawBytes -= bucket.rawBytes;
      }
      phaseCounts =
        totals.phaseCounts === undefined
          ? undefined
          : addCounts(
              addCounts(phaseCounts, totals.phaseCounts),
              sumCounts([...replacedBuckets.values()].map((bucket) => summarize(bucket.nodes).phaseCounts)),
              -1,
            );
    }
    if (bucketCountFor(nodeCount, this.settings.codec) !== upload.bucketCount) {
      throw new ValidationError(
        `the upload's buckets hold ${nodeCount} nodes, but it began with nodeCount ${upload.nodeCount}: begin a new upload with nodeCount ${nodeCount}`,
      );
    }
    const staged = base === undefined || base.manifest !== undefined;
    const entries: PlanEntry[] = staged
      ? sources.map((source) =>
          source.kind === 'uploaded'
            ? { kind: 'staged', chunk: source.bucket }
            : { kind: 'staged', chunk: source.chunk as ManifestChunk },
        )
      : [];
    return {
      ...(base?.manifest ? { previous: base.manifest } : {}),
      nodeStatusVersion: versionIdOf(
        sources.map((source) => (source.kind === 'uploaded' ? source.bucket.chunkId : source.chunk.chunkId)),
      ),
      bucketCount: upload.bucketCount,
      nodeCount,
      rawBytes,
      ...(phaseCounts === undefined ? {} : { phaseCounts }),
      entries,
      sources,
      ...(base ? { base } : {}),
      staged,
    };
  }

  /**
   * The upload as a delta on the log-layout version it began from: the node
   * change of every uploaded bucket that differs from the base's, read from
   * both; undefined when it does not fit the chain (`log-policy.ts`).
   */
  private async deltaOnBase(upload: Upload, plan: UploadPlan, base: LoadedVersion) {
    const changed = plan.sources.flatMap((source, index) =>
      source.kind === 'uploaded' && source.bucket.chunkId !== base.buckets?.[index]?.chunkId
        ? [source.bucket]
        : [],
    );
    const before = await this.reader.readBuckets(
      upload.uid,
      upload.baseVersion as string,
      base,
      changed.map((bucket) => bucket.index),
    );
    const after = await this.readUploaded(upload, plan, changed);
    return this.planner.deltaOfBuckets(
      base,
      changed.map((bucket) => ({
        before: (before.get(bucket.index) as { nodes: NodeMap }).nodes,
        after: after.get(bucket.index) as NodeMap,
        changed: {
          index: bucket.index,
          chunkId: bucket.chunkId,
          phaseMask: bucket.phaseMask ?? 0,
          typeMask: bucket.typeMask ?? 0,
          rawBytes: bucket.rawBytes,
        },
      })),
    );
  }

  /** The version an upload began from, as located; undefined when it is gone or the workflow too. */
  private async locateBase(uid: string, nodeStatusVersion: string): Promise<LoadedVersion | undefined> {
    const record = await this.store.getRecord(uid);
    if (!record) return undefined;
    try {
      return await this.reader.locate({ ...record, inline: undefined }, nodeStatusVersion);
    } catch (error) {
      if (error instanceof VersionNotFoundError || error instanceof VersionMissingError) return undefined;
      throw error;
    }
  }

  /** Every node of a planned upload, for the commit that must merge them node by node. */
  async hydrate(upload: Upload, plan: UploadPlan): Promise<NodeMap> {
    const uploaded = plan.sources.flatMap((source) => (source.kind === 'uploaded' ? [source.bucket] : []));
    const nodes: NodeMap = {};
    for (const bucket of (await this.readUploaded(upload, plan, uploaded)).values())
      Object.assign(nodes, bucket);
    const fromBase = plan.sources.flatMap((source, index) => (source.kind === 'base' ? [index] : []));
    if (plan.base && upload.baseVersion && fromBase.length > 0) {
      const buckets = await this.reader.readBuckets(upload.uid, upload.baseVersion, plan.base, fromBase);
      for (const bucket of buckets.values()) Object.assign(nodes, bucket.nodes);
    }
    return nodes;
  }

  /** The nodes of uploaded buckets, by bucket index, read from the chunks their parts stored. */
  private async readUploaded(
    upload: Upload,
    plan: UploadPlan,
    buckets: readonly UploadedBucket[],
  ): Promise<Map<number, NodeMap>> {
    const manifest: Manifest = {
      uid: upload.uid,
      nodeStatusVersion: plan.nodeStatusVersion,
      codec: this.settings.codec.codec,
      bucketCount: buckets.length,
      nodeCount: plan.nodeCount,
      rawBytes: plan.rawBytes,
      storedBytes: 0,
      createdAt: upload.createdAt,
      expiresAt: upload.expiresAt,
      chunks: buckets,
    };
    const read = await this.reader.readBuckets(upload.uid, plan.nodeStatusVersion, {
      current: false,
      manifest,
      codec: this.settings.codec.codec,
      bucketCount: buckets.length,
    });
    return new Map(buckets.map((bucket, position) => [bucket.index, read.get(position)?.nodes as NodeMap]));
  }

  async requireUpload(uid: string, uploadId: string): Promise<Upload> {
    const upload = await this.store.getUpload(uid, uploadId);
    // Expired but not yet removed by TTL is expired all the same.
    if (!upload || upload.expiresAt < epochSeconds(this.settings.now()))
      throw new UploadNotFoundError(uid, uploadId);
    return upload;
  }

  /**
   * The fast commit: the record moved on from nowhere the upload cannot
   * stand on, so the staged chunks become the next version as they are.
   * Answers 'slow' when a node-level merge is needed (a stale If-Match with
   * re-apply, or a stopped workflow), which the service does by hydrating
   * the upload and persisting it.
   */
  async commitStaged(
    upload: Upload,
    plan: UploadPlan,
    conditions: { readonly ifMatch?: string; readonly ifNoneMatch?: boolean; readonly reapply?: boolean },
  ) {
    const fields = (record: WorkflowRecord | undefined): RecordFields => ({
      namespace: upload.namespace,
      name: upload.name,
      phase: upload.phase ?? record?.phase ?? 'Running',
      message: upload.message ?? record?.message,
      shutdown: record?.shutdown,
    });
    const sameContent = (record: WorkflowRecord) =>
      record.nodeStatusVersion === plan.nodeStatusVersion &&
      record.namespace === upload.namespace &&
      record.name === upload.name &&
      (upload.phase === undefined || upload.phase === record.phase) &&
      (upload.message === undefined || upload.message === record.message);
    // A commit of the upload as it is (no re-apply): 'unchanged', or its version.
    const commitAsIs = async (record: WorkflowRecord, change: Parameters<Committer['commit']>[3]) => {
      const outcome = await this.committer.commit(upload.uid, record, fields(record), change);
      return outcome === 'conflict' ? outcome : { ...outcome, reapplied: false };
    };
    return retryCommit(
      this.settings,
      `workflow '${upload.uid}' kept changing; retry the commit`,
      async () => {
        const record = await this.store.getRecord(upload.uid);
        if (record && conditions.ifNoneMatch) {
          if (sameContent(record)) return { ...unchangedOutcome(record), reapplied: false };
          throw new ConflictError(`workflow '${upload.uid}' already exists`, currentOf(record));
        }
        if (!record && conditions.ifMatch !== undefined) throw new WorkflowNotFoundError(upload.uid);
        if (
          record &&
          conditions.ifMatch !== undefined &&
          String(record.resourceVersion) !== conditions.ifMatch
        ) {
          if (sameContent(record)) return { ...unchangedOutcome(record), reapplied: false };
          if (!conditions.reapply) {
            throw new ConflictError(
              `resourceVersion is ${record.resourceVersion}, not ${conditions.ifMatch}: reload and retry, or commit with onConflict=reapply and baseVersion`,
              currentOf(record),
            );
          }
          return 'slow' as const;
        }
        if (record?.shutdown) return 'slow' as const;
        if (!plan.staged) {
          // A base in the log layout has no chunk per bucket to point at: the upload is a
          // delta on it when the record is still there, else merged node by node.
          if (!record || !plan.base || record.nodeStatusVersion !== upload.baseVersion)
            return 'slow' as const;
          if (record.nodeStatusVersion === plan.nodeStatusVersion) return commitAsIs(record, 'unchanged');
          const delta = await this.deltaOnBase(upload, plan, plan.base);
          if (!delta) return 'slow' as const;
          return commitAsIs(record, { ...plan, current: plan.base, delta });
        }
        if (record && record.nodeStatusVersion === plan.nodeStatusVersion)
          return commitAsIs(record, 'unchanged');
        const current =
          record && !record.inline && !record.log
            ? await this.store.getManifest(record.uid, record.nodeStatusVersion)
            : undefined;
        const known = new Map((current?.chunks ?? []).map((chunk) => [chunk.chunkId, chunk]));
        // Chunks the current version has too are that version's: their lease is at least the record's.
        const entries = plan.entries.map((entry): PlanEntry => {
          const chunk = (entry as { chunk: ManifestChunk }).chunk;
          const same = known.get(chunk.chunkId);
          return same ? { kind: 'reused', chunk: same } : entry;
        });
        const outcome = await this.committer.commit(upload.uid, record, fields(record), {
          ...plan,
          ...(current ? { previous: current } : {}),
          entries,
        });
        if (outcome === 'conflict') return outcome;
        // The parts wrote the chunks the current version did not have: count them as this write's.
        const staged = entries.filter((entry) => entry.kind === 'staged') as { chunk: ManifestChunk }[];
        const write = {
          ...outcome.write,
          chunksWritten: staged.length,
          chunksReused: entries.length - staged.length,
          bytesWritten:
            outcome.write.bytesWritten + staged.reduce((sum, entry) => sum + entry.chunk.storedBytes, 0),
        };
        return { ...outcome, write, reapplied: false };
      },
    );
  }
}

const currentOf = (record: WorkflowRecord) => ({
  resourceVersion: String(record.resourceVersion),
  nodeStatusVersion: record.nodeStatusVersion,
});
