/**
 * The workflow-state operations: persist, patch, hydrate, stop, re-apply,
 * delete, list and renew. Everything goes through the `WorkflowStore` port;
 * the only commit point is `store.commitRecord`, a compare-and-set on the
 * record's resourceVersion. Nothing written before it is visible, and nothing
 * on this path ever deletes (invariants 1 and 2).
 */

import type { StopStrategy } from '#contract/workflow';
import {
  bucketCountFor,
  bucketOf,
  type CodecOptions,
  canonicalJson,
  codecName,
  compressBucket,
  decodeChunk,
  defaultCodecOptions,
  type PreparedBucket,
  prepareBucket,
  prepareVersion,
  versionIdOf,
} from './codec.ts';
import {
  ConflictError,
  ContentionError,
  PayloadTooLargeError,
  ValidationError,
  VersionMissingError,
  VersionNotFoundError,
  WorkflowNotFoundError,
} from './errors.ts';
import {
  applyNodeChange,
  diffNodeMaps,
  failUnfinishedNodes,
  isCompletedWorkflowPhase,
  type NodeChange,
  type NodeMap,
  type NodeStatus,
  stopMessage,
  validateNode,
  validateNodeId,
  validateNodeMap,
  workflowPhaseOf,
} from './nodes.ts';
import { epochSeconds, Retention } from './retention.ts';
import type {
  ChunkRef,
  LeaseEntry,
  Manifest,
  ManifestChunk,
  Page,
  StoredChunk,
  VersionSummary,
  WorkflowRecord,
  WorkflowStore,
  WorkflowSummary,
  WriteCost,
} from './store.ts';

export interface ServiceSettings {
  readonly retentionSeconds: number;
  /** Largest compressed node map kept inline in the record (the analogue of Argo's MAX_WORKFLOW_SIZE). */
  readonly inlineMaxBytes: number;
  /** Never inline, whatever the size (the analogue of ALWAYS_OFFLOAD_NODE_STATUS). */
  readonly alwaysOffload: boolean;
  readonly codec: CodecOptions;
  /** Compare-and-set attempts before giving up with a retryable error. */
  readonly maxAttempts: number;
  /** Largest node map a workflow may have; a bigger write is refused (PayloadTooLargeError). */
  readonly maxNodes: number;
  readonly now: () => number;
  readonly sleep: (milliseconds: number) => Promise<void>;
  readonly random: () => number;
}

export const defaultServiceSettings: ServiceSettings = {
  retentionSeconds: 172_800,
  inlineMaxBytes: 32 * 1024,
  alwaysOffload: false,
  codec: defaultCodecOptions,
  maxAttempts: 12,
  maxNodes: 200_000,
  now: () => Date.now(),
  sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)),
  random: Math.random,
};

export interface WriteStats {
  chunksWritten: number;
  chunksReused: number;
  bytesWritten: number;
  writeUnits: number;
}

export interface WriteResult {
  readonly workflow: WorkflowSummary;
  /** True when this call created the workflow. */
  readonly created: boolean;
  readonly write: WriteStats;
  /** Compare-and-set conflicts this call met and retried through. */
  readonly conflicts: number;
  /** True when the caller's change was re-applied on top of a newer state. */
  readonly reapplied: boolean;
  readonly rawBytes: number;
  readonly storedBytes: number;
}

export interface HydratedWorkflow extends WorkflowSummary {
  readonly nodes: NodeMap;
}

export interface PersistInput {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly phase?: string;
  readonly message?: string;
  readonly nodes: NodeMap;
  /** The version the caller's nodes were derived from; needed to re-apply on conflict. */
  readonly baseVersion?: string;
}

export interface PatchInput {
  readonly uid: string;
  readonly set?: NodeMap;
  readonly remove?: readonly string[];
  readonly phase?: string;
  readonly message?: string;
}

export interface WriteConditions {
  /** Expected resourceVersion (from `If-Match`). */
  readonly ifMatch?: string;
  /** Create only (`If-None-Match: *`). */
  readonly ifNoneMatch?: boolean;
  /** With `ifMatch`: re-apply the change on top of the current state instead of failing. */
  readonly reapply?: boolean;
}

export interface StopInput {
  readonly uid: string;
  readonly strategy: StopStrategy;
  readonly message?: string;
}

export interface StopResult {
  readonly workflow: HydratedWorkflow;
  /** False when the workflow was already stopped: nothing was written. */
  readonly changed: boolean;
  readonly conflicts: number;
}

export interface RenewReport {
  readonly examined: number;
  readonly renewed: number;
  readonly versionMissing: number;
  /** Smallest remaining lease of any workflow before this run, in seconds. */
  readonly minRemainingLeaseSeconds?: number;
  readonly writeUnits: number;
}

