/**
 * Seeded generator of realistic Argo Workflows `status.nodes` maps, modelled
 * on the real fixtures in `testkit/fixtures/argo-node-status/`.
 *
 * Shape of a generated map (`generateNodes`):
 * - the root node has the workflow name as id and name; it is a DAG (or, for
 *   some seeds, Steps) with `children`, `outboundNodes` and `progress`;
 * - every other id is `<workflow>-<10 digits>`, unique;
 * - a group (DAG or Steps) runs its tasks in layers. In a DAG the group lists
 *   the first layer as `children` and each layer's exit nodes list the next
 *   layer's tasks as `children`. In Steps the group lists StepGroup `[0]`,
 *   a StepGroup lists its steps, and the exits of layer i list StepGroup
 *   `[i+1]`. The exits of the last layer are the group's `outboundNodes`;
 * - a task is a Pod, a Retry whose `children` are Pod attempts `name(0)`,
 *   `name(1)`... (`nodeFlag.retried`, failed attempts before the last), a
 *   Skipped node (phase Omitted or Skipped), or a nested DAG/Steps group whose
 *   `boundaryID` is the enclosing group. Nesting is at most 4 deep;
 * - the nodes are created in execution order and the last `runningFraction`
 *   of them is the frontier: their pods are Pending or Running (no
 *   `finishedAt`, which Argo writes as null, progress `0/1`); every group with
 *   such a pod inside is Running, every other node is terminal;
 * - pods carry `inputs.parameters`, `hostNodeName` once scheduled, and when
 *   finished `outputs` (an s3 `main-logs` artifact and `exitCode`),
 *   `resourcesDuration`, `progress` `1/1` and `taskResultSynced`;
 *   Retry, DAG and Steps nodes carry `progress` `done/total` over the pods
 *   they contain (a Retry over its attempts).
 *
 * `mutateNodes` moves `count` active pods one step the way the controller
 * does: Pending -> Running (scheduled on a host), Running -> Succeeded
 * (finishedAt, outputs, progress, resourcesDuration). For a pod that
 * finishes, its containers (Retry, StepGroup, the chain of DAG/Steps groups
 * up to the root) get their `progress` and `resourcesDuration` advanced and
 * turn Succeeded when nothing inside is left running. It returns the new
 * versions of exactly the nodes that changed.
 *
 * Deterministic: same options, same output (mulberry32; no clock, no Math.random).
 */

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodePhases } from '#contract/workflow';
import { isTerminalNodePhase } from '#domain/nodes';

/** One Argo NodeStatus, as the opaque JSON object the service stores. */
export type ArgoNode = Record<string, unknown>;
/** `status.nodes`: node id -> NodeStatus. */
export type ArgoNodeMap = Record<string, ArgoNode>;

export interface GenerateNodesOptions {
  /** Number of nodes, at least 1. 10,000 takes tens of milliseconds; 1,000,000 a few seconds. */
  readonly nodeCount: number;
  readonly seed: number;
  /** Defaults to a seeded name such as `etl-nightly-x7k2p`. */
  readonly workflowName?: string;
  /** Share of the nodes, at the end of the execution order, that are still active. Default 0.2. */
  readonly runningFraction?: number;
}

export interface MutateNodesOptions {
  /** Pods to advance; fewer when the map has fewer Pending or Running pods. */
  readonly count: number;
  readonly seed: number;
}

export interface NodeMutation {
  /** New versions of the changed nodes (pods and their containers), complete node objects. */
  readonly set: ArgoNodeMap;
  /** Ids of `set`, changed pods first, then containers. */
  readonly changedIds: string[];
}

/** Phases a node can have: the service's own list. */
export { nodePhases };

/** Key order of Argo's NodeStatus struct, the order the controller writes. */
const fieldOrder = [
  'id',
  'name',
  'displayName',
  'type',
  'templateName',
  'templateScope',
  'phase',
  'boundaryID',
  'message',
  'startedAt',
  'finishedAt',
  'progress',
  'resourcesDuration',
  'nodeFlag',
  'inputs',
  'outputs',
  'children',
  'outboundNodes',
  'hostNodeName',
  'taskResultSynced',
];

