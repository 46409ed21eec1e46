/**
 * The wire section of `npm run bench` (alone: `npm run bench -- --wire-only`):
 * what the HTTP API and its sync protocol send and receive per save and per
 * read, and what each operation costs in CPU on the client and on the
 * server, against the local runtime in a process of its own, on the
 * benchmark's DynamoDB (so DynamoDB's own CPU is not counted).
 *
 * For each N (k = 10 pods per update, the benchmark's workload):
 *
 * - whole map: plain `PUT /v1/workflows/{uid}` of the whole map (gzip) and
 *   plain `GET /v1/workflows/{uid}`, through `WfoClient`; a request or
 *   response over the deployed front door's limits is refused with a 413,
 *   recorded as such, and then measured again on a runtime with the limits
 *   lifted (`WFO_LIMITS=off`), labelled as not deployable;
 * - PATCH of the changed nodes (`WfoClient.patchNodes`);
 * - the sync client (`SyncClient` with a `NodeCache`): a save with the
 *   previous version cached (a delta), a save with an empty cache, a save of
 *   a new workflow; a read with the previous version cached (the change
 *   since it) and a read with an empty cache (every page);
 * - Argo-style B: the bytes of the gzip blob items it puts per save and
 *   reads per hydrate (DynamoDB item sizes; on DynamoDB's JSON wire a binary
 *   attribute travels base64-encoded, 4/3 of that). B runs in the
 *   controller, so its CPU is client CPU.
 *
 * Bytes are request and response bodies as they cross the wire (a counting
 * `fetch`), each also as a share of the map's own gzip (`JSON.stringify`,
 * then gzip). Client CPU is `process.cpuUsage()` of this process around the
 * call; server CPU is utime + stime of the runtime process from /proc, in
 * 10 ms ticks, so operations are grouped in rounds and the figure is the
 * median over rounds of the mean per operation.
 *
 * The full run ends with a 200,000-node round trip through the
 * limit-enforcing runtime: a save with an empty cache (a staged upload),
 * then a read in a fresh client, checked equal, with wall time and peak
 * resident memory of both processes.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { gzipSync } from 'node:zlib';
import { DeleteTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { NodeCache } from '#client/cache';
import { SyncClient } from '#client/sync';
import { bucketize } from '#client/version-id';
import { type NodeMap, PayloadTooLargeError, WfoClient } from '#client/wfo-client';
import { generateNodes } from '#testkit/argo-generator';
import { clockTicksPerSecond, countingFetch, type WireCounts } from '#testkit/process-meters';
import { type RuntimeProcess, spawnRuntime } from '#testkit/runtime-process';
import { type BlobVersion, WholeBlobStore } from '#testkit/stores/whole-blob-store';
import { CapacityMeter } from './support/capacity-meter.ts';
import { type BenchDatabase, lowLevelClient } from './support/dynamodb.ts';
import { formatBytes, formatNumber, median, round, type Summary, summarize } from './support/stats.ts';
import { buildWorkload, runningFraction } from './workload.ts';

export const wireOperationIds = [
  'put',
  'get',
  'patch',
  'sync-save-warm',
  'sync-save-cold',
  'sync-save-new',
  'sync-read-warm',
  'sync-read-cold',
  'argo-b-save',
  'argo-b-hydrate',
] as const;
export type WireOperationId = (typeof wireOperationIds)[number];

export const wireOperationLabels: Record<WireOperationId, string> = {
  put: 'whole-map PUT',
  get: 'whole-map GET',
  patch: 'PATCH of the changed nodes',
  'sync-save-warm': 'sync save, previous version cached',
  'sync-save-cold': 'sync save, empty cache',
  'sync-save-new': 'sync save of a new workflow',
  'sync-read-warm': 'sync read, previous version cached',
  'sync-read-cold': 'sync read, empty cache',
  'argo-b-save': 'Argo-style B save (to DynamoDB)',
  'argo-b-hydrate': 'Argo-style B hydrate (from DynamoDB)',
};

/** The issue's goals at N = 10,000, k = 10 (targets, not assertions). */
export const wireGoalTargets = {
  /** Bytes a save through the sync client sends, over the map's gzip. */
  syncSaveSentOverGzipMap: 0.02,
  /** Bytes a re-read with the previous version cached receives, over the map's gzip. */
  warmReadReceivedOverGzipMap: 0.02,
  /** Bytes a read with an empty cache receives, over the map's gzip. */
  coldReadReceivedOverGzipMap: 1,
  /** Server CPU of a synced save or read over that of a PATCH of the same change. */
  serverCpuOverPatch: 2,
} as const;

/** Which runtime served an operation: the deployed limits, or none. */
export type RuntimeLimits = 'deployed' | 'lifted';

