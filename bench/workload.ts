/**
 * The benchmark's workload: a seeded node map of N nodes, halfway through its
 * run, and a sequence of updates that each advance k pods the way the
 * controller does (Pending -> Running -> Succeeded), with their containers'
 * progress (`mutateNodes`). Every strategy replays the same sequence.
 */
import { gzipSync } from 'node:zlib';
import type { NodeMap } from '#domain/nodes';
import { generateNodes, mutateNodes } from '#testkit/argo-generator';

export interface Workload {
  readonly nodeCount: number;
  readonly podsPerUpdate: number;
  readonly initial: NodeMap;
  /** The changed nodes of each update, in order (as many as built so far). */
  readonly updates: readonly NodeMap[];
  /** Nodes changed per update, pods plus their containers. */
  readonly changedNodes: readonly number[];
  /**
   * The physical limit of each update: its changed nodes gzip-compressed, in
   * 1 KB write units, plus one write unit for a small record. No store can
   * write less and keep the change.
   */
  readonly limitUnits: readonly number[];
  /**
   * Builds more updates, up to `count` in all; false when the workflow ran
   * out of pods to advance first. A case that runs until its store folds a
   * chain asks for them as it goes, so no case builds more than it needs.
   */
  extend(count: number): boolean;
}

/** Share of the nodes still Pending or Running at the start: a workflow halfway through. */
export const runningFraction = 0.5;

/**
 * Builds `updateCount` updates of `podsPerUpdate` pods each (fewer when the
 * workflow runs out of pods to advance: it is done), and more on request.
 */
export function buildWorkload(
  nodeCount: number,
  podsPerUpdate: number,
  updateCount: number,
  seed: number,
): Workload {
  const initial = generateNodes({ nodeCount, seed, runningFraction }) as NodeMap;
  // One working copy, changed in place: a copy per update would cost O(N) each.
  const state: NodeMap = { ...initial };
  const updates: NodeMap[] = [];
  const changedNodes: number[] = [];
  const limitUnits: number[] = [];
  let done = false;
  const extend = (count: number): boolean => {
    while (updates.length < count && !done) {
      const index = updates.length;
      const { set, changedIds } = mutateNodes(state, { count: podsPerUpdate, seed: seed * 100_003 + index });
      const pods = changedIds.filter((id) => set[id]?.type === 'Pod').length;
      if (pods < podsPerUpdate) {
        done = true;
        break;
      }
      updates.push(set as NodeMap);
      changedNodes.push(changedIds.length);
      limitUnits.push(Math.ceil(gzipSync(JSON.stringify(set)).length / 1024) + 1);
      Object.assign(state, set);
    }
    return updates.length >= count;
  };
  extend(updateCount);
  return { nodeCount, podsPerUpdate, initial, updates, changedNodes, limitUnits, extend };
}