/** mulberry32: a small, fast, seedable 32-bit generator. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const workflowPrefixes = [
  'etl-nightly',
  'data-pipeline',
  'ml-train',
  'batch-render',
  'genomics-align',
  'ci-matrix',
];
const verbs = [
  'extract',
  'validate',
  'transform',
  'train',
  'score',
  'publish',
  'render',
  'compress',
  'index',
  'load',
];
const nouns = [
  'orders',
  'events',
  'shard',
  'model',
  'frames',
  'reads',
  'report',
  'features',
  'partition',
  'tiles',
];
const templates = ['python-runner', 'spark-submit', 'bash-step', 'container-task', 'gpu-job', 'echo'];
const groupNames = ['A', 'B', 'C', 'stage', 'shard', 'batch', 'split'];
const groupTemplates = ['process-partition', 'fan-out', 'pipeline', 'stage', 'diamond', 'iteration'];

const isoSeconds = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
const toMs = (timestamp: unknown) => (typeof timestamp === 'string' ? Date.parse(timestamp) : Number.NaN);

interface GroupResult {
  /** Ids whose `children` the next layer's entries are appended to. */
  readonly exits: string[];
  readonly endMs: number;
  readonly podsTotal: number;
  readonly podsDone: number;
  readonly cpu: number;
  readonly memory: number;
}

interface UnitResult extends GroupResult {
  /** The node the previous layer (or the container) points at. */
  readonly entry: string;
}

interface GroupSpec {
  readonly id: string;
  readonly name: string;
  readonly type: 'DAG' | 'Steps';
  readonly depth: number;
  readonly budget: number;
  readonly startMs: number;
}

const maxDepth = 4;

class Generator {
  private readonly random: () => number;
  private readonly nodes: ArgoNodeMap = {};
  private readonly usedIds = new Set<number>();
  private readonly workflow: string;
  private readonly templateScope: string;
  private readonly hosts: string[];
  private readonly activeFrom: number;
  private created = 0;

  constructor(private readonly options: GenerateNodesOptions) {
    this.random = mulberry32(options.seed);
    this.workflow = options.workflowName ?? `${this.pick(workflowPrefixes)}-${this.suffix(5)}`;
    this.templateScope = `local/${this.workflow}`;
    this.hosts = Array.from(
      { length: 12 },
      () => `ip-10-0-${this.int(0, 63)}-${this.int(1, 254)}.ec2.internal`,
    );
    const runningFraction = Math.min(1, Math.max(0, options.runningFraction ?? 0.2));
    this.activeFrom = Math.floor(options.nodeCount * (1 - runningFraction));
  }

  generate(): ArgoNodeMap {
    const startMs = Date.UTC(2025, 0, 1) + Math.floor(this.random() * 300 * 86_400) * 1000;
    const root: GroupSpec = {
      id: this.workflow,
      name: this.workflow,
      type: this.options.nodeCount >= 4 && this.random() < 0.25 ? 'Steps' : 'DAG',
      depth: 0,
      budget: this.options.nodeCount,
      startMs,
    };
    this.group(root, undefined, this.workflow, 'main');
    // Children are appended after a node is created; put keys back in Argo's order.
    for (const id of Object.keys(this.nodes)) this.nodes[id] = ordered(this.nodes[id] as ArgoNode);
    return this.nodes;
  }

  // --- random helpers ---------------------------------------------------------------------

