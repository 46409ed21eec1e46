/**
 * What every writer of the race was told, and the independent check of the
 * final state against it.
 *
 * Each writer appends to the ledger of its workflow only what the service
 * acknowledged (the call returned), with the `resourceVersion` the service
 * returned, and, separately, what it attempted without an acknowledgement
 * (the call threw). After the run, {@link verifyWorkflow} replays the
 * acknowledged writes and compares the result with the workflow as stored.
 *
 * ## The rule
 *
 * Order: a commit increments the workflow's `resourceVersion` by one, so the
 * acknowledged writes that committed (an update that wrote something, a
 * stop with `changed: true`) are totally ordered by the resourceVersion they
 * returned, and no two may share one. An acknowledged write that committed
 * nothing (the service found the state already as asked, or the workflow
 * already stopped) returned the resourceVersion it was evaluated against; it
 * is replayed right after the commit that produced that resourceVersion.
 *
 * Replay, from the map the workflow was created with:
 *
 * 1. an update applies, node by node, the change its controller made to the
 *    map it had hydrated (nodes set or added); a node already in a terminal
 *    phase (Succeeded, Failed, Error, Skipped, Omitted) keeps its value when
 *    the change would move it back to Pending or Running (terminal phases are
 *    sticky: invariant 6); once the workflow is stopped, the update is
 *    followed by 3.; otherwise the workflow phase becomes the one it sent;
 * 2. a stop sets the workflow stopped (the strategy of the first stop that
 *    committed) and phase Failed, then 3.;
 * 3. every node not in a terminal phase becomes `{...node, phase: 'Failed',
 *    message: "Stopped with strategy '<strategy>'", finishedAt}`, where
 *    finishedAt is the node's own when it is a non-empty string and
 *    otherwise any non-empty string (the stop's clock).
 *
 * A stop supersedes an acknowledged Pending/Running value only this way; a
 * later acknowledged change supersedes an earlier one only by coming later
 * in this order. Anything else that differs is a lost update:
 *
 * - a node whose stored value differs from the replayed one (`mismatch`),
 * - a replayed node missing from the store (`missing`), or a stored node the
 *   replay does not have (`phantom`),
 * - a workflow whose stopped state or phase differs from the replay,
 * - two acknowledged commits with the same resourceVersion (`double commit`).
 *
 * Writes that threw may still have committed (the error came after the
 * commit point). When the stored resourceVersion shows commits that no
 * acknowledgement accounts for, a differing node whose stored value equals a
 * value one of those unacknowledged attempts sent (or its stopped form) is
 * counted as `ambiguous`, not lost; so is a node whose stored value is the
 * stopped form of its replayed one when a stop threw (a stop that timed out
 * after its commit).
 */
import { isDeepStrictEqual } from 'node:util';
import type { StopStrategy } from '#contract/workflow';
import { isTerminalNodePhase, type NodeMap, type NodeStatus, stopMessage } from '#domain/nodes';

export type AcknowledgedWrite =
  | {
      readonly kind: 'update';
      readonly resourceVersion: number;
      /** False when the service acknowledged without writing (nothing to change). */
      readonly committed: boolean;
      /** The controller's change to the map it hydrated: new values of the nodes it set or added. */
      readonly change: NodeMap;
      readonly phase: string;
    }
  | {
      readonly kind: 'stop';
      readonly resourceVersion: number;
      readonly committed: boolean;
      readonly strategy: StopStrategy;
    };

export interface UnacknowledgedWrite {
  readonly kind: 'update' | 'stop';
  readonly change?: NodeMap;
  readonly strategy?: StopStrategy;
}

export class WorkflowLedger {
  readonly acknowledged: AcknowledgedWrite[] = [];
  readonly unacknowledged: UnacknowledgedWrite[] = [];

  constructor(
    readonly uid: string,
    readonly initial: NodeMap,
  ) {}
}

export interface StoredWorkflow {
  readonly resourceVersion: number;
  readonly phase: string;
  readonly shutdown?: string;
  readonly nodes: NodeMap;
}

export interface Discrepancy {
  readonly uid: string;
  readonly kind: 'mismatch' | 'missing' | 'phantom' | 'stop-state' | 'phase' | 'double-commit';
  readonly nodeId?: string;
  readonly expected?: unknown;
  readonly actual?: unknown;
}

export interface Verification {
  readonly lost: Discrepancy[];
  /** Differences explained by a write that threw but may have committed. */
  readonly ambiguous: Discrepancy[];
  /** Commits no acknowledgement accounts for (resourceVersions 2..current without an acknowledged commit). */
  readonly unacknowledgedCommits: number;
  readonly acknowledgedNodeChanges: number;
}

