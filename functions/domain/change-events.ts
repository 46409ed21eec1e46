/**
 * What a change of a workflow record means to a subscriber: the change
 * event's detail (docs/api.md, "Change events"). Every commit, stop,
 * re-apply and delete changes the record; the record before and after (from
 * the records table's stream) say which versions to compare, and the
 * node-level change between them is read as a diff reads it: chunk ids
 * first, then only the chunks that differ.
 *
 * The per-node changes go inline while the detail stays under the bus's
 * size limit; past it, or when a version can no longer be read, the detail
 * says so and where to read them instead.
 *
 * At-least-once: the same record change always gives the same detail with
 * the same `id`, so a subscriber drops a duplicate delivery by its id.
 */
import {
  VersionGoneError,
  VersionMissingError,
  VersionNotFoundError,
  WorkflowNotFoundError,
} from './errors.ts';
import { addedEntry, type DiffEntry, type NodePage, type NodePageRequest } from './node-pages.ts';
import type { WorkflowRecord } from './store.ts';
import type { PhaseCounts } from './summaries.ts';

/** The record as it was before and after one change; undefined where it did not exist. */
export interface RecordChange {
  readonly before?: WorkflowRecord;
  readonly after?: WorkflowRecord;
}

export type ChangeKind = 'created' | 'updated' | 'deleted';

/** Why the per-node changes are not in the event. */
export type OmittedReason = 'tooLarge' | 'versionGone' | 'workflowGone';

export interface WorkflowChangeEvent {
  /** `<uid>:<resourceVersion>`, or `<uid>:<resourceVersion>:deleted`: the same for a duplicate delivery. */
  readonly id: string;
  readonly kind: ChangeKind;
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  /** The workflow phase after the change (before it, for a delete). */
  readonly phase: string;
  readonly shutdown?: string;
  readonly resourceVersion: number;
  /** The version before the change; null for a new workflow. */
  readonly fromVersion: string | null;
  /** The version after the change; null once deleted. */
  readonly toVersion: string | null;
  readonly nodeCount: number;
  readonly phaseCounts?: PhaseCounts;
  readonly updatedAt: string;
  /** Nodes added, removed and changed; absent for a delete and when the nodes are omitted. */
  readonly added?: number;
  readonly removed?: number;
  readonly changed?: number;
  /** Node by node: id, name, type, phase before and after, the fields that differ. */
  readonly nodes?: readonly DiffEntry[];
  /**
   * Set when `nodes` is left out: why, and the route that lists them (the
   * diff of the two versions; for a new workflow, its nodes in pages).
   */
  readonly nodesOmitted?: { readonly reason: OmittedReason; readonly read: string };
}

/** What the describer reads nodes with (the service's `readNodes`). */
export interface NodePageSource {
  readNodes(request: NodePageRequest): Promise<NodePage>;
}

/** Detail bytes a per-node entry takes at the least: a bound to skip reading a change that cannot fit. */
const minimumEntryBytes = 32;

/**
 * True when the change is one a subscriber hears of: a new record, a
 * deleted one, or a commit (a new resourceVersion). A lease renewal changes
 * the record but not its resourceVersion, and is not an event.
 */
export function isPublishable(change: RecordChange): boolean {
  if (change.before === undefined || change.after === undefined) {
    return change.before !== undefined || change.after !== undefined;
  }
  return change.before.resourceVersion !== change.after.resourceVersion;
}

const bytesOf = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

export class ChangeDescriber {
  constructor(
    private readonly nodes: NodePageSource,
    /** Largest detail with its nodes inline (`changeEvent.maxDetailBytes`). */
    private readonly maxDetailBytes: number,
    /** Node JSON one read of the change may decode (a page's budget). */
    private readonly pageBudgetBytes: number,
  ) {}

  /** The event of one publishable record change. */
  async describe(change: RecordChange): Promise<WorkflowChangeEvent> {
    const { before, after } = change;
    const record = after ?? before;
    if (!record) throw new Error('a record change needs a record before or after it');
    const kind: ChangeKind = after === undefined ? 'deleted' : before === undefined ? 'created' : 'updated';
    const fromVersion = before?.nodeStatusVersion ?? null;
    const toVersion = after?.nodeStatusVersion ?? null;
    const head: WorkflowChangeEvent = {
      id: `${record.uid}:${record.resourceVersion}${kind === 'deleted' ? ':deleted' : ''}`,
      kind,
      uid: record.uid,
      namespace: record.namespace,
      name: record.name,
      phase: record.phase,
      ...(record.shutdown ? { shutdown: record.shutdown } : {}),
      resourceVersion: record.resourceVersion,
      fromVersion,
      toVersion,
      nodeCount: record.nodeCount,
      ...(record.phaseCounts ? { phaseCounts: record.phaseCounts } : {}),
      updatedAt: record.updatedAt,
    };
    if (after === undefined) return head;

    const workflowPath = `/v1/workflows/${encodeURIComponent(record.uid)}`;
    const to = encodeURIComponent(after.nodeStatusVersion);
    const read =
      fromVersion === null
        ? `${workflowPath}/nodes?version=${to}`
        : `${workflowPath}/diff?from=${encodeURIComponent(fromVersion)}&to=${to}`;
    const omitted = (reason: OmittedReason): WorkflowChangeEvent => ({
      ...head,
      nodesOmitted: { reason, read },
    });
    const budget = this.maxDetailBytes - bytesOf(omitted('tooLarge'));
    // A new workflow's every node is an entry: skip reading what cannot fit.
    if (before === undefined && after.nodeCount * minimumEntryBytes > budget) return omitted('tooLarge');

    const entries: DiffEntry[] = [];
    let bytes = 0;
    try {
      let fromBucket: number | undefined;
      do {
        const page = await this.nodes.readNodes({
          uid: after.uid,
          // Without its inline copy: the versions are read from their manifests.
          asOf: { ...after, inline: undefined },
          version: after.nodeStatusVersion,
          pinned: true,
          ...(fromVersion === null ? {} : { since: fromVersion }),
          ...(fromBucket === undefined ? {} : { fromBucket }),
          budgetBytes: this.pageBudgetBytes,
        });
        const pageEntries =
          page.change?.entries ?? Object.entries(page.nodes ?? {}).map(([id, node]) => addedEntry(id, node));
        for (const entry of pageEntries) {
          bytes += bytesOf(entry) + 1;
          if (bytes > budget) return omitted('tooLarge');
          entries.push(entry);
        }
        fromBucket = page.nextBucket;
      } while (fromBucket !== undefined);
    } catch (error) {
      // Read long after the change (a stream backlog older than R): its versions expired.
      if (error instanceof WorkflowNotFoundError) return omitted('workflowGone');
      if (
        error instanceof VersionGoneError ||
        error instanceof VersionNotFoundError ||
        error instanceof VersionMissingError
      ) {
        return omitted('versionGone');
      }
      throw error;
    }
    entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const count = (which: DiffEntry['change']) => entries.filter((entry) => entry.change === which).length;
    return {
      ...head,
      added: count('added'),
      removed: count('removed'),
      changed: count('changed'),
      nodes: entries,
    };
  }
}