  private int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  private pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.random() * values.length)] as T;
  }

  private suffix(length: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    let text = '';
    for (let index = 0; index < length; index++)
      text += alphabet[Math.floor(this.random() * alphabet.length)];
    return text;
  }

  private newId(): string {
    for (;;) {
      const number = 1_000_000_000 + Math.floor(this.random() * 3_294_967_296);
      if (!this.usedIds.has(number)) {
        this.usedIds.add(number);
        return `${this.workflow}-${number}`;
      }
    }
  }

  /** Seconds a pod runs: mostly short, a long tail. */
  private durationMs(): number {
    return (3 + Math.floor(-Math.log(1 - this.random()) * 40)) * 1000;
  }

  private add(node: ArgoNode): void {
    this.nodes[node.id as string] = node;
    this.created++;
  }

  /** Whether the next node created is in the active frontier. */
  private get nextIsActive(): boolean {
    return this.created >= this.activeFrom;
  }

  private appendChildren(fromIds: readonly string[], toIds: readonly string[]): void {
    // max(a, b) edges: everything to a single fan-in, a single node to a whole
    // fan-out, otherwise a monotone pairing that leaves nobody unconnected.
    const edges = Math.max(fromIds.length, toIds.length);
    for (let edge = 0; edge < edges; edge++) {
      const from = fromIds[Math.floor((edge * fromIds.length) / edges)] as string;
      const to = toIds[Math.floor((edge * toIds.length) / edges)] as string;
      const node = this.nodes[from] as ArgoNode;
      const children = (node.children as string[] | undefined) ?? [];
      children.push(to);
      node.children = children;
    }
  }

  // --- groups -----------------------------------------------------------------------------

  /** Creates a DAG or Steps node and everything in it; exactly `spec.budget` nodes. */
  private group(spec: GroupSpec, boundaryID: string | undefined, displayName: string, templateName: string) {
    const node: ArgoNode = {
      id: spec.id,
      name: spec.name,
      displayName,
      type: spec.type,
      templateName,
      templateScope: this.templateScope,
      phase: 'Running',
      ...(boundaryID === undefined ? {} : { boundaryID }),
      startedAt: isoSeconds(spec.startMs),
      finishedAt: null,
    };
    this.add(node);

    let remaining = spec.budget - 1;
    let previousExits: string[] = [];
    let previousWasFanOut = false;
    let layerIndex = 0;
    let layerStartMs = spec.startMs;
    const totals = { podsTotal: 0, podsDone: 0, cpu: 0, memory: 0, endMs: spec.startMs };
    let lastStepGroup: ArgoNode | undefined;
    let lastStepGroupStartMs = spec.startMs;

    while (remaining > 0) {
      if (spec.type === 'Steps' && remaining === 1 && lastStepGroup) {
        // No room for another StepGroup and a step: run one more step in the last group.
        const extra = this.unit(spec, layerIndex - 1, 0, 'finalize', 1, lastStepGroupStartMs, 1);
        (lastStepGroup.children as string[]).push(extra.entry);
        if (extra.podsDone < extra.podsTotal) {
          lastStepGroup.phase = 'Running';
          lastStepGroup.finishedAt = null;
        } else if (lastStepGroup.phase === 'Succeeded') {
          lastStepGroup.finishedAt = isoSeconds(Math.max(toMs(lastStepGroup.finishedAt), extra.endMs));
        }
        accumulate(totals, extra);
        previousExits.push(...extra.exits);
        remaining -= 1;
        break;
      }
      let stepGroup: ArgoNode | undefined;
      if (spec.type === 'Steps') {
        stepGroup = {
          id: this.newId(),
          name: `${spec.name}[${layerIndex}]`,
          displayName: `[${layerIndex}]`,
          type: 'StepGroup',
          templateScope: this.templateScope,
          phase: 'Running',
          boundaryID: spec.id,
          startedAt: isoSeconds(layerStartMs),
          finishedAt: null,
          children: [],
        };
        this.add(stepGroup);
        remaining -= 1;
        if (layerIndex === 0) node.children = [stepGroup.id];
        else this.appendChildren(previousExits, [stepGroup.id as string]);
        lastStepGroup = stepGroup;
        lastStepGroupStartMs = layerStartMs;
      }

      const layerSize = this.layerSize(remaining, previousWasFanOut);
      const taskName = `${this.pick(verbs)}-${this.pick(nouns)}`;
      const withInput = this.random() < 0.5;
      const layer: UnitResult[] = [];
      for (let item = 0; item < layerSize && remaining > 0; item++) {
        const budget = this.unitBudget(spec.depth, remaining);
        const result = this.unit(
          spec,
          layerIndex,
          item,
          taskName,
          layerSize,
          layerStartMs,
          budget,
          withInput,
        );
        remaining -= budget;
        layer.push(result);
      }

      const entries = layer.map((result) => result.entry);
      if (stepGroup) stepGroup.children = entries;
      else if (layerIndex === 0) node.children = entries;
      else this.appendChildren(previousExits, entries);

      let layerEndMs = layerStartMs;
      let layerActive = false;
      previousExits = [];
      for (const result of layer) {
        accumulate(totals, result);
        layerEndMs = Math.max(layerEndMs, result.endMs);
        layerActive ||= result.podsDone < result.podsTotal;
        previousExits.push(...result.exits);
      }
      if (stepGroup && !layerActive) {
        stepGroup.phase = 'Succeeded';
        stepGroup.finishedAt = isoSeconds(layerEndMs);
      }
      previousWasFanOut = layer.length > 4;
      layerIndex++;
      layerStartMs = layerEndMs + 1000;
    }

    if (previousExits.length > 0) node.outboundNodes = previousExits;
    const done = totals.podsDone === totals.podsTotal;
    if (done) {
      node.phase = 'Succeeded';
      node.finishedAt = isoSeconds(totals.endMs);
    }
    if (totals.podsTotal > 0) node.progress = `${totals.podsDone}/${totals.podsTotal}`;
    if (totals.podsDone > 0) node.resourcesDuration = { cpu: totals.cpu, memory: totals.memory };
    return { ...totals, exits: previousExits };
  }

  private layerSize(remaining: number, previousWasFanOut: boolean): number {
    const draw = this.random();
    if (previousWasFanOut && draw < 0.7) return 1;
    if (draw < 0.4) return 1;
    if (draw < 0.65) return this.int(2, 4);
    // withItems / withParam fan-out: mostly tens, sometimes thousands.
    return 5 + Math.floor(this.random() ** 3 * Math.min(remaining, 3000));
  }

  private unitBudget(depth: number, remaining: number): number {
    const draw = this.random();
    const nestable = depth < maxDepth;
    if (nestable && remaining > 60 && draw < 0.25) {
      return Math.max(6, Math.floor(remaining * (0.05 + this.random() * 0.45)));
    }
    if (nestable && remaining >= 8 && draw < 0.3) return this.int(6, Math.min(remaining, 30));
    if (remaining >= 2 && draw < 0.45) return Math.min(remaining, this.random() < 0.7 ? 2 : this.int(3, 4));
    return 1;
  }

  /** One task of a layer, `budget` nodes: a pod or skipped node (1), a Retry (2-4), or a nested group. */
  private unit(
    spec: GroupSpec,
    layerIndex: number,
    item: number,
    taskName: string,
    layerSize: number,
    startMs: number,
    budget: number,
    withInput = false,
  ): UnitResult {
    // Nested groups get short names (Argo users write `A`, `stage`...): the
    // full path of every node below repeats them.
    const baseName = budget >= 6 ? this.pick(groupNames) : taskName;
    const displayName = layerSize > 1 ? `${baseName}(${item}:${item})` : baseName;
    const name =
      spec.type === 'Steps' ? `${spec.name}[${layerIndex}].${displayName}` : `${spec.name}.${displayName}`;
    const unitStartMs = startMs + this.int(0, 3) * 1000;
    // withItems tasks get their item, single tasks a plain message, like the fixtures; some an input too.
    const parameters: { name: string; value: string }[] =
      layerSize > 1 ? [{ name: 'item', value: String(item) }] : [{ name: 'message', value: taskName }];
    if (withInput)
      parameters.push({ name: 'input', value: `${taskName}/part-${String(item).padStart(5, '0')}.parquet` });
    if (budget >= 6) {
      const id = this.newId();
      const result = this.group(
        {
          id,
          name,
          type: budget >= 8 && this.random() < 0.3 ? 'Steps' : 'DAG',
          depth: spec.depth + 1,
          budget,
          startMs: unitStartMs,
        },
        spec.id,
        displayName,
        this.pick(groupTemplates),
      );
      return { ...result, entry: id };
    }
    if (budget >= 2) return this.retry(spec, name, displayName, unitStartMs, budget - 1, parameters);
    if (!this.nextIsActive && this.random() < 0.02) return this.skipped(spec, name, displayName, unitStartMs);
    const pod = this.pod(spec, name, displayName, this.pick(templates), unitStartMs, parameters, 'last');
    return { ...pod, entry: pod.exits[0] as string };
  }

  private skipped(spec: GroupSpec, name: string, displayName: string, startMs: number): UnitResult {
    const omitted = this.random() < 0.6;
    const id = this.newId();
    this.add({
      id,
      name,
      displayName,
      type: 'Skipped',
      templateName: this.pick(templates),
      templateScope: this.templateScope,
      phase: omitted ? 'Omitted' : 'Skipped',
      boundaryID: spec.id,
      message: omitted ? 'omitted: depends condition not met' : "when 'false' evaluated false",
      startedAt: isoSeconds(startMs),
      finishedAt: isoSeconds(startMs),
    });
    return { entry: id, exits: [id], endMs: startMs, podsTotal: 0, podsDone: 0, cpu: 0, memory: 0 };
  }

  private retry(
    spec: GroupSpec,
    name: string,
    displayName: string,
    startMs: number,
    attempts: number,
    parameters: { name: string; value: string }[],
  ): UnitResult {
    const id = this.newId();
    const templateName = this.pick(templates);
    const node: ArgoNode = {
      id,
      name,
      displayName,
      type: 'Retry',
      templateName,
      templateScope: this.templateScope,
      phase: 'Running',
      boundaryID: spec.id,
      startedAt: isoSeconds(startMs),
      finishedAt: null,
      inputs: { parameters },
      children: [],
    };
    this.add(node);
    const totals = { podsTotal: 0, podsDone: 0, cpu: 0, memory: 0, endMs: startMs };
    let attemptStartMs = startMs;
    let last: GroupResult | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const role = attempt === attempts - 1 ? 'last' : 'failed';
      const result = this.pod(
        spec,
        `${name}(${attempt})`,
        `${displayName}(${attempt})`,
        templateName,
        attemptStartMs,
        parameters,
        role,
        true,
      );
      (node.children as string[]).push(result.exits[0] as string);
      accumulate(totals, result);
      attemptStartMs = result.endMs + 5000;
      last = result;
    }
    const lastAttempt = this.nodes[last?.exits[0] as string] as ArgoNode;
    node.progress = `${totals.podsDone}/${totals.podsTotal}`;
    if (lastAttempt.phase === 'Succeeded') {
      node.phase = 'Succeeded';
      node.finishedAt = lastAttempt.finishedAt;
      node.resourcesDuration = { cpu: totals.cpu, memory: totals.memory };
      node.outputs = structuredClone(lastAttempt.outputs);
    }
    return { ...totals, entry: id, exits: last?.exits ?? [id] };
  }

  /**
   * A pod. `failed` is an attempt that a Retry will retry; `last` is a pod
   * that succeeds, or stays Pending/Running in the active frontier.
   */
  private pod(
    spec: GroupSpec,
    name: string,
    displayName: string,
    templateName: string,
    startMs: number,
    parameters: { name: string; value: string }[],
    role: 'failed' | 'last',
    attempt = false,
  ): GroupResult {
    const id = this.newId();
    const active = role === 'last' && this.nextIsActive;
    const running = active && this.random() < 0.65;
    const durationMs = this.durationMs();
    const endMs = startMs + durationMs;
    const node: ArgoNode = {
      id,
      name,
      displayName,
      type: 'Pod',
      templateName,
      templateScope: this.templateScope,
      phase: active
        ? running
          ? 'Running'
          : 'Pending'
        : role === 'failed'
          ? this.failedPhase()
          : 'Succeeded',
      boundaryID: spec.id,
      startedAt: isoSeconds(startMs),
      finishedAt: active ? null : isoSeconds(endMs),
      progress: active ? '0/1' : '1/1',
    };
    if (role === 'failed') {
      node.message = node.phase === 'Error' ? 'pod deleted' : 'Error (exit code 1)';
    } else if (active && !running && this.random() < 0.3) {
      node.message = 'PodInitializing';
    }
    if (attempt) node.nodeFlag = { retried: true };
    node.inputs = { parameters: parameters.map((parameter) => ({ ...parameter })) };
    const idNumber = id.slice(this.workflow.length + 1);
    let cpu = 0;
    let memory = 0;
    if (!active) {
      cpu = Math.max(0, Math.round((durationMs / 1000) * (0.1 + this.random() * 1.4)));
      memory = Math.round((durationMs / 1000) * (0.5 + this.random() * 2.5));
      node.resourcesDuration = { cpu, memory };
      node.outputs = podOutputs(
        this.workflow,
        templateName,
        idNumber,
        node.phase === 'Succeeded',
        this.random,
      );
      node.taskResultSynced = true;
    }
    if (running || !active) node.hostNodeName = this.pick(this.hosts);
    this.add(node);
    return {
      exits: [id],
      endMs,
      podsTotal: 1,
      podsDone: active ? 0 : 1,
      cpu,
      memory,
    };
  }

  private failedPhase(): string {
    return this.random() < 0.9 ? 'Failed' : 'Error';
  }
}