export interface WireOperationResult {
  readonly operation: WireOperationId;
  readonly label: string;
  readonly nodeCount: number;
  readonly podsPerUpdate: number;
  /** `lifted`: measured on a runtime without the front door's limits, not deployable. */
  readonly limits: RuntimeLimits | 'none';
  readonly samples: number;
  /** Operations per round: CPU is the median over rounds of the mean per operation. */
  readonly perRound: number;
  /** Set when the runtime with the deployed limits refused the operation (413). */
  readonly refused?: { readonly status: number; readonly message: string };
  /** Sync writes: the paths taken (delta, put, upload), as many times as each. */
  readonly paths?: Readonly<Record<string, number>>;
  readonly sentBytes?: Summary;
  readonly receivedBytes?: Summary;
  readonly requests?: number;
  /** Median bytes over the map's gzip. */
  readonly sentOverGzipMap?: number;
  readonly receivedOverGzipMap?: number;
  readonly clientCpuMs?: number;
  readonly serverCpuMs?: number;
  readonly wallMs?: Summary;
}

export interface WireSizeResult {
  readonly nodeCount: number;
  readonly podsPerUpdate: number;
  /** `JSON.stringify` of the map, and its gzip (level 6), in bytes. */
  readonly jsonMapBytes: number;
  readonly gzipMapBytes: number;
  /**
   * The same map's gzip with its nodes in bucket order (by a hash of the id),
   * the order the service stores and returns them in: similar nodes are no
   * longer near each other, and gzip finds fewer repeats.
   */
  readonly gzipBucketOrderBytes: number;
  /** Client CPU of the sync client's steps over the whole map, median of three each. */
  readonly clientSteps: {
    /** `bucketize`: the map's buckets, chunk ids and version id (canonical JSON and SHA-256). */
    readonly bucketizeCpuMs: number;
    /** `NodeCache.put` and `NodeCache.get` of the whole map (gzip level 1 to a file; read, check, gunzip, parse). */
    readonly cachePutCpuMs: number;
    readonly cacheGetCpuMs: number;
  };
  readonly operations: readonly WireOperationResult[];
}

export interface RoundTripResult {
  readonly nodeCount: number;
  readonly jsonMapBytes: number;
  readonly gzipMapBytes: number;
  readonly identical: boolean;
  readonly save: RoundTripLeg & { readonly path: string };
  readonly read: RoundTripLeg;
}

interface RoundTripLeg {
  readonly wallMs: number;
  readonly clientCpuMs: number;
  readonly serverCpuMs: number | undefined;
  readonly sentBytes: number;
  readonly receivedBytes: number;
  readonly requests: number;
  /** Resident set before the operation and its peak during it (sampled every 50 ms). */
  readonly clientRssBeforeBytes: number;
  readonly clientPeakRssBytes: number;
  readonly serverRssBeforeBytes: number | undefined;
  readonly serverPeakRssBytes: number | undefined;
}

export interface WireGoals {
  readonly nodeCount: number;
  readonly podsPerUpdate: number;
  readonly syncSaveSentOverGzipMap?: number;
  readonly warmReadReceivedOverGzipMap?: number;
  readonly coldReadReceivedOverGzipMap?: number;
  readonly syncSaveServerCpuOverPatch?: number;
  readonly warmReadServerCpuOverPatch?: number;
  readonly coldReadServerCpuOverPatch?: number;
  readonly targets: typeof wireGoalTargets;
}

export interface WireResults {
  readonly settings: {
    readonly sizes: readonly number[];
    readonly podsPerUpdate: number;
    readonly seed: number;
    readonly quick: boolean;
    readonly roundTripNodes?: number;
    readonly clockTicksPerSecond: number;
  };
  readonly sizes: readonly WireSizeResult[];
  readonly goals?: WireGoals;
  readonly roundTrip?: RoundTripResult;
}

export interface WireOptions {
  readonly quick: boolean;
  readonly seed: number;
  readonly sizes?: readonly number[];
  /** Nodes of the round trip; undefined: none. */
  readonly roundTripNodes?: number;
  readonly log: (line: string) => void;
}

/** Rounds and repetitions per size. */
interface WirePlan {
  /** Rounds of the warm sync and PATCH operations, and operations per round. */
  readonly rounds: number;
  readonly perRound: number;
  /** Sync saves and reads with an empty cache. */
  readonly cold: number;
  /** Whole-map PUTs and GETs. */
  readonly whole: number;
  /** Argo-style B saves and hydrates. */
  readonly argo: number;
}

