/**
 * What a bucket or a version holds, counted without reading it again: node
 * counts by phase (kept on the record, so a namespace listing shows progress
 * without reading a chunk) and, per bucket, which phases and node types
 * occur in it (kept in the manifest, so a read scoped to a phase or a type
 * touches only the buckets that can hold such nodes).
 */
import { type NodePhase, nodePhases } from '#contract/workflow';
import type { NodeMap } from './nodes.ts';

/** Nodes of a version or a bucket by phase; phases with no node are left out. */
export type PhaseCounts = Readonly<Partial<Record<NodePhase, number>>>;

/** Argo's node types, one bit each in a type mask; any other type sets the last bit. */
export const nodeTypes = [
  'Pod',
  'Container',
  'Steps',
  'StepGroup',
  'DAG',
  'TaskGroup',
  'Retry',
  'Skipped',
  'Suspend',
  'HTTP',
  'Plugin',
] as const;
const otherTypeBit = 1 << 15;
const noPhaseBit = 1 << 7;

export interface BucketSummary {
  /** Bit i: a node of `nodePhases[i]`; bit 7: a node without a known phase. */
  readonly phaseMask: number;
  /** Bit i: a node of `nodeTypes[i]`; bit 15: any other type, or none. */
  readonly typeMask: number;
  readonly phaseCounts: PhaseCounts;
}

export const phaseBit = (phase: string): number => {
  const index = (nodePhases as readonly string[]).indexOf(phase);
  return index < 0 ? noPhaseBit : 1 << index;
};

export const typeBit = (type: string): number => {
  const index = (nodeTypes as readonly string[]).indexOf(type);
  return index < 0 ? otherTypeBit : 1 << index;
};

/** The summary of the given nodes (all of `nodes` by default). */
export function summarize(nodes: NodeMap, ids: readonly string[] = Object.keys(nodes)): BucketSummary {
  let phaseMask = 0;
  let typeMask = 0;
  const counts: Partial<Record<NodePhase, number>> = {};
  for (const id of ids) {
    const node = nodes[id];
    if (!node) continue;
    const phase = typeof node.phase === 'string' ? node.phase : '';
    phaseMask |= phaseBit(phase);
    typeMask |= typeBit(typeof node.type === 'string' ? node.type : '');
    if ((nodePhases as readonly string[]).includes(phase)) {
      counts[phase as NodePhase] = (counts[phase as NodePhase] ?? 0) + 1;
    }
  }
  return { phaseMask, typeMask, phaseCounts: counts };
}

/** `a + sign * b`, phase by phase, leaving out phases that reach 0. */
export function addCounts(a: PhaseCounts, b: PhaseCounts, sign: 1 | -1 = 1): PhaseCounts {
  const out: Partial<Record<NodePhase, number>> = {};
  for (const phase of nodePhases) {
    const value = (a[phase] ?? 0) + sign * (b[phase] ?? 0);
    if (value !== 0) out[phase] = value;
  }
  return out;
}

/** The sum of many counts. */
export const sumCounts = (all: readonly PhaseCounts[]): PhaseCounts =>
  all.reduce((sum, counts) => addCounts(sum, counts), {} as PhaseCounts);