function podOutputs(
  workflow: string,
  templateName: string,
  idNumber: string,
  succeeded: boolean,
  random: () => number,
): ArgoNode {
  const outputs: ArgoNode = {};
  if (succeeded && random() < 0.3) {
    outputs.parameters = [
      {
        name: 'result-count',
        value: String(Math.floor(random() * 100_000)),
        valueFrom: { path: '/tmp/count.txt' },
      },
    ];
  }
  outputs.artifacts = [
    { name: 'main-logs', s3: { key: `${workflow}/${workflow}-${templateName}-${idNumber}/main.log` } },
  ];
  outputs.exitCode = succeeded ? '0' : '1';
  return outputs;
}

function accumulate(
  totals: { podsTotal: number; podsDone: number; cpu: number; memory: number; endMs: number },
  result: GroupResult,
): void {
  totals.podsTotal += result.podsTotal;
  totals.podsDone += result.podsDone;
  totals.cpu += result.cpu;
  totals.memory += result.memory;
  totals.endMs = Math.max(totals.endMs, result.endMs);
}

/** A copy of `node` with its keys in Argo's order (unknown keys last, in their order). */
function ordered(node: ArgoNode): ArgoNode {
  const result: ArgoNode = {};
  for (const key of fieldOrder) if (key in node) result[key] = node[key];
  for (const key of Object.keys(node)) if (!(key in result)) result[key] = node[key];
  return result;
}

