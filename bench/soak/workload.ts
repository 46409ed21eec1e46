/**
 * The soak load: writers, patchers, readers and stoppers on many workflows at
 * once, over HTTP with WfoClient, for a set time. Every acknowledged write
 * goes into a ledger (uid, resourceVersion, nodeStatusVersion, and the nodes
 * it set or removed), which the independent check (verify.ts) replays
 * against DynamoDB afterwards.
 *
 * - writer: GET a workflow, advance a few pods (the Argo generator's
 *   `mutateNodes`), PUT the whole map with If-Match and
 *   `onConflict=reapply` from the version it read (the controller's Save);
 * - patcher: PATCH a delta from its own, possibly stale, copy of the map
 *   (advanced pods, now and then a new node or the removal of one it added);
 * - reader: GET the workflow, its version list, a past version, a page of
 *   the namespace, and check what it got on the spot;
 * - stopper: stop a workflow (Stop or Terminate) now and then, and create a
 *   fresh one in its place, so the load keeps running.
 */

import { type NodeMap, type StopStrategy, WfoApiError, type WfoClient } from '#client/wfo-client';
import { canonicalJson } from '#domain/codec';
import type { JsonValue } from '#domain/nodes';
import { generateNodes, mulberry32, mutateNodes } from '#testkit/argo-generator';

export const namespace = 'soak';

export interface WorkloadOptions {
  readonly client: WfoClient;
  readonly durationSeconds: number;
  readonly workflows: number;
  /** Node counts, cycled over the workflows. */
  readonly nodeCounts: readonly number[];
  readonly writers: number;
  readonly patchers: number;
  readonly readers: number;
  readonly stoppers: number;
  /** Pause of a stopper between two stops. */
  readonly stopEveryMs: number;
  readonly seed: number;
  readonly log: (line: string) => void;
  /** Called when the workflows exist and the timed load begins. */
  readonly onLoadStart?: () => void;
}

/** One acknowledged write. */
export interface Ack {
  readonly uid: string;
  readonly op: 'create' | 'put' | 'patch' | 'stop';
  readonly resourceVersion: number;
  readonly nodeStatusVersion: string;
  /** Milliseconds since the load started. */
  readonly atMs: number;
  /** Nodes the request set (id -> canonical JSON). */
  readonly set?: Readonly<Record<string, string>>;
  readonly removed?: readonly string[];
}

/** What the readers saw that cannot be: checked on the spot, over HTTP. */
export interface OnlineViolation {
  readonly uid: string;
  readonly problem: string;
}

export type Operation = 'create' | 'get' | 'put' | 'patch' | 'stop' | 'versions' | 'version' | 'list';

export interface WorkloadResult {
  readonly acks: Ack[];
  readonly uids: string[];
  readonly latencies: Map<Operation, number[]>;
  /** Failed requests, by operation and HTTP status (or error name). */
  readonly failures: Map<string, number>;
  readonly onlineViolations: OnlineViolation[];
  readonly seconds: number;
}

const activePhases = new Set(['Pending', 'Running']);

