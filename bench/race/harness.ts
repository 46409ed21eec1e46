/**
 * Runs the race for one strategy: creates the workflows, starts one
 * simulated controller per workflow and the users' stops, all concurrently,
 * for the set duration; then reads every workflow back and verifies it
 * against the ledger (see ./ledger.ts).
 *
 * A controller does what Argo's does on each reconcile: hydrate the
 * workflow's current version, work on it a little, and persist the whole
 * map with If-Match (the resourceVersion it hydrated) and re-apply, naming
 * the version it hydrated as `baseVersion`. On a conflict the service
 * re-hydrates that base version, as Argo's controller reloads `woc.orig` and
 * hydrates the version it points at, and re-applies the controller's change
 * on the current state. Every strategy runs this same loop through the
 * operations of ./operations.ts: `ours`, `argo` and `unsafe` the same
 * `WorkflowService` in this process (only the store differs), `sync` the
 * local runtime over HTTP through the sync client (./sync-operations.ts).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { StopStrategy } from '#contract/workflow';
import { isCompletedWorkflowPhase, isTerminalNodePhase, type NodeMap } from '#domain/nodes';
import { WorkflowService } from '#domain/workflow-service';
import { DynamoDbStore } from '#store/dynamodb-store';
import { type Summary, seededRandom, summarize } from '../support/stats.ts';
import { type Discrepancy, verifyWorkflow, WorkflowLedger } from './ledger.ts';
import {
  classifyDomainError,
  type FailureKind,
  type Hydrated,
  inProcessOperations,
  type OperationName,
  type RaceOperations,
} from './operations.ts';
import { syncOperations } from './sync-operations.ts';
import { type PlannedWorkflow, type RaceOptions, type RaceStrategy, reconcile } from './workload.ts';

export { createStore } from './operations.ts';
export type { FailureKind };

export const seedFailureKinds: readonly FailureKind[] = [
  'versionMissing',
  'baseVersionGone',
  'versionNotFound',
];

export interface FailureSample {
  readonly operation: OperationName;
  readonly kind: FailureKind;
  readonly uid: string;
  readonly atMs: number;
  readonly error: string;
  readonly message: string;
}

export interface StrategyReport {
  readonly strategy: RaceStrategy;
  readonly store: string;
  readonly workflows: number;
  readonly durationMs: number;
  readonly operations: { hydrate: number; persist: number; stop: number; total: number };
  /** The operations that succeeded: hydrates and persists answered, stops acknowledged (not refused). */
  readonly acknowledgedOperations: { hydrate: number; persist: number; stop: number; total: number };
  readonly persistsAcknowledged: number;
  /** Persists whose If-Match was stale on arrival, so the service re-applied the change. */
  readonly reapplied: number;
  /** Compare-and-set conflicts met and retried inside the service (persist and stop). */
  readonly casConflicts: number;
  readonly stops: {
    readonly requested: number;
    /** Acknowledged, and the stored workflow is stopped. */
    readonly tookEffect: number;
    /** Refused because the workflow had already completed (a correct answer). */
    readonly refusedCompleted: number;
    readonly failed: number;
  };
  readonly failures: Record<FailureKind, number>;
  /** The seed failure by the operation that met it. */
  readonly versionMissingBy: Record<FailureSample['operation'], number>;
  /** The seed failure in all its forms: versionMissing + baseVersionGone + versionNotFound. */
  readonly versionMissingFailures: number;
  readonly workflowsWithFailures: number;
  readonly workflowsCompleted: number;
  readonly workflowsStopped: number;
  readonly acknowledgedNodeChanges: number;
  /** Nodes (or workflow states) whose stored value contradicts the replay of acknowledged writes. */
  readonly lostUpdates: number;
  readonly ambiguous: number;
  readonly unacknowledgedCommits: number;
  /** Workflows that could not be read back at all after the run. */
  readonly unreadableWorkflows: number;
  readonly latencyMs: { hydrate: Summary; persist: Summary; stop: Summary };
  readonly failureSamples: readonly FailureSample[];
  readonly lostSamples: readonly Discrepancy[];
}

export interface Progress {
  readonly strategy: RaceStrategy;
  readonly elapsedMs: number;
  readonly running: number;
  readonly persists: number;
  readonly conflicts: number;
  readonly stopsRequested: number;
  readonly stopsDone: number;
  readonly failures: number;
}

/** The failure kind of a domain error (the in-process strategies'). */
export const classify = classifyDomainError;

const sleep = (milliseconds: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, milliseconds)));

/** Where a strategy runs: a table on a DynamoDB (its endpoint for the runtime `sync` starts). */
export interface RaceTarget {
  readonly documentClient: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly endpoint: string;
}

/** The operations a strategy runs on (see ./operations.ts). */
async function openOperations(
  strategy: RaceStrategy,
  target: RaceTarget,
  options: RaceOptions,
  onRecoveredFailure: (operation: OperationName, uid: string, error: unknown) => void,
): Promise<RaceOperations> {
  if (strategy === 'sync') {
    return syncOperations({
      dynamodbEndpoint: target.endpoint,
      tableName: target.tableName,
      onRecoveredFailure,
    });
  }
  return inProcessOperations(strategy, target.documentClient, target.tableName, options);
}