/** Replays the acknowledged writes; `wildcardFinishedAt` holds the ids a stop gave its own clock. */
export function replay(ledger: WorkflowLedger): {
  nodes: NodeMap;
  stoppedWith?: StopStrategy;
  phase: string;
  wildcardFinishedAt: Set<string>;
  doubleCommits: number[];
} {
  const nodes: NodeMap = structuredClone(ledger.initial);
  const wildcardFinishedAt = new Set<string>();
  let stoppedWith: StopStrategy | undefined;
  let phase = 'Running';
  const order = ledger.acknowledged
    .map((write, index) => ({ write, index }))
    .sort(
      (a, b) =>
        a.write.resourceVersion - b.write.resourceVersion ||
        Number(b.write.committed) - Number(a.write.committed) ||
        a.index - b.index,
    );
  const committedAt = new Map<number, number>();
  const doubleCommits: number[] = [];
  for (const { write } of order) {
    if (write.committed) {
      committedAt.set(write.resourceVersion, (committedAt.get(write.resourceVersion) ?? 0) + 1);
      if (committedAt.get(write.resourceVersion) === 2) doubleCommits.push(write.resourceVersion);
    }
  }

  const failUnfinished = (strategy: StopStrategy) => {
    for (const [id, node] of Object.entries(nodes)) {
      if (isTerminalNodePhase(node.phase)) continue;
      const ownFinishedAt = typeof node.finishedAt === 'string' && node.finishedAt !== '';
      nodes[id] = { ...node, phase: 'Failed', message: stopMessage(strategy) };
      if (!ownFinishedAt) wildcardFinishedAt.add(id);
    }
  };

  for (const { write } of order) {
    if (write.kind === 'update') {
      for (const [id, node] of Object.entries(write.change)) {
        const current = nodes[id];
        if (current && isTerminalNodePhase(current.phase) && !isTerminalNodePhase(node.phase)) continue;
        nodes[id] = structuredClone(node);
        wildcardFinishedAt.delete(id);
      }
      if (stoppedWith) failUnfinished(stoppedWith);
      else phase = write.phase;
    } else {
      stoppedWith ??= write.strategy;
      phase = 'Failed';
      failUnfinished(stoppedWith);
    }
  }
  return { nodes, ...(stoppedWith ? { stoppedWith } : {}), phase, wildcardFinishedAt, doubleCommits };
}

/** True when `actual` is `expected`, reading `finishedAt` as "any non-empty string" when `wildcard`. */
function sameNode(expected: NodeStatus, actual: NodeStatus, wildcard: boolean): boolean {
  if (!wildcard) return isDeepStrictEqual(expected, actual);
  const { finishedAt: _expected, ...expectedRest } = expected;
  const { finishedAt, ...actualRest } = actual;
  return typeof finishedAt === 'string' && finishedAt !== '' && isDeepStrictEqual(expectedRest, actualRest);
}

const stoppedForm = (node: NodeStatus, strategy: StopStrategy): NodeStatus =>
  isTerminalNodePhase(node.phase) ? node : { ...node, phase: 'Failed', message: stopMessage(strategy) };

export function verifyWorkflow(ledger: WorkflowLedger, stored: StoredWorkflow): Verification {
  const expected = replay(ledger);
  const lost: Discrepancy[] = [];
  const ambiguous: Discrepancy[] = [];
  const uid = ledger.uid;
  const committed = new Set(
    ledger.acknowledged.filter((write) => write.committed).map((write) => write.resourceVersion),
  );
  let unacknowledgedCommits = 0;
  for (let resourceVersion = 2; resourceVersion <= stored.resourceVersion; resourceVersion++) {
    if (!committed.has(resourceVersion)) unacknowledgedCommits++;
  }
  const attemptedValues = (id: string): NodeStatus[] =>
    ledger.unacknowledged.flatMap((write) => {
      const node = write.change?.[id];
      if (!node) return [];
      return [node, stoppedForm(node, 'Stop'), stoppedForm(node, 'Terminate')];
    });
  const unacknowledgedStops = ledger.unacknowledged.flatMap((write) =>
    write.kind === 'stop' && write.strategy ? [write.strategy] : [],
  );
  const report = (discrepancy: Discrepancy, explained: boolean) =>
    (explained ? ambiguous : lost).push(discrepancy);

  for (const resourceVersion of expected.doubleCommits) {
    lost.push({ uid, kind: 'double-commit', expected: 'one commit', actual: resourceVersion });
  }
  for (const [id, node] of Object.entries(expected.nodes)) {
    const actual = stored.nodes[id];
    if (actual === undefined) {
      lost.push({ uid, kind: 'missing', nodeId: id, expected: node });
      continue;
    }
    if (sameNode(node, actual, expected.wildcardFinishedAt.has(id))) continue;
    // A stop that threw may have committed all the same (over HTTP, a timeout after the commit point).
    const stoppedByUnacknowledged = unacknowledgedStops.some((strategy) =>
      sameNode(stoppedForm(node, strategy), actual, true),
    );
    const explained =
      unacknowledgedCommits > 0 &&
      (stoppedByUnacknowledged || attemptedValues(id).some((candidate) => sameNode(candidate, actual, true)));
    report({ uid, kind: 'mismatch', nodeId: id, expected: node, actual }, explained);
  }
  for (const id of Object.keys(stored.nodes)) {
    if (expected.nodes[id] !== undefined) continue;
    const explained = unacknowledgedCommits > 0 && attemptedValues(id).length > 0;
    report({ uid, kind: 'phantom', nodeId: id, actual: stored.nodes[id] }, explained);
  }
  const explainedStop =
    unacknowledgedCommits > 0 && ledger.unacknowledged.some((write) => write.kind === 'stop');
  if ((expected.stoppedWith ?? undefined) !== (stored.shutdown ?? undefined)) {
    report(
      {
        uid,
        kind: 'stop-state',
        expected: expected.stoppedWith ?? 'not stopped',
        actual: stored.shutdown ?? 'not stopped',
      },
      explainedStop,
    );
  }
  if (expected.phase !== stored.phase) {
    report({ uid, kind: 'phase', expected: expected.phase, actual: stored.phase }, unacknowledgedCommits > 0);
  }
  const acknowledgedNodeChanges = ledger.acknowledged.reduce(
    (sum, write) => sum + (write.kind === 'update' ? Object.keys(write.change).length : 0),
    0,
  );
  return { lost, ambiguous, unacknowledgedCommits, acknowledgedNodeChanges };
}