export async function runWorkload(options: WorkloadOptions): Promise<WorkloadResult> {
  const { client } = options;
  const random = mulberry32(options.seed);
  const acks: Ack[] = [];
  const latencies = new Map<Operation, number[]>();
  const failures = new Map<string, number>();
  const onlineViolations: OnlineViolation[] = [];
  const uids: string[] = [];
  /** Workflows not stopped: where writers, patchers and stoppers go. */
  const active: string[] = [];
  let started = performance.now();
  const now = () => performance.now() - started;
  let created = 0;

  /** Times a request; a failure is counted and returned as undefined, never thrown. */
  async function timed<T>(operation: Operation, request: () => Promise<T>): Promise<T | undefined> {
    const begin = performance.now();
    try {
      const result = await request();
      const list = latencies.get(operation) ?? [];
      list.push(performance.now() - begin);
      latencies.set(operation, list);
      return result;
    } catch (error) {
      const status =
        error instanceof WfoApiError ? String(error.status ?? error.name) : (error as Error).name;
      const key = `${operation} ${status}`;
      failures.set(key, (failures.get(key) ?? 0) + 1);
      return undefined;
    }
  }

  const pick = <T>(list: readonly T[]): T | undefined => list[Math.floor(random() * list.length)];
  const canonicalOf = (nodes: NodeMap) =>
    Object.fromEntries(Object.entries(nodes).map(([id, node]) => [id, canonicalJson(node as JsonValue)]));

  async function createWorkflow(): Promise<void> {
    const index = created++;
    const uid = `soak-${options.seed}-${index}`;
    const nodeCount = options.nodeCounts[index % options.nodeCounts.length] as number;
    const nodes = generateNodes({ nodeCount, seed: options.seed * 1000 + index, runningFraction: 0.6 });
    const response = await timed('create', () =>
      client.putWorkflow(
        uid,
        { namespace, name: `soak-${index}`, nodes: nodes as NodeMap },
        { ifNoneMatch: '*' },
      ),
    );
    if (!response) return;
    acks.push({
      uid,
      op: 'create',
      resourceVersion: Number(response.resourceVersion),
      nodeStatusVersion: response.nodeStatusVersion,
      atMs: now(),
    });
    uids.push(uid);
    active.push(uid);
  }

  for (let index = 0; index < options.workflows; index++) await createWorkflow();
  options.log(`${active.length} workflows created; load for ${options.durationSeconds} s`);
  // Throughput and latency are those of the timed load; the set-up is not part of it.
  latencies.clear();
  failures.clear();
  started = performance.now();
  options.onLoadStart?.();
  const deadline = options.durationSeconds * 1000;
  const running = () => now() < deadline;

  async function writer(seed: number): Promise<void> {
    const own = mulberry32(seed);
    while (running()) {
      const uid = pick(active);
      if (!uid) break;
      const current = await timed('get', () => client.getWorkflow(uid));
      if (!current || current.shutdown) continue;
      const { set } = mutateNodes(current.nodes, {
        count: 1 + Math.floor(own() * 6),
        seed: Math.floor(own() * 2 ** 31),
      });
      if (Object.keys(set).length === 0) continue;
      const nodes = { ...current.nodes, ...(set as NodeMap) };
      const response = await timed('put', () =>
        client.putWorkflow(
          uid,
          { namespace, name: current.name, nodes, baseVersion: current.nodeStatusVersion },
          { ifMatch: current.etag, onConflict: 'reapply' },
        ),
      );
      if (response) {
        acks.push({
          uid,
          op: 'put',
          resourceVersion: Number(response.resourceVersion),
          nodeStatusVersion: response.nodeStatusVersion,
          atMs: now(),
          set: canonicalOf(set as NodeMap),
        });
      }
    }
  }

  async function patcher(seed: number): Promise<void> {
    const own = mulberry32(seed);
    const copies = new Map<string, { nodes: NodeMap; uses: number }>();
    const added = new Map<string, string[]>();
    let extra = 0;
    while (running()) {
      const uid = pick(active);
      if (!uid) break;
      let copy = copies.get(uid);
      if (!copy || copy.uses >= 5) {
        const fresh = await timed('get', () => client.getWorkflow(uid));
        if (!fresh) continue;
        copy = { nodes: fresh.nodes, uses: 0 };
        copies.set(uid, copy);
      }
      copy.uses++;
      const { set } = mutateNodes(copy.nodes, {
        count: 1 + Math.floor(own() * 3),
        seed: Math.floor(own() * 2 ** 31),
      });
      const delta: { set: NodeMap; remove: string[] } = { set: { ...(set as NodeMap) }, remove: [] };
      const mine = added.get(uid) ?? [];
      const draw = own();
      if (draw < 0.15) {
        const id = `soak-extra-${seed}-${extra++}`;
        delta.set[id] = { id, name: id, type: 'Pod', phase: 'Pending', templateName: 'extra-step' };
        mine.push(id);
      } else if (draw < 0.25 && mine.length > 0 && !((mine[0] as string) in delta.set)) {
        // Not one the mutation just advanced: a node both set and removed is a 400.
        delta.remove.push(mine.shift() as string);
      }
      added.set(uid, mine);
      if (Object.keys(delta.set).length === 0 && delta.remove.length === 0) continue;
      Object.assign(copy.nodes, delta.set);
      for (const id of delta.remove) delete copy.nodes[id];
      const response = await timed('patch', () => client.patchNodes(uid, delta));
      if (response) {
        acks.push({
          uid,
          op: 'patch',
          resourceVersion: Number(response.resourceVersion),
          nodeStatusVersion: response.nodeStatusVersion,
          atMs: now(),
          set: canonicalOf(delta.set),
          removed: delta.remove,
        });
      }
    }
  }

  async function reader(seed: number): Promise<void> {
    const own = mulberry32(seed);
    while (running()) {
      const uid = pick(uids);
      if (!uid) break;
      const workflow = await timed('get', () => client.getWorkflow(uid));
      if (workflow) {
        const ids = Object.keys(workflow.nodes);
        if (ids.length !== workflow.nodeCount)
          onlineViolations.push({ uid, problem: `nodeCount ${workflow.nodeCount} but ${ids.length} nodes` });
        if (workflow.shutdown) {
          const unfinished = ids.filter((id) => activePhases.has(String(workflow.nodes[id]?.phase)));
          if (unfinished.length > 0)
            onlineViolations.push({ uid, problem: `stopped with ${unfinished.length} unfinished nodes` });
        }
      }
      const versions = await timed('versions', () => client.listVersions(uid));
      const past = versions ? pick(versions.items) : undefined;
      if (past) {
        const version = await timed('version', () => client.getVersion(uid, past.nodeStatusVersion));
        if (version && Object.keys(version.nodes).length !== past.nodeCount) {
          onlineViolations.push({
            uid,
            problem: `version ${past.nodeStatusVersion} has not ${past.nodeCount} nodes`,
          });
        }
      }
      if (own() < 0.2) await timed('list', () => client.listWorkflows(namespace, { limit: 50 }));
    }
  }

  async function stopper(seed: number): Promise<void> {
    const own = mulberry32(seed);
    while (running()) {
      await new Promise((resolve) => setTimeout(resolve, options.stopEveryMs * (0.5 + own())));
      if (!running()) break;
      const position = Math.floor(own() * active.length);
      const uid = active[position];
      if (!uid) continue;
      const strategy: StopStrategy = own() < 0.5 ? 'Stop' : 'Terminate';
      const response = await timed('stop', () => client.stopWorkflow(uid, { strategy }));
      if (!response) continue;
      acks.push({
        uid,
        op: 'stop',
        resourceVersion: Number(response.resourceVersion),
        nodeStatusVersion: response.nodeStatusVersion,
        atMs: now(),
      });
      active.splice(active.indexOf(uid), 1);
      await createWorkflow();
    }
  }

  const actors = [
    ...Array.from({ length: options.writers }, (_, index) => writer(options.seed * 100 + index)),
    ...Array.from({ length: options.patchers }, (_, index) => patcher(options.seed * 200 + index)),
    ...Array.from({ length: options.readers }, (_, index) => reader(options.seed * 300 + index)),
    ...Array.from({ length: options.stoppers }, (_, index) => stopper(options.seed * 400 + index)),
  ];
  await Promise.all(actors);
  return { acks, uids, latencies, failures, onlineViolations, seconds: now() / 1000 };
}