const planFor = (nodeCount: number, quick: boolean): WirePlan => {
  if (quick) return { rounds: 3, perRound: 2, cold: 2, whole: 2, argo: 2 };
  if (nodeCount <= 20_000) return { rounds: 3, perRound: 4, cold: 3, whole: 4, argo: 3 };
  if (nodeCount <= 60_000) return { rounds: 3, perRound: 3, cold: 3, whole: 3, argo: 2 };
  return { rounds: 3, perRound: 2, cold: 3, whole: 3, argo: 2 };
};

export const podsPerUpdate = 10;

/** What one operation cost. */
interface Sample {
  readonly sent: number;
  readonly received: number;
  readonly requests: number;
  readonly clientCpuMs: number;
  readonly serverCpuMs: number | undefined;
  readonly wallMs: number;
  readonly path?: string;
}

/** Runs the wire section on the benchmark's DynamoDB. */
export async function runWire(database: BenchDatabase, options: WireOptions): Promise<WireResults> {
  const { log, quick, seed } = options;
  const sizes = options.sizes ?? (quick ? [10_000] : [10_000, 50_000, 100_000]);
  const tablePrefix = `wire-${randomUUID().slice(0, 8)}`;
  const runtimes = new Map<RuntimeLimits, RuntimeProcess>();
  const cacheRoot = await mkdtemp(join(tmpdir(), 'wfo-bench-wire-'));
  const runtimeFor = async (limits: RuntimeLimits): Promise<RuntimeProcess> => {
    const existing = runtimes.get(limits);
    if (existing) return existing;
    const runtime = await spawnRuntime({
      DYNAMODB_ENDPOINT: database.endpoint,
      WFO_TABLE_NAME: `${tablePrefix}-${limits}`,
      WFO_LIMITS: limits === 'deployed' ? 'deployed' : 'off',
      // Deployed, the change events are a function of their own, not the request's CPU.
      WFO_LOCAL_STREAMS: 'off',
    });
    log(`  runtime (${limits === 'deployed' ? 'deployed limits' : 'limits lifted'}): pid ${runtime.pid}`);
    runtimes.set(limits, runtime);
    return runtime;
  };
  const argoTable = await database.createTable('bench-wire-b');
  const argoMeter = new CapacityMeter().attach(argoTable.documentClient);
  const context: SizeContext = { runtimeFor, cacheRoot, argoTable, argoMeter, seed, log };
  try {
    log('Wire: bytes and CPU per operation through the local runtime');
    await runtimeFor('deployed');
    // Warm-up: compile the hot paths of both processes before anything is measured.
    await measureSize(1_000, planFor(1_000, true), { ...context, log: () => {} });
    const results: WireSizeResult[] = [];
    for (const nodeCount of sizes) {
      const started = performance.now();
      const result = await measureSize(nodeCount, planFor(nodeCount, quick), context);
      results.push(result);
      log(`  N=${formatNumber(nodeCount)}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    const roundTrip =
      options.roundTripNodes === undefined
        ? undefined
        : await measureRoundTrip(options.roundTripNodes, await runtimeFor('deployed'), context);
    return {
      settings: {
        sizes,
        podsPerUpdate,
        seed,
        quick,
        ...(options.roundTripNodes === undefined ? {} : { roundTripNodes: options.roundTripNodes }),
        clockTicksPerSecond: clockTicksPerSecond(),
      },
      sizes: results,
      goals: wireGoals(results),
      ...(roundTrip ? { roundTrip } : {}),
    };
  } finally {
    for (const runtime of runtimes.values()) await runtime.stop();
    await rm(cacheRoot, { recursive: true, force: true });
    if (!database.ownsProcess) await dropTables(database.endpoint, tablePrefix);
  }
}

interface SizeContext {
  readonly runtimeFor: (limits: RuntimeLimits) => Promise<RuntimeProcess>;
  readonly cacheRoot: string;
  readonly argoTable: Awaited<ReturnType<BenchDatabase['createTable']>>;
  readonly argoMeter: CapacityMeter;
  readonly seed: number;
  readonly log: (line: string) => void;
}

/** The clients of one runtime, all counting into one {@link countingFetch}. */
function clientsOf(runtime: RuntimeProcess, cacheRoot: string) {
  const wire = countingFetch();
  const plain = new WfoClient({ baseUrl: runtime.baseUrl, fetch: wire.fetch });
  const sync = async (cached: boolean) =>
    new SyncClient(
      plain,
      cached
        ? {
            cache: new NodeCache({
              baseUrl: runtime.baseUrl,
              directory: await mkdtemp(join(cacheRoot, 'c-')),
            }),
          }
        : {},
    );
  /** One operation, with its bytes and the CPU of both processes. */
  const measure = async <T>(work: () => Promise<T>): Promise<{ result: T; sample: Sample }> => {
    wire.reset();
    const serverBefore = runtime.cpuMs();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const result = await work();
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const serverAfter = runtime.cpuMs();
    return {
      result,
      sample: {
        ...(wire.counts satisfies WireCounts),
        clientCpuMs: (used.user + used.system) / 1000,
        serverCpuMs:
          serverBefore === undefined || serverAfter === undefined ? undefined : serverAfter - serverBefore,
        wallMs,
      },
    };
  };
  return { plain, sync, measure };
}

async function measureSize(nodeCount: number, plan: WirePlan, context: SizeContext): Promise<WireSizeResult> {
  const { log } = context;
  const warmCount = plan.rounds * plan.perRound;
  const needed = Math.max(warmCount + plan.cold, plan.whole, plan.argo);
  const workload = buildWorkload(nodeCount, podsPerUpdate, needed, context.seed);
  if (workload.updates.length < needed) {
    throw new Error(`N=${nodeCount}: only ${workload.updates.length} updates of ${podsPerUpdate} pods`);
  }
  const json = JSON.stringify(workload.initial);
  const gzipMapBytes = gzipSync(json).length;
  const base = { nodeCount, podsPerUpdate, gzipMapBytes };
  const deployed = await context.runtimeFor('deployed');
  const clients = clientsOf(deployed, context.cacheRoot);
  const operations: WireOperationResult[] = [];
  const uid = (what: string) => `wire-${what}-${nodeCount}-${randomUUID().slice(0, 8)}`;
  const body = (nodes: NodeMap) => ({ namespace: 'bench', name: 'wire', nodes });
  /** The map after each update, on a copy of its own (`state` is changed in place). */
  const replay = () => {
    const state: NodeMap = { ...workload.initial };
    let next = 0;
    return {
      state,
      advance() {
        const set = workload.updates[next++] as NodeMap;
        Object.assign(state, set);
        return set;
      },
    };
  };

  // The sync client: a writer and a reader, each with its cache.
  {
    const id = uid('sync');
    const { state, advance } = replay();
    const writer = await clients.sync(true);
    const reader = await clients.sync(true);
    const saves: Record<'new' | 'warm' | 'cold', Sample[]> = { new: [], warm: [], cold: [] };
    const reads: Record<'warm' | 'cold', Sample[]> = { warm: [], cold: [] };
    const created = await clients.measure(() => writer.putWorkflow(id, body(state)));
    saves.new.push({ ...created.sample, path: created.result.path });
    reads.cold.push((await clients.measure(() => reader.getWorkflow(id))).sample);
    for (let index = 0; index < warmCount; index++) {
      advance();
      const saved = await clients.measure(() => writer.putWorkflow(id, body(state)));
      saves.warm.push({ ...saved.sample, path: saved.result.path });
      const read = await clients.measure(() => reader.getWorkflow(id));
      reads.warm.push(read.sample);
      if (read.result.nodeStatusVersion !== saved.result.nodeStatusVersion) {
        throw new Error(
          `N=${nodeCount}: the reader read ${read.result.nodeStatusVersion}, not the saved version`,
        );
      }
    }
    for (let index = 0; index < plan.cold; index++) {
      const fresh = await clients.sync(true);
      reads.cold.push((await clients.measure(() => fresh.getWorkflow(id))).sample);
    }
    for (let index = 0; index < plan.cold; index++) {
      advance();
      const fresh = await clients.sync(true);
      const saved = await clients.measure(() => fresh.putWorkflow(id, body(state)));
      saves.cold.push({ ...saved.sample, path: saved.result.path });
    }
    const check = await (await clients.sync(false)).getWorkflow(id);
    if (nodeCount <= 10_000 && !isDeepStrictEqual(check.nodes, state)) {
      throw new Error(`N=${nodeCount}: the synced workflow differs from the map saved`);
    }
    operations.push(
      summarizeOperation('sync-save-warm', base, 'deployed', saves.warm, plan.perRound),
      summarizeOperation('sync-read-warm', base, 'deployed', reads.warm, plan.perRound),
      summarizeOperation('sync-read-cold', base, 'deployed', reads.cold, 1),
      summarizeOperation('sync-save-cold', base, 'deployed', saves.cold, 1),
      summarizeOperation('sync-save-new', base, 'deployed', saves.new, 1),
    );
  }

  // PATCH of the changed nodes, on a workflow of its own.
  {
    const id = uid('patch');
    const { state, advance } = replay();
    await (await clients.sync(false)).putWorkflow(id, body(state));
    const samples: Sample[] = [];
    for (let index = 0; index < warmCount; index++) {
      const set = advance();
      samples.push((await clients.measure(() => clients.plain.patchNodes(id, { set }))).sample);
    }
    operations.push(summarizeOperation('patch', base, 'deployed', samples, plan.perRound));
  }

  // The whole-map API; what the deployed limits refuse is measured again with them lifted.
  for (const limits of ['deployed', 'lifted'] as const) {
    const runtime = await context.runtimeFor(limits);
    const own = limits === 'deployed' ? clients : clientsOf(runtime, context.cacheRoot);
    const id = uid(`whole-${limits}`);
    const { state, advance } = replay();
    await (await own.sync(false)).putWorkflow(id, body(state));
    const wanted = limits === 'deployed' ? wireOperationIds : refusedBefore(operations, nodeCount);
    if (wanted.length === 0) break;
    for (const operation of ['put', 'get'] as const) {
      if (!wanted.includes(operation)) continue;
      const samples: Sample[] = [];
      let refused: WireOperationResult['refused'];
      for (let index = 0; index < plan.whole && !refused; index++) {
        if (operation === 'put') advance();
        try {
          samples.push(
            (
              await own.measure<unknown>(() =>
                operation === 'put' ? own.plain.putWorkflow(id, body(state)) : own.plain.getWorkflow(id),
              )
            ).sample,
          );
        } catch (error) {
          if (!(error instanceof PayloadTooLargeError)) throw error;
          refused = { status: 413, message: error.message };
        }
      }
      operations.push(
        refused && samples.length === 0
          ? { ...summarizeOperation(operation, base, limits, [], 1), refused }
          : summarizeOperation(operation, base, limits, samples, 1),
      );
    }
    if (limits === 'deployed' && refusedBefore(operations, nodeCount).length === 0) break;
  }

  // Argo-style B: what it writes to and reads from DynamoDB, its gzip blob items.
  {
    const store = new WholeBlobStore(context.argoTable.documentClient, context.argoTable.tableName, {
      compression: 'gzip',
    });
    const id = uid('argo-b');
    const { state, advance } = replay();
    let version: BlobVersion = await store.save(id, state);
    const saves: Sample[] = [];
    const hydrates: Sample[] = [];
    /** One call of the store, priced by the meter: item bytes put count as sent, item bytes read as received. */
    const metered = async <T>(work: () => Promise<T>): Promise<{ result: T; sample: Sample }> => {
      const cpu = process.cpuUsage();
      const started = performance.now();
      const { result, cost } = await context.argoMeter.measure(work);
      const wallMs = performance.now() - started;
      const used = process.cpuUsage(cpu);
      return {
        result,
        sample: {
          sent: cost.bytesWritten,
          received: cost.bytesRead,
          requests: cost.requests,
          clientCpuMs: (used.user + used.system) / 1000,
          serverCpuMs: undefined,
          wallMs,
        },
      };
    };
    for (let index = 0; index < plan.argo; index++) {
      advance();
      const saved = await metered(() => store.save(id, state));
      version = saved.result;
      saves.push(saved.sample);
      const hydrated = await metered(() => store.hydrate(version));
      hydrates.push(hydrated.sample);
    }
    operations.push(
      summarizeOperation('argo-b-save', base, 'none', saves, 1),
      summarizeOperation('argo-b-hydrate', base, 'none', hydrates, 1),
    );
  }

  const sorted = wireOperationIds.flatMap((operation) =>
    operations.filter((row) => row.operation === operation),
  );
  for (const row of sorted) log(`    ${wireCells(row).join('  ')}`);
  const bucketed = bucketize(workload.initial);
  const bucketOrder: NodeMap = {};
  for (const bucket of bucketed.buckets) Object.assign(bucketOrder, bucket);
  const clientSteps = await measureClientSteps(workload.initial, context.cacheRoot);
  return {
    nodeCount,
    podsPerUpdate,
    jsonMapBytes: Buffer.byteLength(json),
    gzipMapBytes,
    gzipBucketOrderBytes: gzipSync(JSON.stringify(bucketOrder)).length,
    clientSteps,
    operations: sorted,
  };
}

/** CPU of the whole-map steps a sync save or read takes on the client, median of three each. */
async function measureClientSteps(nodes: NodeMap, cacheRoot: string): Promise<WireSizeResult['clientSteps']> {
  const cpuOf = async (work: () => unknown) => {
    const samples: number[] = [];
    for (let index = 0; index < 3; index++) {
      const cpu = process.cpuUsage();
      await work();
      const used = process.cpuUsage(cpu);
      samples.push((used.user + used.system) / 1000);
    }
    return round(median(samples), 1);
  };
  const bucketed = bucketize(nodes);
  const cache = new NodeCache({ baseUrl: 'http://steps', directory: await mkdtemp(join(cacheRoot, 's-')) });
  const workflow = {
    uid: 'steps',
    namespace: 'bench',
    name: 'steps',
    phase: 'Running',
    resourceVersion: '1',
    nodeStatusVersion: bucketed.nodeStatusVersion,
    nodeCount: Object.keys(nodes).length,
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
  };
  return {
    bucketizeCpuMs: await cpuOf(() => bucketize(nodes)),
    cachePutCpuMs: await cpuOf(() => cache.put({ workflow, nodes })),
    cacheGetCpuMs: await cpuOf(() => cache.get('steps')),
  };
}

/** Whole-map operations the deployed limits refused at this size. */
const refusedBefore = (operations: readonly WireOperationResult[], nodeCount: number): WireOperationId[] =>
  operations
    .filter((row) => row.nodeCount === nodeCount && row.limits === 'deployed' && row.refused)
    .map((row) => row.operation);

/** Groups the samples in rounds of `perRound`: CPU is the median over rounds of the mean per operation. */
export function roundMedian(values: readonly number[], perRound: number): number {
  const size = Math.max(1, Math.min(perRound, values.length));
  const means: number[] = [];
  for (let start = 0; start + size <= values.length; start += size) {
    const group = values.slice(start, start + size);
    means.push(group.reduce((sum, value) => sum + value, 0) / size);
  }
  return round(median(means), 1);
}

function summarizeOperation(
  operation: WireOperationId,
  base: { nodeCount: number; podsPerUpdate: number; gzipMapBytes: number },
  limits: RuntimeLimits | 'none',
  samples: readonly Sample[],
  perRound: number,
): WireOperationResult {
  const row = {
    operation,
    label: wireOperationLabels[operation],
    nodeCount: base.nodeCount,
    podsPerUpdate: base.podsPerUpdate,
    limits,
    samples: samples.length,
    perRound,
  };
  if (samples.length === 0) return row;
  const sent = summarize(samples.map((sample) => sample.sent));
  const received = summarize(samples.map((sample) => sample.received));
  const paths: Record<string, number> = {};
  for (const sample of samples) if (sample.path) paths[sample.path] = (paths[sample.path] ?? 0) + 1;
  const server = samples.map((sample) => sample.serverCpuMs);
  return {
    ...row,
    ...(Object.keys(paths).length > 0 ? { paths } : {}),
    sentBytes: sent,
    receivedBytes: received,
    requests: median(samples.map((sample) => sample.requests)),
    sentOverGzipMap: round(sent.median / base.gzipMapBytes, 5),
    receivedOverGzipMap: round(received.median / base.gzipMapBytes, 5),
    clientCpuMs: roundMedian(
      samples.map((sample) => sample.clientCpuMs),
      perRound,
    ),
    ...(server.every((value) => value !== undefined)
      ? { serverCpuMs: roundMedian(server as number[], perRound) }
      : {}),
    wallMs: summarize(samples.map((sample) => sample.wallMs)),
  };
}

function wireGoals(sizes: readonly WireSizeResult[]): WireGoals | undefined {
  const at = sizes.find((size) => size.nodeCount === 10_000 && size.podsPerUpdate === podsPerUpdate);
  if (!at) return undefined;
  const row = (operation: WireOperationId) => at.operations.find((entry) => entry.operation === operation);
  const patchCpu = row('patch')?.serverCpuMs;
  const overPatch = (operation: WireOperationId) => {
    const cpu = row(operation)?.serverCpuMs;
    return cpu === undefined || patchCpu === undefined || patchCpu === 0
      ? undefined
      : round(cpu / patchCpu, 2);
  };
  return {
    nodeCount: at.nodeCount,
    podsPerUpdate: at.podsPerUpdate,
    syncSaveSentOverGzipMap: row('sync-save-warm')?.sentOverGzipMap,
    warmReadReceivedOverGzipMap: row('sync-read-warm')?.receivedOverGzipMap,
    coldReadReceivedOverGzipMap: row('sync-read-cold')?.receivedOverGzipMap,
    syncSaveServerCpuOverPatch: overPatch('sync-save-warm'),
    warmReadServerCpuOverPatch: overPatch('sync-read-warm'),
    coldReadServerCpuOverPatch: overPatch('sync-read-cold'),
    targets: wireGoalTargets,
  };
}

/** Max of `sample()` every 50 ms while `work` runs (and once before and after). */
async function peakDuring<T>(
  samplers: readonly (() => number | undefined)[],
  work: () => Promise<T>,
): Promise<{ result: T; peaks: (number | undefined)[] }> {
  const peaks: (number | undefined)[] = samplers.map(() => undefined);
  const take = () =>
    samplers.forEach((sampler, index) => {
      const value = sampler();
      if (value !== undefined) peaks[index] = Math.max(peaks[index] ?? 0, value);
    });
  take();
  const timer = setInterval(take, 50);
  try {
    const result = await work();
    take();
    return { result, peaks };
  } finally {
    clearInterval(timer);
  }
}

async function measureRoundTrip(
  nodeCount: number,
  runtime: RuntimeProcess,
  context: SizeContext,
): Promise<RoundTripResult> {
  const { log } = context;
  log(`  round trip of ${formatNumber(nodeCount)} nodes through the runtime with the deployed limits`);
  const nodes = generateNodes({ nodeCount, seed: context.seed, runningFraction }) as NodeMap;
  const json = JSON.stringify(nodes);
  const gzipMapBytes = gzipSync(json).length;
  const jsonMapBytes = Buffer.byteLength(json);
  const clients = clientsOf(runtime, context.cacheRoot);
  const id = `wire-round-trip-${randomUUID().slice(0, 8)}`;
  const leg = async <T>(work: () => Promise<T>) => {
    const clientRssBeforeBytes = process.memoryUsage().rss;
    const serverRssBeforeBytes = runtime.rssBytes();
    const { result, peaks } = await peakDuring(
      [() => process.memoryUsage().rss, () => runtime.rssBytes()],
      () => clients.measure(work),
    );
    const { sample } = result;
    return {
      result: result.result,
      leg: {
        wallMs: round(sample.wallMs, 0),
        clientCpuMs: round(sample.clientCpuMs, 0),
        serverCpuMs: sample.serverCpuMs,
        sentBytes: sample.sent,
        receivedBytes: sample.received,
        requests: sample.requests,
        clientRssBeforeBytes,
        clientPeakRssBytes: peaks[0] as number,
        serverRssBeforeBytes,
        serverPeakRssBytes: peaks[1],
      } satisfies RoundTripLeg,
    };
  };
  const saver = await clients.sync(true);
  const saved = await leg(() => saver.putWorkflow(id, { namespace: 'bench', name: 'round-trip', nodes }));
  log(
    `    save (${saved.result.path}): ${formatNumber(saved.leg.wallMs)} ms, sent ${formatBytes(saved.leg.sentBytes)}`,
  );
  const reader = await clients.sync(true);
  const read = await leg(() => reader.getWorkflow(id));
  const identical = isDeepStrictEqual(read.result.nodes, nodes);
  log(
    `    read: ${formatNumber(read.leg.wallMs)} ms, received ${formatBytes(read.leg.receivedBytes)}; ${identical ? 'identical' : 'DIFFERENT'}; ` +
      `peak RSS client ${formatBytes(Math.max(saved.leg.clientPeakRssBytes, read.leg.clientPeakRssBytes))}, ` +
      `server ${formatBytes(Math.max(saved.leg.serverPeakRssBytes ?? 0, read.leg.serverPeakRssBytes ?? 0))}`,
  );
  return {
    nodeCount,
    jsonMapBytes,
    gzipMapBytes,
    identical,
    save: { ...saved.leg, path: saved.result.path },
    read: read.leg,
  };
}

/** Removes the tables the runtimes made on someone else's DynamoDB. */
async function dropTables(endpoint: string, prefix: string): Promise<void> {
  const client = lowLevelClient(endpoint);
  try {
    let start: string | undefined;
    const names: string[] = [];
    do {
      const output = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
      names.push(...(output.TableNames ?? []).filter((name) => name.startsWith(prefix)));
      start = output.LastEvaluatedTableName;
    } while (start);
    for (const name of names) await client.send(new DeleteTableCommand({ TableName: name })).catch(() => {});
  } finally {
    client.destroy();
  }
}

// ---------------------------------------------------------------------------
// Presentation
// ---------------------------------------------------------------------------

export const wireHeaders = [
  'N',
  'operation',
  'limits',
  'n',
  'sent',
  'of map gzip',
  'received',
  'of map gzip',
  'requests',
  'client CPU ms',
  'server CPU ms',
  'wall ms p50',
] as const;

const share = (value: number | undefined): string =>
  value === undefined
    ? '-'
    : value === 0
      ? '0'
      : value < 0.001
        ? `${(value * 100).toFixed(3)}%`
        : `${(value * 100).toFixed(2)}%`;

export function wireCells(row: WireOperationResult): string[] {
  const limits = row.limits === 'lifted' ? 'lifted (not deployable)' : row.limits;
  const label = `${row.label}${row.paths ? ` [${Object.keys(row.paths).join('/')}]` : ''}`;
  if (row.refused) {
    return [
      formatNumber(row.nodeCount),
      label,
      limits,
      '0',
      'refused (413)',
      '-',
      'refused (413)',
      '-',
      '-',
      '-',
      '-',
      '-',
    ];
  }
  return [
    formatNumber(row.nodeCount),
    label,
    limits,
    String(row.samples),
    formatBytes(row.sentBytes?.median ?? Number.NaN),
    share(row.sentOverGzipMap),
    formatBytes(row.receivedBytes?.median ?? Number.NaN),
    share(row.receivedOverGzipMap),
    formatNumber(row.requests ?? Number.NaN),
    formatNumber(row.clientCpuMs ?? Number.NaN, 1),
    row.serverCpuMs === undefined ? '-' : formatNumber(row.serverCpuMs, 1),
    formatNumber(row.wallMs?.median ?? Number.NaN),
  ];
}

export const wireMapHeaders = [
  'N',
  'map JSON',
  'map gzip',
  'gzip in bucket order',
  'client CPU ms: bucketize',
  'cache put',
  'cache get',
] as const;

/** Per size: the map's bytes, its gzip in the order the service keeps it, and the client's whole-map steps. */
export const wireMapRows = (results: WireResults): string[][] =>
  results.sizes.map((size) => [
    formatNumber(size.nodeCount),
    formatBytes(size.jsonMapBytes),
    formatBytes(size.gzipMapBytes),
    `${formatBytes(size.gzipBucketOrderBytes)} (${share(size.gzipBucketOrderBytes / size.gzipMapBytes)})`,
    formatNumber(size.clientSteps.bucketizeCpuMs, 1),
    formatNumber(size.clientSteps.cachePutCpuMs, 1),
    formatNumber(size.clientSteps.cacheGetCpuMs, 1),
  ]);

export const wireRows = (results: WireResults): string[][] =>
  results.sizes.flatMap((size) => size.operations.map(wireCells));

/** The goal lines at N = 10,000, k = 10 (targets, not assertions). */
export function wireGoalLines(results: WireResults): string[] {
  const goals = results.goals;
  if (!goals) return ['Not measured at N = 10,000 in this run.'];
  const t = goals.targets;
  const line = (label: string, value: number | undefined, target: number, format: (v: number) => string) =>
    `${label}: ${value === undefined ? '-' : format(value)} (goal ≤ ${format(target)}: ${
      value === undefined ? 'not measured' : value <= target ? 'met' : 'not met'
    })`;
  const pct = (value: number) => share(value);
  const times = (value: number) => `${value.toFixed(2)}×`;
  return [
    line(
      'bytes a save through the sync client sends, as a share of the map gzip',
      goals.syncSaveSentOverGzipMap,
      t.syncSaveSentOverGzipMap,
      pct,
    ),
    line(
      'bytes a re-read with the previous version cached receives, as a share of the map gzip',
      goals.warmReadReceivedOverGzipMap,
      t.warmReadReceivedOverGzipMap,
      pct,
    ),
    line(
      'bytes a read with an empty cache receives, as a share of the map gzip',
      goals.coldReadReceivedOverGzipMap,
      t.coldReadReceivedOverGzipMap,
      pct,
    ),
    line(
      'server CPU of a synced save over a PATCH',
      goals.syncSaveServerCpuOverPatch,
      t.serverCpuOverPatch,
      times,
    ),
    line(
      'server CPU of a synced re-read over a PATCH',
      goals.warmReadServerCpuOverPatch,
      t.serverCpuOverPatch,
      times,
    ),
    `server CPU of a read with an empty cache over a PATCH: ${
      goals.coldReadServerCpuOverPatch === undefined ? '-' : times(goals.coldReadServerCpuOverPatch)
    } (for scale; a full read is not a change)`,
  ];
}

/** The round trip in one line. */
export function roundTripLine(trip: RoundTripResult | undefined): string {
  if (!trip) return 'Round trip: not run.';
  const mb = formatBytes;
  return (
    `${formatNumber(trip.nodeCount)}-node round trip (${mb(trip.jsonMapBytes)} JSON, ${mb(trip.gzipMapBytes)} gzip) through the runtime with the deployed limits: ` +
    `save ${formatNumber(trip.save.wallMs / 1000, 1)} s (${trip.save.path}, ${trip.save.requests} requests, sent ${mb(trip.save.sentBytes)}), ` +
    `read back in a fresh client ${formatNumber(trip.read.wallMs / 1000, 1)} s (${trip.read.requests} requests, received ${mb(trip.read.receivedBytes)}), ` +
    `${trip.identical ? 'identical' : 'NOT identical'}; peak RSS client ${mb(Math.max(trip.save.clientPeakRssBytes, trip.read.clientPeakRssBytes))} ` +
    `(${mb(trip.save.clientRssBeforeBytes)} before), server ${mb(Math.max(trip.save.serverPeakRssBytes ?? 0, trip.read.serverPeakRssBytes ?? 0))} ` +
    `(${mb(trip.save.serverRssBeforeBytes ?? Number.NaN)} before)`
  );
}
