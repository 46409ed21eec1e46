/**
 * The workflow-state operations: persist, patch, hydrate, stop, re-apply,
 * delete, list and renew. Each public operation reads through the
 * {@link VersionReader}, plans with the {@link Planner}, and commits with the
 * {@link Committer} inside the one compare-and-set loop ({@link retryCommit});
 * the only commit point is `store.commitRecord`. Nothing written before it is
 * visible, and nothing on this path ever deletes (invariants 1 and 2).
 */
import type { StopStrategy } from '#contract/workflow';
import { type CodecOptions, canonicalJson, defaultCodecOptions, prepareVersion } from './codec.ts';
import { retryCommit } from './commit-retry.ts';
import {
  type CommitOutcome,
  Committer,
  type RecordFields,
  toSummary,
  unchangedOutcome,
  type WriteStats,
} from './committer.ts';
import type { CurrentState } from './errors.ts';
import {
  ConflictError,
  PayloadTooLargeError,
  ValidationError,
  VersionNotFoundError,
  WorkflowNotFoundError,
} from './errors.ts';
import { type NodePage, NodePageReader, type NodePageRequest } from './node-pages.ts';
import {
  applyNodeChange,
  changedIds,
  diffNodeMaps,
  type FieldChange,
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
import { Planner } from './planner.ts';
import { Renewer, type RenewReport } from './renewer.ts';
import { Retention } from './retention.ts';
import type { Page, VersionSummary, WorkflowRecord, WorkflowStore, WorkflowSummary } from './store.ts';
import { type BeginUploadInput, type BegunUpload, type UploadPartResult, Uploads } from './uploads.ts';
import { VersionReader } from './version-reader.ts';

export type {
  BeginUploadInput,
  BegunUpload,
  NodePage,
  NodePageRequest,
  RenewReport,
  UploadPartResult,
  WriteStats,
};

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

export interface WriteResult extends CommitOutcome {
  /** Compare-and-set conflicts this call met and retried through. */
  readonly conflicts: number;
  /** True when the caller's change was re-applied on top of a newer state. */
  readonly reapplied: boolean;
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
  /** Nodes changed field by field: `{id: {set?: {field: value}, unset?: [field]}}`. */
  readonly merge?: Readonly<Record<string, FieldChange>>;
  /**
   * The version the delta was computed from. A record at another version is
   * a conflict (as a stale If-Match is) unless the delta is re-applied.
   */
  readonly baseVersion?: string;
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

const sameNode = (a: NodeStatus, b: NodeStatus): boolean => a === b || canonicalJson(a) === canonicalJson(b);

const currentOf = (record: WorkflowRecord): CurrentState => ({
  resourceVersion: String(record.resourceVersion),
  nodeStatusVersion: record.nodeStatusVersion,
});

/** A successful attempt of a write: what was committed, and whether it re-applied. */
type Written = CommitOutcome & { readonly reapplied: boolean };

export class WorkflowService {
  private readonly settings: ServiceSettings;
  private readonly reader: VersionReader;
  private readonly planner: Planner;
  private readonly committer: Committer;
  private readonly renewer: Renewer;
  private readonly pages: NodePageReader;
  private readonly uploads: Uploads;

  constructor(
    private readonly store: WorkflowStore,
    settings: Partial<ServiceSettings> = {},
  ) {
    this.settings = { ...defaultServiceSettings, ...settings };
    const { now, codec } = this.settings;
    const retention = new Retention(this.settings.retentionSeconds);
    this.reader = new VersionReader(store, now);
    this.planner = new Planner(this.reader, codec, now);
    this.committer = new Committer(store, {
      retention,
      inlineMaxBytes: this.settings.inlineMaxBytes,
      alwaysOffload: this.settings.alwaysOffload,
      codec,
      now,
    });
    this.renewer = new Renewer(store, this.reader, retention, now);
    this.pages = new NodePageReader(this.reader, toSummary);
    this.uploads = new Uploads(store, this.reader, this.committer, this.planner, retention, this.settings);
  }

  // ---------------------------------------------------------------- reads

  /** The current state of a workflow with all its nodes. */
  async getWorkflow(uid: string): Promise<HydratedWorkflow> {
    const record = await this.reader.requireRecord(uid);
    const nodes = await this.reader.readAllNodes(record, record.nodeStatusVersion);
    return { ...toSummary(record), nodes };
  }

  /** The nodes of any version still within retention, current or superseded. */
  async getVersion(
    uid: string,
    nodeStatusVersion: string,
  ): Promise<{ uid: string; nodeStatusVersion: string; nodes: NodeMap }> {
    const record = await this.reader.requireRecord(uid);
    const nodes = await this.reader.readAllNodes(record, nodeStatusVersion);
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
    const record = await this.reader.requireRecord(uid);
    // Orphans are rare; room for some of them among the entries read.
    const entries = await this.historyOf(uid, Math.min(1000, limit * 4));
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

  /**
   * One page of a version's nodes, or of the change since a version the
   * caller holds; the caller pins the version for the next page.
   */
  async readNodes(request: NodePageRequest): Promise<NodePage> {
    return this.pages.read(request);
  }

  /**
   * The node-level diff between two versions, by default the previous one
   * and the current one: chunk ids first, then only the chunks that differ.
   */
  async diff(
    uid: string,
    options: {
      readonly from?: string;
      readonly to?: string;
      readonly fromBucket?: number;
      readonly pinned?: boolean;
    },
    budgetBytes: number,
  ): Promise<NodePage & { readonly from: string }> {
    const record = await this.reader.requireRecord(uid);
    const to = options.to ?? record.nodeStatusVersion;
    let from = options.from;
    if (from === undefined) {
      from =
        to === record.nodeStatusVersion
          ? record.previousNodeStatusVersion
          : (await this.historyOf(uid, 1000)).find((entry) => entry.nodeStatusVersion === to)?.parentVersion;
    }
    if (from === undefined) {
      throw new ValidationError(`version ${to} has no previous version to compare with: name one with from`);
    }
    const page = await this.pages.read({
      uid,
      version: to,
      pinned: options.pinned === true,
      since: from,
      budgetBytes,
      ...(options.fromBucket === undefined ? {} : { fromBucket: options.fromBucket }),
    });
    return { ...page, from };
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
    const { result, conflicts } = await retryCommit<Written>(
      this.settings,
      `workflow '${input.uid}' kept changing; retry the write`,
      async () => {
        const record = await this.store.getRecord(input.uid);
        if (record && conditions.ifNoneMatch) {
          if (this.isSameContent(record, prepared.nodeStatusVersion, input))
            return { ...unchangedOutcome(record), reapplied: false };
          throw new ConflictError(`workflow '${input.uid}' already exists`, currentOf(record));
        }
        if (!record && conditions.ifMatch !== undefined) throw new WorkflowNotFoundError(input.uid);

        let reapplied = false;
        let targetNodes: NodeMap = input.nodes;
        if (
          record &&
          conditions.ifMatch !== undefined &&
          String(record.resourceVersion) !== conditions.ifMatch
        ) {
          // A retry of a write that already committed finds its own result: not a conflict.
          if (this.isSameContent(record, prepared.nodeStatusVersion, input))
            return { ...unchangedOutcome(record), reapplied: false };
          if (!conditions.reapply) {
            throw new ConflictError(
              `resourceVersion is ${record.resourceVersion}, not ${conditions.ifMatch}: reload and retry, or send onConflict=reapply with baseVersion`,
              currentOf(record),
            );
          }
          targetNodes = await this.reapplyFullMap(record, input.baseVersion as string, input.nodes);
          reapplied = true;
        }
        if (record?.shutdown) {
          // Once stopped, a workflow stays stopped: nothing an update sends can restart a node.
          if (!reapplied) {
            const current = await this.reader.readAllNodes(record, record.nodeStatusVersion);
            applyNodeChange(current, diffNodeMaps(current, targetNodes, sameNode));
            targetNodes = current;
          }
          failUnfinishedNodes(targetNodes, record.shutdown, new Date(this.settings.now()).toISOString());
        }
        const plan =
          targetNodes === input.nodes ? prepared : prepareVersion(targetNodes, this.settings.codec);
        const fields: RecordFields = {
          namespace: input.namespace,
          name: input.name,
          phase: record?.shutdown ? record.phase : (input.phase ?? record?.phase ?? 'Running'),
          message: record?.shutdown ? record.message : (input.message ?? record?.message),
          shutdown: record?.shutdown,
        };
        const outcome = await this.committer.commit(
          input.uid,
          record,
          fields,
          record && record.nodeStatusVersion === plan.nodeStatusVersion
            ? 'unchanged'
            : await this.planner.planWhole(record, plan),
        );
        return outcome === 'conflict' ? outcome : { ...outcome, reapplied };
      },
    );
    return { ...result, conflicts };
  }

  /**
   * Applies a delta: reads and rewrites only the buckets holding the changed
   * nodes. Terminal node phases are sticky. Without `ifMatch`, a conflict is
   * retried on the new state; with it, it fails unless `reapply` is set.
   */
  async patch(request: PatchInput, conditions: WriteConditions = {}): Promise<WriteResult> {
    const input: PatchInput = { ...request, phase: workflowPhaseOf(request.phase) };
    const change: NodeChange = {
      set: input.set ?? {},
      remove: input.remove ?? [],
      ...(input.merge ? { merge: input.merge } : {}),
    };
    const changedCount = changedIds(change).length;
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
    for (const [id, fields] of Object.entries(change.merge ?? {})) {
      // The fields alone must be valid as a node: the rules of id, phase, message and finishedAt hold for them.
      validateNode(id, fields.set ?? {});
      if (fields.unset !== undefined && !fields.unset.every((field) => typeof field === 'string')) {
        throw new ValidationError(`merge of node '${id}': unset must list field names`);
      }
      if (id in change.set || change.remove.includes(id)) {
        throw new ValidationError(`node '${id}' is both merged and set or removed`);
      }
    }
    const { result, conflicts } = await retryCommit<Written>(
      this.settings,
      `workflow '${input.uid}' kept changing; retry the patch`,
      async () => {
        const record = await this.reader.requireRecord(input.uid);
        let reapplied = false;
        const staleMatch =
          conditions.ifMatch !== undefined && String(record.resourceVersion) !== conditions.ifMatch;
        const staleBase = input.baseVersion !== undefined && record.nodeStatusVersion !== input.baseVersion;
        if (staleMatch || staleBase) {
          // A retry of a patch that already committed finds its own result: not a conflict.
          if (await this.isOwnPatchResult(record, conditions.ifMatch, change, input))
            return { ...unchangedOutcome(record), reapplied: false };
          if (!conditions.reapply) {
            throw new ConflictError(
              staleMatch
                ? `resourceVersion is ${record.resourceVersion}, not ${conditions.ifMatch}: reload and retry, or send onConflict=reapply`
                : `the workflow is at version ${record.nodeStatusVersion}, not baseVersion ${input.baseVersion}: read the change since your version and retry, or send onConflict=reapply`,
              currentOf(record),
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
        const plan = await this.planner.planPatch(record, change);
        if (plan.nodeCount > this.settings.maxNodes) {
          throw new PayloadTooLargeError(
            `the patch would grow the workflow to ${plan.nodeCount} nodes; the limit is ${this.settings.maxNodes}`,
          );
        }
        const outcome = await this.committer.commit(input.uid, record, fields, plan);
        return outcome === 'conflict' ? outcome : { ...outcome, reapplied };
      },
    );
    return { ...result, conflicts, reapplied: result.reapplied || conflicts > 0 };
  }

  /**
   * Stops a workflow: sets `shutdown`, fails every unfinished node and the
   * workflow. Retries through concurrent updates, so it never fails because
   * of one; idempotent once stopped.
   */
  async stop(input: StopInput): Promise<StopResult> {
    const { result, conflicts } = await retryCommit<Omit<StopResult, 'conflicts'>>(
      this.settings,
      `workflow '${input.uid}' kept changing; retry the stop`,
      async () => {
        const record = await this.reader.requireRecord(input.uid);
        if (record.shutdown) {
          const nodes = await this.reader.readAllNodes(record, record.nodeStatusVersion);
          return { workflow: { ...toSummary(record), nodes }, changed: false };
        }
        if (isCompletedWorkflowPhase(record.phase)) {
          throw new ConflictError(
            `workflow '${input.uid}' is already completed (phase ${record.phase}); there is nothing to stop`,
            currentOf(record),
          );
        }
        const nodes = await this.reader.readAllNodes(record, record.nodeStatusVersion);
        failUnfinishedNodes(nodes, input.strategy, new Date(this.settings.now()).toISOString());
        const fields: RecordFields = {
          namespace: record.namespace,
          name: record.name,
          phase: 'Failed',
          message: input.message ?? stopMessage(input.strategy),
          shutdown: input.strategy,
        };
        const prepared = prepareVersion(nodes, this.settings.codec);
        const outcome = await this.committer.commit(
          input.uid,
          record,
          fields,
          record.nodeStatusVersion === prepared.nodeStatusVersion
            ? 'unchanged'
            : await this.planner.planWhole(record, prepared),
        );
        return outcome === 'conflict' ? outcome : { workflow: { ...outcome.workflow, nodes }, changed: true };
      },
    );
    return { ...result, conflicts };
  }

  /** Begins a staged upload of a map of `nodeCount` nodes (see `uploads.ts`). */
  async beginUpload(input: BeginUploadInput): Promise<BegunUpload> {
    return this.uploads.begin(input);
  }

  /** Stores whole buckets of an upload as chunks, invisible until the commit. */
  async putUploadPart(
    uid: string,
    uploadId: string,
    partNumber: number,
    buckets: Readonly<Record<string, NodeMap>>,
  ): Promise<UploadPartResult> {
    return this.uploads.putPart(uid, uploadId, partNumber, buckets);
  }

  /**
   * Commits an upload with the conditions of a PUT. When the record is where
   * the upload can stand on it, the staged chunks become the next version as
   * they are; a re-apply or a stopped workflow merges node by node, as a PUT
   * of the whole map would. Committing again finds its own result.
   */
  async commitUpload(
    uid: string,
    uploadId: string,
    options: { readonly baseVersion?: string } = {},
    conditions: WriteConditions = {},
  ): Promise<WriteResult> {
    const upload = await this.uploads.requireUpload(uid, uploadId);
    if (conditions.reapply && conditions.ifMatch !== undefined && options.baseVersion === undefined) {
      throw new ValidationError(
        'onConflict=reapply needs baseVersion: the version your nodes were derived from',
      );
    }
    const plan = await this.uploads.plan(upload);
    if (plan.nodeCount > this.settings.maxNodes) {
      throw new PayloadTooLargeError(
        `the upload holds ${plan.nodeCount} nodes; the limit is ${this.settings.maxNodes}`,
      );
    }
    const { result, conflicts } = await this.uploads.commitStaged(upload, plan, conditions);
    if (result !== 'slow') return { ...result, conflicts };
    const nodes = await this.uploads.hydrate(upload, plan);
    const merged = await this.persist(
      {
        uid,
        namespace: upload.namespace,
        name: upload.name,
        ...(upload.phase === undefined ? {} : { phase: upload.phase }),
        ...(upload.message === undefined ? {} : { message: upload.message }),
        nodes,
        ...(options.baseVersion === undefined ? {} : { baseVersion: options.baseVersion }),
      },
      conditions,
    );
    return { ...merged, conflicts: merged.conflicts + conflicts };
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
    return this.renewer.renew();
  }

  // ---------------------------------------------------------------- internals

  /**
   * What lists the versions: log entries (log layout) and history entries
   * (chunk layout), each newest first; a workflow's chain may pass through both.
   */
  private async historyOf(uid: string, limit: number): Promise<VersionSummary[]> {
    const [log, history] = await Promise.all([
      this.store.listLogVersions(uid, limit),
      this.store.listVersions(uid, limit),
    ]);
    return [...log, ...history];
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
   * (or `baseVersion`) names: one commit after it, from the version it pointed at, and that
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
    ifMatch: string | undefined,
    change: NodeChange,
    input: PatchInput,
  ): Promise<boolean> {
    if (ifMatch !== undefined && String(record.resourceVersion - 1) !== ifMatch) return false;
    const base = record.previousNodeStatusVersion;
    if (base === undefined || record.shutdown !== undefined) return false;
    if (input.baseVersion !== undefined && input.baseVersion !== base) return false;
    if (input.phase !== undefined && input.phase !== record.phase) return false;
    if (input.message !== undefined && input.message !== record.message) return false;
    try {
      return (await this.planner.versionAfter(record, base, change)) === record.nodeStatusVersion;
    } catch (error) {
      // The base has expired: nothing left to compare with, so it stays a conflict.
      if (error instanceof VersionNotFoundError) return false;
      throw error;
    }
  }

  /** The caller's per-node change from its base, applied on the current state (sticky terminal phases). */
  private async reapplyFullMap(
    record: WorkflowRecord,
    baseVersion: string,
    nodes: NodeMap,
  ): Promise<NodeMap> {
    let base: NodeMap;
    try {
      base = await this.reader.readAllNodes(record, baseVersion);
    } catch (error) {
      if (error instanceof VersionNotFoundError) {
        throw new ConflictError(
          `baseVersion '${baseVersion}' is not a version of this workflow within retention; reload and retry`,
          currentOf(record),
          { cause: error },
        );
      }
      throw error;
    }
    const current = await this.reader.readAllNodes(record, record.nodeStatusVersion);
    applyNodeChange(current, diffNodeMaps(base, nodes, sameNode));
    return current;
  }
}

export { toSummary };