/** The content a commit points the record at. */
interface VersionPlan {
  /** The current version's manifest, when there is one: the store may write the new one as a delta of it. */
  readonly previous?: Manifest;
  readonly nodeStatusVersion: string;
  readonly bucketCount: number;
  readonly nodeCount: number;
  readonly rawBytes: number;
  /** One entry per bucket, in order: a new bucket to store, or a chunk the current version already has. */
  readonly entries: readonly (
    | { readonly kind: 'new'; readonly bucket: PreparedBucket }
    | { readonly kind: 'reused'; readonly chunk: ManifestChunk }
  )[];
}

/** Workflow-level fields a commit sets. */
interface RecordFields {
  readonly namespace: string;
  readonly name: string;
  readonly phase: string;
  readonly message?: string;
  readonly shutdown?: StopStrategy;
}

/** The current version as loaded: where its buckets live, and the decoded ones. */
interface LoadedVersion {
  /** True when the record points at this version. */
  readonly current: boolean;
  readonly manifest?: Manifest;
  readonly inline?: readonly Uint8Array[];
  readonly codec: string;
  readonly bucketCount: number;
}

const sameNode = (a: NodeStatus, b: NodeStatus): boolean => a === b || canonicalJson(a) === canonicalJson(b);

const partsBytes = (parts: readonly Uint8Array[]): number =>
  parts.reduce((sum, part) => sum + part.length, 0);