export async function runStrategy(
  strategy: RaceStrategy,
  target: RaceTarget,
  plan: readonly PlannedWorkflow[],
  options: RaceOptions,
  onProgress: (progress: Progress) => void,
): Promise<StrategyReport> {
  const counts = {
    hydrate: 0,
    persist: 0,
    stop: 0,
    hydratesAcknowledged: 0,
    persistsAcknowledged: 0,
    reapplied: 0,
    casConflicts: 0,
    stopsRequested: 0,
    stopsAcknowledged: 0,
    refusedCompleted: 0,
    stopsFailed: 0,
  };
  const failures: Record<FailureKind, number> = {
    versionMissing: 0,
    baseVersionGone: 0,
    versionNotFound: 0,
    contention: 0,
    other: 0,
  };
  const versionMissingBy: Record<FailureSample['operation'], number> = {
    hydrate: 0,
    persist: 0,
    stop: 0,
    verify: 0,
  };
  const failureSamples: FailureSample[] = [];
  const workflowsWithFailures = new Set<string>();
  const latency = { hydrate: [] as number[], persist: [] as number[], stop: [] as number[] };
  let start = performance.now();
  let classifyError: (error: unknown) => FailureKind = classifyDomainError;

  const fail = (
    operation: FailureSample['operation'],
    uid: string,
    error: unknown,
    kind: FailureKind = classifyError(error),
  ) => {
    failures[kind]++;
    if (seedFailureKinds.includes(kind)) versionMissingBy[operation]++;
    workflowsWithFailures.add(uid);
    if (failureSamples.length < 20) {
      failureSamples.push({
        operation,
        kind,
        uid,
        atMs: Math.round(performance.now() - start),
        error: (error as Error).name ?? 'Error',
        message: String((error as Error).message ?? error),
      });
    }
  };

  const operations = await openOperations(strategy, target, options, (operation, uid, error) =>
    fail(operation, uid, error),
  );
  classifyError = (error) => operations.classify(error);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await operations.close();
  };
  try {
    const ledgers = new Map<string, WorkflowLedger>();
    for (const workflow of plan) {
      await operations.create(workflow);
      ledgers.set(workflow.uid, new WorkflowLedger(workflow.uid, workflow.nodes));
    }

    start = performance.now();
    const deadline = start + options.durationSeconds * 1000;
    let running = plan.length;

    const controller = async (workflow: PlannedWorkflow) => {
      const random = seededRandom(workflow.seed);
      const ledger = ledgers.get(workflow.uid) as WorkflowLedger;
      const own = operations.controller(workflow);
      const interval = 1000 / options.updatesPerSecond;
      try {
        while (performance.now() < deadline) {
          const iterationStart = performance.now();
          counts.hydrate++;
          let hydrated: Hydrated;
          try {
            hydrated = await own.hydrate();
            latency.hydrate.push(performance.now() - iterationStart);
            counts.hydratesAcknowledged++;
          } catch (error) {
            fail('hydrate', workflow.uid, error);
            await sleep(interval);
            continue;
          }
          // A stopped or finished workflow needs no more reconciling.
          if (hydrated.shutdown || isCompletedWorkflowPhase(hydrated.phase)) return;
          // The reconcile's own work: the window in which a user's stop can commit first.
          await sleep(options.thinkMs * 2 * random());
          const change = reconcile(hydrated.nodes, options, random);
          if (Object.keys(change).length === 0) {
            await sleep(interval);
            continue;
          }
          const nodes: NodeMap = { ...hydrated.nodes, ...change };
          const done = Object.values(nodes).every((node) => isTerminalNodePhase(node.phase));
          const phase = done ? 'Succeeded' : 'Running';
          counts.persist++;
          const persistStart = performance.now();
          try {
            const result = await own.persist({
              uid: workflow.uid,
              namespace: 'race',
              name: workflow.name,
              phase,
              nodes,
              baseVersion: hydrated.nodeStatusVersion,
              ifMatch: String(hydrated.resourceVersion),
            });
            latency.persist.push(performance.now() - persistStart);
            counts.persistsAcknowledged++;
            if (result.reapplied) counts.reapplied++;
            counts.casConflicts += result.conflicts;
            ledger.acknowledged.push({
              kind: 'update',
              resourceVersion: result.resourceVersion,
              committed: result.committed,
              change,
              phase,
            });
            if (done && !result.shutdown) return;
          } catch (error) {
            ledger.unacknowledged.push({ kind: 'update', change });
            fail('persist', workflow.uid, error);
          }
          await sleep(interval - (performance.now() - iterationStart));
        }
      } finally {
        running--;
      }
    };

    const stopOnce = async (workflow: PlannedWorkflow, strategy: StopStrategy) => {
      const ledger = ledgers.get(workflow.uid) as WorkflowLedger;
      counts.stop++;
      counts.stopsRequested++;
      const stopStart = performance.now();
      try {
        const result = await operations.stop(workflow.uid, strategy);
        latency.stop.push(performance.now() - stopStart);
        counts.stopsAcknowledged++;
        counts.casConflicts += result.conflicts;
        ledger.acknowledged.push({
          kind: 'stop',
          resourceVersion: result.resourceVersion,
          committed: result.changed,
          strategy,
        });
      } catch (error) {
        if (operations.refusedCompleted(error)) {
          counts.refusedCompleted++;
          latency.stop.push(performance.now() - stopStart);
          return;
        }
        counts.stopsFailed++;
        ledger.unacknowledged.push({ kind: 'stop', strategy });
        fail('stop', workflow.uid, error);
      }
    };

    const user = async (workflow: PlannedWorkflow) => {
      const stop = workflow.stop;
      if (!stop) return;
      await sleep(start + stop.atMs - performance.now());
      const other: StopStrategy = stop.strategy === 'Stop' ? 'Terminate' : 'Stop';
      await Promise.all([
        stopOnce(workflow, stop.strategy),
        ...(stop.twice ? [stopOnce(workflow, other)] : []),
      ]);
    };

    const ticker = setInterval(() => {
      onProgress({
        strategy,
        elapsedMs: performance.now() - start,
        running,
        persists: counts.persistsAcknowledged,
        conflicts: counts.reapplied + counts.casConflicts,
        stopsRequested: counts.stopsRequested,
        stopsDone: counts.stopsAcknowledged + counts.refusedCompleted,
        failures: Object.values(failures).reduce((sum, count) => sum + count, 0),
      });
    }, 1000);
    try {
      await Promise.all([...plan.map(controller), ...plan.map(user)]);
    } finally {
      clearInterval(ticker);
    }
    const durationMs = performance.now() - start;
    await close();
    counts.casConflicts += operations.serviceCasConflicts();

    // Read every workflow back with a plain store (no delete on any path) and check it against the ledger.
    const reader = new WorkflowService(
      new DynamoDbStore(target.documentClient, { tableName: target.tableName }),
      { alwaysOffload: true },
    );
    let lostUpdates = 0;
    let ambiguous = 0;
    let unacknowledgedCommits = 0;
    let unreadableWorkflows = 0;
    let acknowledgedNodeChanges = 0;
    let stopsTookEffect = 0;
    let workflowsCompleted = 0;
    let workflowsStopped = 0;
    const lostSamples: Discrepancy[] = [];
    for (const workflow of plan) {
      const ledger = ledgers.get(workflow.uid) as WorkflowLedger;
      let stored: Awaited<ReturnType<typeof reader.getWorkflow>>;
      try {
        stored = await reader.getWorkflow(workflow.uid);
      } catch (error) {
        unreadableWorkflows++;
        // The reader is the domain's, whatever the strategy: its errors are the domain's.
        fail('verify', workflow.uid, error, classifyDomainError(error));
        continue;
      }
      const verification = verifyWorkflow(ledger, stored);
      lostUpdates += verification.lost.length;
      ambiguous += verification.ambiguous.length;
      unacknowledgedCommits += verification.unacknowledgedCommits;
      acknowledgedNodeChanges += verification.acknowledgedNodeChanges;
      for (const discrepancy of verification.lost) if (lostSamples.length < 10) lostSamples.push(discrepancy);
      const acknowledgedStops = ledger.acknowledged.filter((write) => write.kind === 'stop').length;
      if (stored.shutdown) {
        workflowsStopped++;
        stopsTookEffect += acknowledgedStops;
      } else if (isCompletedWorkflowPhase(stored.phase)) {
        workflowsCompleted++;
      }
    }

    return {
      strategy,
      store: operations.store,
      workflows: plan.length,
      durationMs: Math.round(durationMs),
      operations: {
        hydrate: counts.hydrate,
        persist: counts.persist,
        stop: counts.stop,
        total: counts.hydrate + counts.persist + counts.stop,
      },
      acknowledgedOperations: {
        hydrate: counts.hydratesAcknowledged,
        persist: counts.persistsAcknowledged,
        stop: counts.stopsAcknowledged,
        total: counts.hydratesAcknowledged + counts.persistsAcknowledged + counts.stopsAcknowledged,
      },
      persistsAcknowledged: counts.persistsAcknowledged,
      reapplied: counts.reapplied,
      casConflicts: counts.casConflicts,
      stops: {
        requested: counts.stopsRequested,
        tookEffect: stopsTookEffect,
        refusedCompleted: counts.refusedCompleted,
        failed: counts.stopsFailed,
      },
      failures,
      versionMissingBy,
      versionMissingFailures: failures.versionMissing + failures.baseVersionGone + failures.versionNotFound,
      workflowsWithFailures: workflowsWithFailures.size,
      workflowsCompleted,
      workflowsStopped,
      acknowledgedNodeChanges,
      lostUpdates,
      ambiguous,
      unacknowledgedCommits,
      unreadableWorkflows,
      latencyMs: {
        hydrate: summarize(latency.hydrate),
        persist: summarize(latency.persist),
        stop: summarize(latency.stop),
      },
      failureSamples,
      lostSamples,
    };
  } finally {
    await close();
  }
}