/**
 * A realistic `status.nodes` map of exactly `nodeCount` nodes (see the top of
 * this file for its shape). Same options, same map.
 *
 * @example
 * const nodes = generateNodes({ nodeCount: 10_000, seed: 1 });
 */
export function generateNodes(options: GenerateNodesOptions): ArgoNodeMap {
  if (!Number.isInteger(options.nodeCount) || options.nodeCount < 1) {
    throw new RangeError(`nodeCount must be a positive integer, got ${options.nodeCount}`);
  }
  return new Generator(options).generate();
}

// --- mutation -----------------------------------------------------------------------------

const parseProgress = (progress: unknown): [number, number] | undefined => {
  if (typeof progress !== 'string') return undefined;
  const [done, total] = progress.split('/').map(Number);
  return done === undefined || total === undefined || Number.isNaN(done) || Number.isNaN(total)
    ? undefined
    : [done, total];
};

/**
 * Advances up to `count` Pending or Running pods by one step, as the
 * controller would between two saves, and updates their containers (see the
 * top of this file). `nodes` is not modified; apply the result with
 * `{ ...nodes, ...set }`.
 *
 * @example
 * const { set, changedIds } = mutateNodes(nodes, { count: 10, seed: 2 });
 * const next = { ...nodes, ...set };
 */
