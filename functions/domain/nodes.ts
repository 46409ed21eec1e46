/**
 * Node-status rules. Nodes are opaque JSON objects: the service reads only
 * `id`, `phase`, `message` and `finishedAt`, and otherwise stores them exactly
 * as sent.
 */
import {
  completedWorkflowPhases,
  nodePhases,
  type StopStrategy,
  terminalNodePhases,
  type WorkflowPhase,
  workflowPhases,
} from '#contract/workflow';
import { PayloadTooLargeError, ValidationError } from './errors.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type NodeStatus = { [key: string]: JsonValue };
export type NodeMap = Record<string, NodeStatus>;

const terminal: ReadonlySet<string> = new Set(terminalNodePhases);
const completed: ReadonlySet<string> = new Set(completedWorkflowPhases);

/** What a person reads when a workflow phase is refused. */
export const workflowPhaseRule = `must be one of ${workflowPhases.join(', ')} (Argo's WorkflowPhase), or empty`;

/**
 * The workflow phase a write sets: undefined when omitted or empty (the
 * stored phase stays), else one of {@link workflowPhases}; anything else is
 * a ValidationError naming them.
 */
export function workflowPhaseOf(phase: string | undefined): WorkflowPhase | undefined {
  if (phase === undefined || phase === '') return undefined;
  if (!(workflowPhases as readonly string[]).includes(phase)) {
    throw new ValidationError(`phase '${truncate(phase)}' ${workflowPhaseRule}`);
  }
  return phase as WorkflowPhase;
}

export const isTerminalNodePhase = (phase: unknown): boolean =>
  typeof phase === 'string' && terminal.has(phase);

export const isCompletedWorkflowPhase = (phase: string | undefined): boolean =>
  phase !== undefined && completed.has(phase);

/** The message a stop writes on every node it fails, as Argo writes it. */
export const stopMessage = (strategy: StopStrategy): string => `Stopped with strategy '${strategy}'`;

/** A node id: what Argo generates, kept to characters that are safe in keys and logs. */
const nodeIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:()\-[\]]{0,252}$/;

/**
 * Checks the few fields the service reads. Throws a ValidationError that
 * names the offending node, so a person can fix the request.
 */
/** Throws a ValidationError unless `id` is a node id a node could have (see {@link validateNode}). */
export function validateNodeId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !nodeIdPattern.test(id)) {
    throw new ValidationError(
      `node id '${truncate(String(id))}' is invalid: use 1-253 characters of letters, digits and . _ : - ( ) [ ], starting with a letter or digit`,
    );
  }
}

export function validateNode(key: string, node: unknown): asserts node is NodeStatus {
  validateNodeId(key);
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    throw new ValidationError(`node '${key}' must be a JSON object`);
  }
  const record = node as Record<string, unknown>;
  if (record.id !== undefined && record.id !== key) {
    throw new ValidationError(
      `node '${key}' has id '${truncate(String(record.id))}'; the id must equal its key`,
    );
  }
  if (record.phase !== undefined && !(nodePhases as readonly unknown[]).includes(record.phase)) {
    throw new ValidationError(
      `node '${key}' has unknown phase '${truncate(String(record.phase))}'; expected one of ${nodePhases.join(', ')}`,
    );
  }
  if (record.message !== undefined && typeof record.message !== 'string') {
    throw new ValidationError(`node '${key}' has a non-string message`);
  }
  if (
    record.finishedAt !== undefined &&
    record.finishedAt !== null &&
    typeof record.finishedAt !== 'string'
  ) {
    throw new ValidationError(`node '${key}' has a non-string finishedAt`);
  }
  if (nestsDeeperThan(node, maxNodeDepth)) {
    throw new ValidationError(`node '${key}' nests objects and arrays deeper than ${maxNodeDepth} levels`);
  }
}

/**
 * How deep objects and arrays may nest inside a node. Argo's nodes are a
 * handful of levels deep; the limit keeps the recursive code a node goes
 * through (canonical JSON, serialisation) far from the stack limit, which a
 * few thousand levels reach (a 500 before this check).
 */
export const maxNodeDepth = 100;

/** Iterative, so that a hostile 100,000-level value cannot overflow the stack here either. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: unknown[] = [value];
  const depths: number[] = [0];
  while (pending.length > 0) {
    const current = pending.pop() as object;
    const depth = depths.pop() as number;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (child === null || typeof child !== 'object') continue;
      if (depth + 1 > limit) return true;
      pending.push(child);
      depths.push(depth + 1);
    }
  }
  return false;
}

/**
 * Checks a whole node map. With `maxNodes`, a larger map is refused (413)
 * before any node is looked at: a million tiny nodes fit in a few megabytes
 * of gzip, and storing them would take the database minutes.
 */
export function validateNodeMap(
  nodes: unknown,
  maxNodes = Number.POSITIVE_INFINITY,
): asserts nodes is NodeMap {
  if (nodes === null || typeof nodes !== 'object' || Array.isArray(nodes)) {
    throw new ValidationError('nodes must be a JSON object mapping node id to node status');
  }
  const entries = Object.entries(nodes);
  if (entries.length > maxNodes) {
    throw new PayloadTooLargeError(`nodes has ${entries.length} entries; the limit is ${maxNodes}`);
  }
  for (const [key, node] of entries) validateNode(key, node);
}