const nothingWritten = (): WriteStats => ({
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

export class WorkflowService {
  private readonly settings: ServiceSettings;
  private readonly retention: Retention;

  constructor(
    private readonly store: WorkflowStore,
    settings: Partial<ServiceSettings> = {},
  ) {
    this.settings = { ...defaultServiceSettings, ...settings };
    this.retention = new Retention(this.settings.retentionSeconds);
  }

  // ---------------------------------------------------------------- reads

  /** The current state of a workflow with all its nodes. */
  async getWorkflow(uid: string): Promise<HydratedWorkflow> {
    const record = await this.requireRecord(uid);
    const nodes = await this.readAllNodes(record, record.nodeStatusVersion);
    return { ...toSummary(record), nodes };
  }

  /** The nodes of any version still within retention, current or superseded. */
  async getVersion(
    uid: string,
    nodeStatusVersion: string,
  ): Promise<{ uid: string; nodeStatusVersion: string; nodes: NodeMap }> {
    const record = await this.requireRecord(uid);
    const nodes = await this.readAllNodes(record, nodeStatusVersion);
    return { uid, nodeStatusVersion, nodes };
  }

  /**
   * Committed versions within retention, newest first, with the current one
   * flagged. A history entry is written with its manifest, before the commit,
   * so a writer that lost its compare-and-set or crashed before committing
   * leaves one behind until TTL removes it. Listing follows the chain of
   * parents from the version the record points at instead, so such an
   * orphan never shows (nor do the versions of an earlier workflow that had
   * the same uid).
   */
  async listVersions(uid: string, limit = 100): Promise<(VersionSummary & { current: boolean })[]> {
    const record = await this.requireRecord(uid);
    // Orphans are rare; room for some of them among the entries read.
    const entries = await this.store.listVersions(uid, Math.min(1000, limit * 4));
    const entriesOf = new Map<string, VersionSummary[]>();
    for (const entry of entries) {
      const same = entriesOf.get(entry.nodeStatusVersion);
      if (same) same.push(entry);
      else entriesOf.set(entry.nodeStatusVersion, [entry]);
    }
    const committed: VersionSummary[] = [];
    let wanted: string | undefined = record.nodeStatusVersion;
    while (wanted !== undefined && committed.length < limit) {
      // A version committed twice (A, B, A again) has an entry per commit, newest first.
      const entry: VersionSummary | undefined = entriesOf.get(wanted)?.shift();
      if (!entry) break;
      committed.push(entry);
      wanted = entry.parentVersion;
    }
    // The chain starts at the version the record points at: only the first is current.
    return committed.map((version, index) => ({ ...version, current: index === 0 }));
  }

  async listWorkflows(namespace: string, limit: number, cursor?: string): Promise<Page<WorkflowSummary>> {
    return this.store.listRecords(namespace, limit, cursor);
  }

  // ---------------------------------------------------------------- writes

  /**
   * Stores a whole node map (Argo's `Save`), writing only the chunks the
   * current version does not already have.
   */
  async persist(request: PersistInput, conditions: WriteConditions = {}): Promise<WriteResult> {
    const input: PersistInput = { ...request, phase: workflowPhaseOf(request.phase) };
    validateNodeMap(input.nodes, this.settings.maxNodes);
    if (conditions.reapply && conditions.ifMatch !== undefined && input.baseVersion === undefined) {
      throw new ValidationError(
        'onConflict=reapply needs baseVersion: the version your nodes were derived from',
      );
    }
    const prepared = prepareVersion(input.nodes, this.settings.codec);
    let conflicts = 0;
    for (let attempt = 1; attempt <= this.settings.maxAttempts; attempt++) {
      const record = await this.store.getRecord(input.uid);
      if (record && conditions.ifNoneMatch) {
        if (this.isSameContent(record, prepared.nodeStatusVersion, input))
          return this.unchanged(record, conflicts);
        throw new ConflictError(`workflow '${input.uid}' already exists`, this.currentOf(record));
      }
      if (!record && conditions.ifMatch !== undefined) throw new WorkflowNotFoundError(input.uid);

      let reapplied = false;
      let targetNodes: NodeMap = input.nodes;
      let plan = prepared;
      const stale =
        record !== undefined &&
        conditions.ifMatch !== undefined &&
        String(record.resourceVersion) !== conditions.ifMatch;
      if (record && stale) {
        // A retry of a write that already committed finds its own result: not a conflict.
        if (this.isSameContent(record, prepared.nodeStatusVersion, input))
          return this.unchanged(record, conflicts);
        if (!conditions.reapply) {
          throw new ConflictError(
            `resourceVersion is ${record.resourceVersion}, not ${conditions.ifMatch}: reload and retry, or send onConflict=reapply with baseVersion`,
            this.currentOf(record),
          );
        }
        targetNodes = await this.reapplyFullMap(record, input.baseVersion as string, input.nodes);
        reapplied = true;
      }
      if (record?.shutdown) {
        // Once stopped, a workflow stays stopped: nothing an update sends can restart a node.
        if (!reapplied) {
          const current = await this.readAllNodes(record, record.nodeStatusVersion);
          applyNodeChange(current, diffNodeMaps(current, targetNodes, sameNode));
          targetNodes = current;
        }
        failUnfinishedNodes(targetNodes, record.shutdown, new Date(this.settings.now()).toISOString());
      }
      if (targetNodes !== input.nodes) plan = prepareVersion(targetNodes, this.settings.codec);

      const fields: RecordFields = {
        namespace: input.namespace,
        name: input.name,
        phase: record?.shutdown ? record.phase : (input.phase ?? record?.phase ?? 'Running'),
        message: record?.shutdown ? record.message : (input.message ?? record?.message),
        shutdown: record?.shutdown,
      };
      const outcome = await this.commitPrepared(input.uid, record, fields, plan);
      if (outcome !== 'conflict') return { ...outcome, conflicts, reapplied };
      conflicts++;
      await this.backoff(attempt);
    }
    throw new ContentionError(`workflow '${input.uid}' kept changing; retry the write`, 1);
  }

  /**
   * Applies a delta: reads and rewrites only the buckets holding the changed
   * nodes. Terminal node phases are sticky. Without `ifMatch`, a conflict is
   * retried on the new state; with it, it fails unless `reapply` is set.
   */
  async patch(request: PatchInput, conditions: WriteConditions = {}): Promise<WriteResult> {
    const input: PatchInput = { ...request, phase: workflowPhaseOf(request.phase) };
    const change: NodeChange = { set: input.set ?? {}, remove: input.remove ?? [] };
    const changedCount = Object.keys(change.set).length + change.remove.length;
    if (changedCount > this.settings.maxNodes) {
      throw new PayloadTooLargeError(
        `the patch changes ${changedCount} nodes; a workflow has at most ${this.settings.maxNodes}`,
      );
    }
    for (const [id, node] of Object.entries(change.set)) validateNode(id, node);
    for (const id of change.remove) {
      // An id no node can have is a mistake to report, not a removal that quietly does nothing.
      validateNodeId(id);
      if (id in change.set) throw new ValidationError(`node '${id}' is both set and removed`);
    }
    let conflicts = 0;
    for (let attempt = 1; attempt <= this.settings.maxAttempts; attempt++) {
      const record = await this.requireRecord(input.uid);
      let reapplied = false;
      if (conditions.ifMatch !== undefined && String(record.resourceVersion) !== conditions.ifMatch) {
        // A retry of a patch that already committed finds its own result: not a conflict.
        if (await this.isOwnPatchResult(record, conditions.ifMatch, change, input))
          return this.unchanged(record, conflicts);
        if (!conditions.reapply) {
          throw new ConflictError(
            `resourceVersion is ${record.resourceVersion}, not ${conditions.ifMatch}: reload and retry, or send onConflict=reapply`,
            this.currentOf(record),
          );
        }
        reapplied = true;
      }
      const fields: RecordFields = {
        namespace: record.namespace,
        name: record.name,
        phase: record.shutdown ? record.phase : (input.phase ?? record.phase),
        message: record.shutdown ? record.message : (input.message ?? record.message),
        shutdown: record.shutdown,
      };
      const plan = await this.planPatch(record, change);
      if (plan.nodeCount > this.settings.maxNodes) {
        throw new PayloadTooLargeError(
          `the patch would grow the workflow to ${plan.nodeCount} nodes; the limit is ${this.settings.maxNodes}`,
        );
      }
      const outcome = await this.commitPlan(input.uid, record, fields, plan);
      if (outcome !== 'conflict') return { ...outcome, conflicts, reapplied: reapplied || conflicts > 0 };
      conflicts++;
      await this.backoff(attempt);
    }
    throw new ContentionError(`workflow '${input.uid}' kept changing; retry the patch`, 1);
  }

  /**
   * Stops a workflow: sets `shutdown`, fails every unfinished node and the
   * workflow. Retries through concurrent updates, so it never fails because
   * of one; idempotent once stopped.
   */
  async stop(input: StopInput): Promise<StopResult> {
    let conflicts = 0;
    for (let attempt = 1; attempt <= this.settings.maxAttempts; attempt++) {
      const record = await this.requireRecord(input.uid);
      if (record.shutdown) {
        const nodes = await this.readAllNodes(record, record.nodeStatusVersion);
        return { workflow: { ...toSummary(record), nodes }, changed: false, conflicts };
      }
      if (isCompletedWorkflowPhase(record.phase)) {
        throw new ConflictError(
          `workflow '${input.uid}' is already completed (phase ${record.phase}); there is nothing to stop`,
          this.currentOf(record),
        );
      }
      const nodes = await this.readAllNodes(record, record.nodeStatusVersion);
      failUnfinishedNodes(nodes, input.strategy, new Date(this.settings.now()).toISOString());
      const fields: RecordFields = {
        namespace: record.namespace,
        name: record.name,
        phase: 'Failed',
        message: input.message ?? stopMessage(input.strategy),
        shutdown: input.strategy,
      };
      const outcome = await this.commitPrepared(
        input.uid,
        record,
        fields,
        prepareVersion(nodes, this.settings.codec),
      );
      if (outcome !== 'conflict')
        return { workflow: { ...outcome.workflow, nodes }, changed: true, conflicts };
      conflicts++;
      await this.backoff(attempt);
    }
    throw new ContentionError(`workflow '${input.uid}' kept changing; retry the stop`, 1);
  }

  /** Deletes the record only; the versions expire by TTL (invariant 5). */
  async deleteWorkflow(uid: string): Promise<void> {
    if (!(await this.store.deleteRecord(uid))) throw new WorkflowNotFoundError(uid);
  }

  /**
   * Keeps the current version of every workflow far from expiry. Finds the
   * workflows through the lease index, never by scanning the table.
   */
  async renew(): Promise<RenewReport> {
    const nowSeconds = epochSeconds(this.settings.now());
    const renewBefore = this.retention.renewBefore(nowSeconds);
    const expiresAt = this.retention.bornExpiresAt(nowSeconds);
    const minimumLease = await this.store.minimumLease();
    let examined = 0;
    let renewed = 0;
    let versionMissing = 0;
    let writeUnits = 0;
    let cursor: string | undefined;
    do {
      const page: Page<LeaseEntry> = await this.store.findShortLeases(renewBefore, 100, cursor);
      cursor = page.next;
      for (const entry of page.items) {
        examined++;
        const { outcome, writeUnits: units } = await this.renewOne(entry.uid, renewBefore, expiresAt);
        if (outcome === 'renewed') renewed++;
        if (outcome === 'missing') versionMissing++;
        writeUnits += units;
      }
    } while (cursor);
    return {
      examined,
      renewed,
      versionMissing,
      minRemainingLeaseSeconds: minimumLease === undefined ? undefined : minimumLease - nowSeconds,
      writeUnits,
    };
  }

  // ---------------------------------------------------------------- internals

  private async renewOne(
    uid: string,
    renewBefore: number,
    expiresAt: number,
  ): Promise<{ outcome: 'renewed' | 'skipped' | 'missing'; writeUnits: number }> {
    const record = await this.store.getRecord(uid);
    if (!record || record.leaseExpiresAt >= renewBefore) return { outcome: 'skipped', writeUnits: 0 };
    const manifest = await this.store.getManifest(uid, record.nodeStatusVersion);
    if (!manifest) return { outcome: 'missing', writeUnits: 0 };
    const renewedChunks = await this.store.renewChunks(uid, manifest.chunks, expiresAt);
    const renewedManifest = await this.store.renewManifest(manifest, expiresAt);
    const writeUnits = renewedChunks.writeUnits + (renewedManifest?.writeUnits ?? 0);
    if (renewedChunks.missing.length > 0 || !renewedManifest) return { outcome: 'missing', writeUnits };
    // Conditional on the version: a commit in between set its own lease.
    const renewedRecord = await this.store.renewRecordLease(uid, record.nodeStatusVersion, expiresAt);
    return { outcome: 'renewed', writeUnits: writeUnits + (renewedRecord ? 1 : 0) };
  }

  private async requireRecord(uid: string): Promise<WorkflowRecord> {
    const record = await this.store.getRecord(uid);
    if (!record) throw new WorkflowNotFoundError(uid);
    return record;
  }

  private currentOf(record: WorkflowRecord) {
    return { resourceVersion: String(record.resourceVersion), nodeStatusVersion: record.nodeStatusVersion };
  }

  private isSameContent(record: WorkflowRecord, nodeStatusVersion: string, input: PersistInput): boolean {
    return (
      record.nodeStatusVersion === nodeStatusVersion &&
      record.namespace === input.namespace &&
      record.name === input.name &&
      (input.phase === undefined || input.phase === record.phase) &&
      (input.message === undefined || input.message === record.message)
    );
  }

  /**
   * True when `record` is exactly what this patch makes of the state `ifMatch`
   * names: one commit after it, from the version it pointed at, and that
   * version with this delta applied is the current one. A retried request
   * whose first attempt committed (its answer lost on the way) then gets its
   * result instead of a 409. Anything else that happened in between (another
   * writer, a stop) makes it a conflict as before:
   *
   *   t0  patch P with If-Match 7 commits 7 -> 8; the answer is lost
   *   t1  P is sent again with If-Match 7: record is 8, parent version V7,
   *       V7 + P = current version, fields as P sets them: 200, nothing written
   *   t1' a stop committed 8 -> 9 first: 9 is not 7 + 1, so 409 as before
   */
  private async isOwnPatchResult(
    record: WorkflowRecord,
    ifMatch: string,
    change: NodeChange,
    input: PatchInput,
  ): Promise<boolean> {
    if (String(record.resourceVersion - 1) !== ifMatch) return false;
    const base = record.previousNodeStatusVersion;
    if (base === undefined || record.shutdown !== undefined) return false;
    if (input.phase !== undefined && input.phase !== record.phase) return false;
    if (input.message !== undefined && input.message !== record.message) return false;
    try {
      return (await this.versionAfter(record, base, change)) === record.nodeStatusVersion;
    } catch (error) {
      // The base has expired: nothing left to compare with, so it stays a conflict.
      if (error instanceof VersionNotFoundError) return false;
      throw error;
    }
  }

  /**
   * The version id `change` makes of version `base`, reading only the buckets
   * it touches (the whole map only when it is inline or the bucket count
   * changes, as {@link planPatch} does).
   */
  private async versionAfter(record: WorkflowRecord, base: string, change: NodeChange): Promise<string> {
    const version = await this.locate(record, base);
    if (version.inline) {
      const all = await this.readAllNodes(record, base);
      applyNodeChange(all, change);
      return prepareVersion(all, this.settings.codec).nodeStatusVersion;
    }
    const manifest = version.manifest as Manifest;
    const { bucketCount } = version;
    const affected = [
      ...new Set([...Object.keys(change.set), ...change.remove].map((id) => bucketOf(id, bucketCount))),
    ];
    const buckets = await this.readBuckets(record.uid, base, version, affected);
    let nodeCount = manifest.nodeCount;
    for (const [index, bucket] of buckets) {
      const before = Object.keys(bucket.nodes).length;
      applyNodeChange(bucket.nodes, {
        set: Object.fromEntries(
          Object.entries(change.set).filter(([id]) => bucketOf(id, bucketCount) === index),
        ),
        remove: change.remove.filter((id) => bucketOf(id, bucketCount) === index),
      });
      nodeCount += Object.keys(bucket.nodes).length - before;
    }
    if (bucketCountFor(nodeCount, this.settings.codec) !== bucketCount) {
      const all = await this.readAllNodes(record, base);
      for (const id of Object.keys(all)) if (buckets.has(bucketOf(id, bucketCount))) delete all[id];
      for (const bucket of buckets.values()) Object.assign(all, bucket.nodes);
      return prepareVersion(all, this.settings.codec).nodeStatusVersion;
    }
    const chunkIds = manifest.chunks.map((chunk) => chunk.chunkId);
    for (const [index, bucket] of buckets) chunkIds[index] = prepareBucket(index, bucket.nodes).chunkId;
    return versionIdOf(chunkIds);
  }

  private unchanged(record: WorkflowRecord, conflicts: number): WriteResult {
    return {
      workflow: toSummary(record),
      created: false,
      write: nothingWritten(),
      conflicts,
      reapplied: false,
      rawBytes: 0,
      storedBytes: 0,
    };
  }

  private async backoff(attempt: number): Promise<void> {
    const ceiling = Math.min(500, 10 * 2 ** attempt);
    await this.settings.sleep(Math.floor(this.settings.random() * ceiling));
  }

  /** The caller's per-node change from its base, applied on the current state (sticky terminal phases). */
  private async reapplyFullMap(
    record: WorkflowRecord,
    baseVersion: string,
    nodes: NodeMap,
  ): Promise<NodeMap> {
    let base: NodeMap;
    try {
      base = await this.readAllNodes(record, baseVersion);
    } catch (error) {
      if (error instanceof VersionNotFoundError) {
        throw new ConflictError(
          `baseVersion '${baseVersion}' is not a version of this workflow within retention; reload and retry`,
          this.currentOf(record),
          { cause: error },
        );
      }
      throw error;
    }
    const current = await this.readAllNodes(record, record.nodeStatusVersion);
    applyNodeChange(current, diffNodeMaps(base, nodes, sameNode));
    return current;
  }

  /** Where a version's buckets live: inline in the record, or behind its manifest. */
  private async locate(record: WorkflowRecord, nodeStatusVersion: string): Promise<LoadedVersion> {
    if (nodeStatusVersion === record.nodeStatusVersion && record.inline) {
      return { current: true, inline: record.inline, codec: record.codec, bucketCount: record.inline.length };
    }
    const manifest = await this.store.getManifest(record.uid, nodeStatusVersion);
    if (!manifest) {
      // The record points here, so this is data loss, not a bad id.
      if (nodeStatusVersion === record.nodeStatusVersion)
        throw new VersionMissingError(record.uid, nodeStatusVersion, []);
      throw new VersionNotFoundError(record.uid, nodeStatusVersion);
    }
    return {
      current: nodeStatusVersion === record.nodeStatusVersion,
      manifest,
      inline: manifest.inline,
      codec: manifest.codec,
      bucketCount: manifest.bucketCount,
    };
  }

  /** Decoded buckets of a version, all or the given indexes, with their stored sizes. */
  private async readBuckets(
    uid: string,
    nodeStatusVersion: string,
    version: LoadedVersion,
    indexes?: readonly number[],
  ): Promise<Map<number, { nodes: NodeMap; rawBytes: number; storedBytes: number }>> {
    const wanted = indexes ?? Array.from({ length: version.bucketCount }, (_, index) => index);
    const out = new Map<number, { nodes: NodeMap; rawBytes: number; storedBytes: number }>();
    if (version.inline) {
      for (const index of wanted) {
        const data = version.inline[index] as Uint8Array;
        out.set(index, { ...decodeChunk(version.codec, data), storedBytes: data.length });
      }
      return out;
    }
    const manifest = version.manifest as Manifest;
    const refs = wanted.map((index) => manifest.chunks[index] as ManifestChunk);
    const unique = [...new Map(refs.map((ref) => [ref.chunkId, ref])).values()];
    const { found, missing } = await this.store.getChunks(uid, unique);
    if (missing.length > 0) {
      // A superseded version past its own lease has simply expired; anything else is data loss.
      const lease = manifest.chunks.reduce(
        (min, chunk) => Math.min(min, chunk.leaseExpiresAt),
        Math.min(manifest.expiresAt, manifest.base?.expiresAt ?? manifest.expiresAt),
      );
      if (!version.current && lease <= epochSeconds(this.settings.now())) {
        throw new VersionNotFoundError(uid, nodeStatusVersion);
      }
      throw new VersionMissingError(uid, nodeStatusVersion, missing);
    }
    for (const index of wanted) {
      const chunk = found.get((manifest.chunks[index] as ManifestChunk).chunkId);
      if (!chunk)
        throw new VersionMissingError(uid, nodeStatusVersion, [
          (manifest.chunks[index] as ManifestChunk).chunkId,
        ]);
      // Each bucket gets its own decoded copy: callers modify them.
      out.set(index, { ...decodeChunk(chunk.codec, chunk.data), storedBytes: chunk.data.length });
    }
    return out;
  }

  private async readAllNodes(record: WorkflowRecord, nodeStatusVersion: string): Promise<NodeMap> {
    const version = await this.locate(record, nodeStatusVersion);
    const buckets = await this.readBuckets(record.uid, nodeStatusVersion, version);
    if (buckets.size === 1) return (buckets.values().next().value as { nodes: NodeMap }).nodes;
    const nodes: NodeMap = {};
    for (const bucket of buckets.values()) Object.assign(nodes, bucket.nodes);
    return nodes;
  }

  /** Plans a delta: touches only the buckets of the changed ids, unless the bucket count must change. */
  private async planPatch(record: WorkflowRecord, change: NodeChange): Promise<VersionPlan> {
    const version = await this.locate(record, record.nodeStatusVersion);
    const affected = [
      ...new Set(
        [...Object.keys(change.set), ...change.remove].map((id) => bucketOf(id, version.bucketCount)),
      ),
    ];
    const buckets = await this.readBuckets(record.uid, record.nodeStatusVersion, version, affected);
    let nodeCount = record.nodeCount;
    for (const [index, bucket] of buckets) {
      const before = Object.keys(bucket.nodes).length;
      applyNodeChange(bucket.nodes, {
        set: Object.fromEntries(
          Object.entries(change.set).filter(([id]) => bucketOf(id, version.bucketCount) === index),
        ),
        remove: change.remove.filter((id) => bucketOf(id, version.bucketCount) === index),
      });
      if (record.shutdown) {
        failUnfinishedNodes(bucket.nodes, record.shutdown, new Date(this.settings.now()).toISOString());
      }
      nodeCount += Object.keys(bucket.nodes).length - before;
    }
    if (version.inline || bucketCountFor(nodeCount, this.settings.codec) !== version.bucketCount) {
      // Small (inline) maps and bucket-count changes are re-encoded whole.
      const all = await this.readAllNodes(record, record.nodeStatusVersion);
      for (const id of Object.keys(all)) if (buckets.has(bucketOf(id, version.bucketCount))) delete all[id];
      for (const bucket of buckets.values()) Object.assign(all, bucket.nodes);
      return this.planFromPrepared(record, prepareVersion(all, this.settings.codec), version.manifest);
    }
    const manifest = version.manifest as Manifest;
    let rawBytes = manifest.rawBytes;
    const entries: VersionPlan['entries'][number][] = manifest.chunks.map((chunk) => ({
      kind: 'reused',
      chunk,
    }));
    const currentIds = new Set(manifest.chunks.map((chunk) => chunk.chunkId));
    for (const [index, bucket] of buckets) {
      const prepared = prepareBucket(index, bucket.nodes);
      rawBytes += prepared.rawBytes - bucket.rawBytes;
      if (
        prepared.chunkId !== (manifest.chunks[index] as ManifestChunk).chunkId &&
        !currentIds.has(prepared.chunkId)
      ) {
        entries[index] = { kind: 'new', bucket: prepared };
      } else if (prepared.chunkId !== (manifest.chunks[index] as ManifestChunk).chunkId) {
        const existing = manifest.chunks.find((chunk) => chunk.chunkId === prepared.chunkId) as ManifestChunk;
        entries[index] = { kind: 'reused', chunk: existing };
      }
    }
    const chunkIds = entries.map((entry) =>
      entry.kind === 'new' ? entry.bucket.chunkId : entry.chunk.chunkId,
    );
    return {
      previous: manifest,
      nodeStatusVersion: versionIdOf(chunkIds),
      bucketCount: version.bucketCount,
      nodeCount,
      rawBytes,
      entries,
    };
  }

  /** A plan for a whole prepared map: buckets the current version already has are reused. */
  private async planFromPrepared(
    record: WorkflowRecord | undefined,
    prepared: ReturnType<typeof prepareVersion>,
    currentManifest?: Manifest,
  ): Promise<VersionPlan> {
    let manifest = currentManifest;
    if (!manifest && record && !record.inline && record.nodeStatusVersion !== prepared.nodeStatusVersion) {
      manifest = await this.store.getManifest(record.uid, record.nodeStatusVersion);
      if (!manifest) throw new VersionMissingError(record.uid, record.nodeStatusVersion, []);
    }
    const current = new Map((manifest?.chunks ?? []).map((chunk) => [chunk.chunkId, chunk]));
    return {
      ...(manifest ? { previous: manifest } : {}),
      nodeStatusVersion: prepared.nodeStatusVersion,
      bucketCount: prepared.bucketCount,
      nodeCount: prepared.nodeCount,
      rawBytes: prepared.rawBytes,
      entries: prepared.buckets.map((bucket) => {
        const chunk = current.get(bucket.chunkId);
        return chunk ? { kind: 'reused' as const, chunk } : { kind: 'new' as const, bucket };
      }),
    };
  }

  private async commitPrepared(
    uid: string,
    record: WorkflowRecord | undefined,
    fields: RecordFields,
    prepared: ReturnType<typeof prepareVersion>,
  ): Promise<Omit<WriteResult, 'conflicts' | 'reapplied'> | 'conflict'> {
    if (record && record.nodeStatusVersion === prepared.nodeStatusVersion) {
      return this.commitPlan(uid, record, fields, 'unchanged');
    }
    return this.commitPlan(uid, record, fields, await this.planFromPrepared(record, prepared));
  }

  /**
   * Writes what the plan needs, then the one conditional write that makes it
   * visible. Timeline of the race it closes:
   *
   *   t0  writer A reads record (resourceVersion 7)
   *   t1  writer B reads record (resourceVersion 7)
   *   t2  A writes its chunks and manifest (invisible), commits 7 -> 8
   *   t3  B writes its chunks and manifest (invisible), commit 7 -> 8 fails
   *   t4  B reloads and retries; its orphans expire by TTL, nothing deleted
   */
  private async commitPlan(
    uid: string,
    record: WorkflowRecord | undefined,
    fields: RecordFields,
    plan: VersionPlan | 'unchanged',
  ): Promise<Omit<WriteResult, 'conflicts' | 'reapplied'> | 'conflict'> {
    const nowMs = this.settings.now();
    const nowSeconds = epochSeconds(nowMs);
    const nowIso = new Date(nowMs).toISOString();
    const write = nothingWritten();
    const add = (cost: WriteCost) => {
      write.bytesWritten += cost.bytes;
      write.writeUnits += cost.writeUnits;
    };

    if (record && (plan === 'unchanged' || plan.nodeStatusVersion === record.nodeStatusVersion)) {
      if (sameFields(record, fields)) return { ...this.unchanged(record, 0) };
      const next: WorkflowRecord = {
        ...record,
        ...fields,
        resourceVersion: record.resourceVersion + 1,
        previousNodeStatusVersion: record.nodeStatusVersion,
        updatedAt: nowIso,
      };
      const committed = await this.store.commitRecord(next, record.resourceVersion);
      if (committed === 'conflict') return 'conflict';
      add(committed);
      return { workflow: toSummary(next), created: false, write, rawBytes: 0, storedBytes: 0 };
    }
    if (plan === 'unchanged') throw new Error('unreachable: an unchanged plan needs a record');

    const expiresAt = this.retention.bornExpiresAt(nowSeconds);
    const renewBefore = this.retention.renewBefore(nowSeconds);
    const recordLease = record?.leaseExpiresAt ?? 0;

    // Small maps stay inline: one read hydrates them. The manifest keeps a copy,
    // so the version stays readable by id after it is superseded (invariant 3).
    const compressed = new Map<number, Uint8Array[]>();
    let inline: Uint8Array[] | undefined;
    if (!this.settings.alwaysOffload && plan.rawBytes <= this.settings.inlineMaxBytes * 16) {
      const all = plan.entries.map((entry, index) => {
        if (entry.kind === 'new') {
          const parts = compressBucket(entry.bucket.canonical, this.settings.codec);
          compressed.set(index, parts);
          return parts;
        }
        return undefined;
      });
      if (all.every((parts) => parts !== undefined && parts.length === 1)) {
        const chunks = all.map((parts) => (parts as Uint8Array[])[0] as Uint8Array);
        if (chunks.reduce((sum, chunk) => sum + chunk.length, 0) <= this.settings.inlineMaxBytes)
          inline = chunks;
      }
    }

    const manifestChunks: ManifestChunk[] = [];
    let storedBytes = 0;
    if (!inline) {
      const toStore: StoredChunk[] = [];
      const toRenew: ChunkRef[] = [];
      const seen = new Set<string>();
      plan.entries.forEach((entry, index) => {
        if (entry.kind === 'new') {
          const parts = compressed.get(index) ?? compressBucket(entry.bucket.canonical, this.settings.codec);
          storedBytes += partsBytes(parts);
          manifestChunks.push({
            chunkId: entry.bucket.chunkId,
            parts: parts.length,
            leaseExpiresAt: expiresAt,
            storedBytes: partsBytes(parts),
          });
          if (!seen.has(entry.bucket.chunkId)) {
            seen.add(entry.bucket.chunkId);
            toStore.push({ chunkId: entry.bucket.chunkId, codec: codecName, parts });
          }
          return;
        }
        storedBytes += entry.chunk.storedBytes;
        const lease = Math.max(entry.chunk.leaseExpiresAt, recordLease);
        if (lease < renewBefore) {
          if (!seen.has(entry.chunk.chunkId)) toRenew.push(entry.chunk);
          seen.add(entry.chunk.chunkId);
          manifestChunks.push({ ...entry.chunk, leaseExpiresAt: expiresAt });
        } else {
          seen.add(entry.chunk.chunkId);
          manifestChunks.push({ ...entry.chunk, leaseExpiresAt: lease });
        }
      });
      write.chunksWritten = toStore.length;
      write.chunksReused = plan.entries.length - plan.entries.filter((entry) => entry.kind === 'new').length;
      const [stored, renewed] = await Promise.all([
        this.store.putChunks(uid, toStore, expiresAt),
        toRenew.length > 0 ? this.store.renewChunks(uid, toRenew, expiresAt) : undefined,
      ]);
      add(stored);
      if (renewed) {
        add(renewed);
        if (renewed.missing.length > 0 && record) {
          throw new VersionMissingError(record.uid, record.nodeStatusVersion, renewed.missing);
        }
      }
    } else {
      storedBytes = inline.reduce((sum, chunk) => sum + chunk.length, 0);
      write.chunksWritten = inline.length;
    }
    const manifest: Manifest = {
      uid,
      nodeStatusVersion: plan.nodeStatusVersion,
      codec: codecName,
      bucketCount: plan.bucketCount,
      nodeCount: plan.nodeCount,
      rawBytes: plan.rawBytes,
      storedBytes,
      createdAt: nowIso,
      expiresAt,
      ...(record ? { parentVersion: record.nodeStatusVersion } : {}),
      chunks: manifestChunks,
      ...(inline ? { inline } : {}),
    };
    const storedManifest = await this.store.putManifest(manifest, plan.previous, renewBefore);
    add(storedManifest);

    const leaseExpiresAt = manifestChunks.reduce(
      (lease, chunk) => Math.min(lease, chunk.leaseExpiresAt),
      storedManifest.leaseExpiresAt,
    );
    const next: WorkflowRecord = {
      uid,
      ...fields,
      resourceVersion: (record?.resourceVersion ?? 0) + 1,
      nodeStatusVersion: plan.nodeStatusVersion,
      ...(record ? { previousNodeStatusVersion: record.nodeStatusVersion } : {}),
      nodeCount: plan.nodeCount,
      createdAt: record?.createdAt ?? nowIso,
      updatedAt: nowIso,
      leaseExpiresAt,
      codec: codecName,
      ...(inline ? { inline } : {}),
    };
    const committed = await this.store.commitRecord(next, record?.resourceVersion);
    if (committed === 'conflict') return 'conflict';
    add(committed);
    return {
      workflow: toSummary(next),
      created: record === undefined,
      write,
      rawBytes: plan.rawBytes,
      storedBytes,
    };
  }
}
