/**
 * The race's seeded workload: the workflows, their initial node maps, and
 * when (and how) users stop them. The same seed gives the same workload to
 * every strategy; only the interleaving, which the scheduler decides, differs.
 */

import type { StopStrategy } from '#contract/workflow';
import type { NodeMap, NodeStatus } from '#domain/nodes';
import { generateNodes, mutateNodes } from '#testkit/argo-generator';
import { seededRandom } from '../support/stats.ts';

export interface RaceOptions {
  readonly workflows: number;
  /** Largest node count; each workflow gets between half of it and all of it. */
  readonly nodes: number;
  /** Pods a controller advances per update. */
  readonly podsPerUpdate: number;
  /** Updates per second each controller aims for. */
  readonly updatesPerSecond: number;
  /** Mean milliseconds a controller works between its hydrate and its persist. */
  readonly thinkMs: number;
  /** Share of the workflows a user stops at a random moment. */
  readonly stopFraction: number;
  /** Share of those stops that two users send at the same moment. */
  readonly doubleStopFraction: number;
  /** Chance per update that a running group gets a new child (the DAG expands). */
  readonly expandChance: number;
  readonly durationSeconds: number;
  readonly seed: number;
  /** The baseline deletes versions older than this on every save (Argo's OFFLOAD_NODE_STATUS_TTL). */
  readonly argoTtlSeconds: number;
  readonly strategies: readonly RaceStrategy[];
}

/**
 * `ours` and `argo` drive the domain `WorkflowService` in this process;
 * `sync` drives the local runtime over HTTP through the sync client (see
 * ./sync-operations.ts).
 */
export const raceStrategies = ['ours', 'argo', 'sync'] as const;
/**
 * `unsafe` is a negative control, run only when asked for: this project's
 * store with the compare-and-set taken out (last writer wins). It shows that
 * the ledger check does find lost updates when there are some.
 */
export const allRaceStrategies = [...raceStrategies, 'unsafe'] as const;
export type RaceStrategy = (typeof allRaceStrategies)[number];

export const defaultRaceOptions: RaceOptions = {
  workflows: 20,
  nodes: 400,
  podsPerUpdate: 3,
  updatesPerSecond: 4,
  thinkMs: 100,
  stopFraction: 0.8,
  doubleStopFraction: 0.25,
  expandChance: 0.15,
  durationSeconds: 12,
  seed: 1,
  argoTtlSeconds: 0,
  strategies: [...raceStrategies],
};

export interface PlannedStop {
  /** Milliseconds after the start. */
  readonly atMs: number;
  readonly strategy: StopStrategy;
  /** A second user sends the same stop at the same moment. */
  readonly twice: boolean;
}

export interface PlannedWorkflow {
  readonly index: number;
  readonly uid: string;
  readonly name: string;
  readonly nodes: NodeMap;
  readonly stop?: PlannedStop;
  /** Seed of this workflow's controller decisions. */
  readonly seed: number;
}

export function planWorkload(options: RaceOptions): PlannedWorkflow[] {
  const random = seededRandom(options.seed);
  return Array.from({ length: options.workflows }, (_, index) => {
    const nodeCount = Math.max(8, Math.round(options.nodes * (0.5 + random() / 2)));
    const seed = options.seed * 10_007 + index;
    const nodes = generateNodes({ nodeCount, seed, runningFraction: 0.6 }) as NodeMap;
    const stopped = random() < options.stopFraction;
    const stop: PlannedStop | undefined = stopped
      ? {
          atMs: Math.round(options.durationSeconds * 1000 * (0.05 + random() * 0.9)),
          strategy: random() < 0.5 ? 'Stop' : 'Terminate',
          twice: random() < options.doubleStopFraction,
        }
      : undefined;
    const name = Object.keys(nodes)[0] ?? `race-${index}`;
    return { index, uid: `race-${options.seed}-${index}`, name, nodes, seed, ...(stop ? { stop } : {}) };
  });
}

/**
 * One reconcile step of a controller on the map it hydrated: advances some
 * pods (Pending -> Running -> Succeeded, their containers' progress and
 * phase with them) and, now and then, gives a running group a new pod (its
 * `children` and `progress` updated). Returns only the nodes it set or added.
 */
export function reconcile(nodes: NodeMap, options: RaceOptions, random: () => number): NodeMap {
  const { set } = mutateNodes(nodes, {
    count: options.podsPerUpdate,
    seed: Math.floor(random() * 2 ** 31),
  });
  const change = set as NodeMap;
  if (random() < options.expandChance) {
    const groups = Object.values(nodes).filter(
      (node) => (node.type === 'DAG' || node.type === 'Steps') && node.phase === 'Running' && node.boundaryID,
    );
    const group = groups[Math.floor(random() * groups.length)];
    if (group) {
      const groupId = String(group.id);
      const base = change[groupId] ?? group;
      const workflow = groupId.slice(0, groupId.lastIndexOf('-'));
      let childId: string;
      do childId = `${workflow}-${1_000_000_000 + Math.floor(random() * 3_294_967_296)}`;
      while (nodes[childId] || change[childId]);
      const child: NodeStatus = {
        id: childId,
        name: `${base.name}.expand-${childId.slice(-4)}`,
        displayName: `expand-${childId.slice(-4)}`,
        type: 'Pod',
        templateName: 'container-task',
        templateScope: String(base.templateScope ?? ''),
        phase: 'Pending',
        boundaryID: groupId,
        startedAt: new Date(Date.UTC(2025, 0, 2)).toISOString().replace('.000', ''),
        finishedAt: null,
        progress: '0/1',
      };
      const [done, total] = String(base.progress ?? '0/0')
        .split('/')
        .map((part) => Number(part) || 0);
      change[groupId] = {
        ...base,
        children: [...((base.children as string[] | undefined) ?? []), childId],
        progress: `${done ?? 0}/${(total ?? 0) + 1}`,
      };
      change[childId] = child;
    }
  }
  return change;
}