const truncate = (text: string): string => (text.length > 80 ? `${text.slice(0, 77)}...` : text);

/** A change to some fields of one node: top-level fields to set (each replaced whole) and to drop. */
export interface FieldChange {
  readonly set?: NodeStatus;
  readonly unset?: readonly string[];
}

/**
 * A change to a node map: nodes to set (whole node replaced), nodes to
 * change field by field (`merge`: a pod's phase, finishedAt and outputs, a
 * container's progress, without resending the rest), and ids to remove.
 */
export interface NodeChange {
  readonly set: NodeMap;
  readonly remove: readonly string[];
  readonly merge?: Readonly<Record<string, FieldChange>>;
}

/** Every id a change touches. */
export const changedIds = (change: NodeChange): string[] => [
  ...Object.keys(change.set),
  ...change.remove,
  ...Object.keys(change.merge ?? {}),
];

/** The part of a change whose ids satisfy `keep` (the ids of one bucket, say). */
export function restrictChange(change: NodeChange, keep: (id: string) => boolean): NodeChange {
  const merge = change.merge ? Object.entries(change.merge).filter(([id]) => keep(id)) : [];
  return {
    set: Object.fromEntries(Object.entries(change.set).filter(([id]) => keep(id))),
    remove: change.remove.filter(keep),
    ...(merge.length > 0 ? { merge: Object.fromEntries(merge) } : {}),
  };
}

/** `node` with a field change applied: a new object; `__proto__` and such stay plain keys. */
export function mergeFields(node: NodeStatus | undefined, fields: FieldChange): NodeStatus {
  const out: NodeStatus = { ...node };
  for (const key of fields.unset ?? []) delete out[key];
  for (const [key, value] of Object.entries(fields.set ?? {})) {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * The field change that turns `before` into `after` (top-level fields,
 * compared with `same`), or undefined when sending `after` whole is no
 * larger.
 */
export function fieldChangeBetween(
  before: NodeStatus,
  after: NodeStatus,
  same: (a: JsonValue, b: JsonValue) => boolean,
): FieldChange | undefined {
  const set: NodeStatus = {};
  for (const [key, value] of Object.entries(after)) {
    // Own keys only, even for `__proto__` or `constructor`, as mergeFields writes them.
    const old = Object.hasOwn(before, key) ? before[key] : undefined;
    if (old === undefined || !same(old, value)) {
      Object.defineProperty(set, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  const unset = Object.keys(before).filter((key) => !Object.hasOwn(after, key));
  const change: FieldChange = {
    ...(Object.keys(set).length > 0 ? { set } : {}),
    ...(unset.length > 0 ? { unset } : {}),
  };
  return JSON.stringify(change).length < JSON.stringify(after).length ? change : undefined;
}

/**
 * The per-node change that turns `base` into `target`: nodes that differ or
 * are new, and ids that disappeared. Used to re-apply a caller's full map on
 * top of a newer current state.
 */
export function diffNodeMaps(
  base: NodeMap,
  target: NodeMap,
  sameNode: (a: NodeStatus, b: NodeStatus) => boolean,
): NodeChange {
  const set: NodeMap = {};
  for (const [id, node] of Object.entries(target)) {
    const before = base[id];
    if (before === undefined || !sameNode(before, node)) set[id] = node;
  }
  const remove = Object.keys(base).filter((id) => !(id in target));
  return { set, remove };
}

/**
 * Applies a change to `current` and returns the ids whose value changed. A
 * merge applies to the node as it is in `current` (a node it does not find
 * is created from its fields). Terminal phases are sticky: a change that would move a node from a terminal
 * phase back to a non-terminal one keeps the current node (invariant 6).
 * `current` is modified in place.
 */
export function applyNodeChange(current: NodeMap, change: NodeChange): Set<string> {
  const touched = new Set<string>();
  const merged = Object.entries(change.merge ?? {}).map(
    ([id, fields]) => [id, mergeFields(current[id], fields)] as const,
  );
  for (const [id, node] of [...Object.entries(change.set), ...merged]) {
    const existing = current[id];
    if (existing !== undefined && isTerminalNodePhase(existing.phase) && !isTerminalNodePhase(node.phase))
      continue;
    current[id] = node;
    touched.add(id);
  }
  for (const id of change.remove) {
    if (id in current) {
      delete current[id];
      touched.add(id);
    }
  }
  return touched;
}

/**
 * Fails every node that is not yet in a terminal phase, as a stop does.
 * Returns the ids it changed. `nodes` is modified in place.
 */
export function failUnfinishedNodes(nodes: NodeMap, strategy: StopStrategy, finishedAt: string): Set<string> {
  const touched = new Set<string>();
  for (const [id, node] of Object.entries(nodes)) {
    if (isTerminalNodePhase(node.phase)) continue;
    nodes[id] = {
      ...node,
      phase: 'Failed',
      message: stopMessage(strategy),
      finishedAt:
        typeof node.finishedAt === 'string' && node.finishedAt !== '' ? node.finishedAt : finishedAt,
    };
    touched.add(id);
  }
  return touched;
}