export function mutateNodes(nodes: ArgoNodeMap, options: MutateNodesOptions): NodeMutation {
  const random = mulberry32(options.seed);
  const active: string[] = [];
  const containerOf = new Map<string, string>();
  for (const [id, node] of Object.entries(nodes)) {
    if (node.type === 'Pod' && (node.phase === 'Pending' || node.phase === 'Running')) active.push(id);
    if ((node.type === 'Retry' || node.type === 'StepGroup') && Array.isArray(node.children)) {
      for (const child of node.children as string[]) containerOf.set(child, id);
    }
  }
  // Partial Fisher-Yates: a seeded sample without sorting the whole list.
  const count = Math.min(Math.max(0, Math.floor(options.count)), active.length);
  for (let index = 0; index < count; index++) {
    const swap = index + Math.floor(random() * (active.length - index));
    [active[index], active[swap]] = [active[swap] as string, active[index] as string];
  }
  const chosen = active.slice(0, count);

  const changed = new Map<string, ArgoNode>();
  const current = (id: string) => changed.get(id) ?? nodes[id];
  const edit = (id: string): ArgoNode => {
    let node = changed.get(id);
    if (!node) {
      node = { ...(nodes[id] as ArgoNode) };
      changed.set(id, node);
    }
    return node;
  };
  const hosts: string[] = [];
  for (const id of Object.keys(nodes)) {
    const host = nodes[id]?.hostNodeName;
    if (typeof host === 'string' && !hosts.includes(host)) hosts.push(host);
    if (hosts.length >= 16) break;
  }

  for (const id of chosen) {
    const pod = edit(id);
    if (pod.phase === 'Pending') {
      pod.phase = 'Running';
      delete pod.message;
      pod.hostNodeName = hosts[Math.floor(random() * hosts.length)] ?? 'ip-10-0-0-1.ec2.internal';
      continue;
    }
    const durationSeconds = 3 + Math.floor(-Math.log(1 - random()) * 40);
    const finishedMs = toMs(pod.startedAt) + durationSeconds * 1000;
    const finishedAt = Number.isNaN(finishedMs) ? pod.startedAt : isoSeconds(finishedMs);
    const cpu = Math.round(durationSeconds * (0.1 + random() * 1.4));
    const memory = Math.round(durationSeconds * (0.5 + random() * 2.5));
    pod.phase = 'Succeeded';
    pod.finishedAt = finishedAt;
    pod.progress = '1/1';
    pod.resourcesDuration = { cpu, memory };
    const separator = id.lastIndexOf('-');
    const workflow = separator > 0 ? id.slice(0, separator) : id;
    pod.outputs = podOutputs(workflow, String(pod.templateName), id.slice(separator + 1), true, random);
    pod.taskResultSynced = true;
    finishContainers(id, finishedAt, cpu, memory);
  }

  function finishContainers(podId: string, finishedAt: unknown, cpu: number, memory: number): void {
    // Walk up: Retry / StepGroup if one lists the node, else the boundary group.
    let childId = podId;
    for (;;) {
      const child = current(childId) as ArgoNode;
      const containerId =
        containerOf.get(childId) ?? (typeof child.boundaryID === 'string' ? child.boundaryID : undefined);
      if (containerId === undefined || nodes[containerId] === undefined) return;
      const progress = parseProgress(current(containerId)?.progress);
      if (progress) {
        const container = edit(containerId);
        const [done, total] = progress;
        container.progress = `${Math.min(total, done + 1)}/${total}`;
        const used = (container.resourcesDuration as { cpu?: number; memory?: number } | undefined) ?? {};
        container.resourcesDuration = { cpu: (used.cpu ?? 0) + cpu, memory: (used.memory ?? 0) + memory };
        if (done + 1 >= total && container.phase === 'Running') {
          container.phase = 'Succeeded';
          container.finishedAt = finishedAt;
          // A Retry reports the outputs of its successful attempt.
          if (container.type === 'Retry') container.outputs = structuredClone(current(podId)?.outputs);
        }
      } else {
        // A StepGroup has no progress: it is done when every step in it is.
        const stepGroup = current(containerId) as ArgoNode;
        const steps = (stepGroup.children as string[] | undefined) ?? [];
        if (
          stepGroup.type === 'StepGroup' &&
          stepGroup.phase === 'Running' &&
          steps.every((step) => isTerminalNodePhase(current(step)?.phase))
        ) {
          const container = edit(containerId);
          container.phase = 'Succeeded';
          container.finishedAt = finishedAt;
        }
      }
      childId = containerId;
    }
  }

  const changedIds = [...changed.keys()];
  const set: ArgoNodeMap = {};
  for (const id of changedIds) set[id] = ordered(changed.get(id) as ArgoNode);
  return { set, changedIds };
}

// --- fixtures -----------------------------------------------------------------------------

/** The test kit's folder: this file is `<repo>/testkit/argo-generator.ts`. */
const testkitRoot = dirname(fileURLToPath(import.meta.url));

/** Where the real Argo node statuses live: `<repo>/testkit/fixtures/argo-node-status` (see its README). */
export const argoFixturesDirectory = resolve(testkitRoot, 'fixtures', 'argo-node-status');

/**
 * The real Argo `status.nodes` maps (11 files, 8-27 nodes each), sorted by
 * file name, exactly as stored.
 *
 * @example
 * for (const { file, nodes } of loadArgoFixtures()) roundTrip(nodes);
 */
export function loadArgoFixtures(): { file: string; nodes: ArgoNodeMap }[] {
  return readdirSync(argoFixturesDirectory)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const content = JSON.parse(readFileSync(join(argoFixturesDirectory, file), 'utf8')) as {
        nodes: ArgoNodeMap;
      };
      return { file, nodes: content.nodes };
    });
}
