/**
 * The race's `sync` strategy: the service as it runs for real, the local
 * runtime (`npm start`) in a process of its own, serving the race's tables
 * on the harness's DynamoDB over HTTP with the deployed front-door limits;
 * every controller a `SyncClient` over a `WfoClient` of its own with a
 * `NodeCache` of its own, and users stopping through `WfoClient.stopWorkflow`.
 *
 * - hydrate: `sync.getWorkflow(uid)`: the change since the cached version
 *   (the one this controller last read or wrote), checked against its
 *   version id;
 * - persist: `sync.putWorkflow(uid, {..., nodes, baseVersion}, { ifMatch,
 *   onConflict: 'reapply' })`: a delta against the cached version (PATCH
 *   with `baseVersion`), re-applied by the service when the If-Match is stale;
 * - stop: `POST /v1/workflows/{uid}/stop`.
 *
 * The HTTP answers carry less than the domain's results, so two things are
 * read from what they do carry: a write re-applied when the resourceVersion
 * it returned is further from its If-Match than its own commit accounts for
 * (each commit adds exactly one), and a stop changed the workflow when the
 * workflow is stopped with that stop's strategy (the two users of a double
 * stop send different ones). The service's own compare-and-set retries are
 * counted from its `CommitRetries` metric, which the runtime prints as EMF
 * lines on its standard output.
 *
 * Failures are classified from the client's error classes: a 404 naming a
 * version and any 410 (a version the client held is gone) are the seed
 * failure in its `versionNotFound` form, a 409 naming an unreadable
 * baseVersion is `baseVersionGone`, and a 500 is `versionMissing` when the
 * runtime logged a VersionMissing under that request's correlation id (the
 * service answers VersionMissing with a generic 500, as any internal error).
 * A 410 the sync client recovers from by reading the workflow in full is
 * still counted: with the service's retention no version a controller holds
 * may be gone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeCache } from '#client/cache';
import { SyncClient } from '#client/sync';
import {
  type NodeMap as ClientNodeMap,
  ConflictError,
  GoneError,
  InternalServerError,
  NotFoundError,
  ServiceUnavailableError,
  WfoClient,
} from '#client/wfo-client';
import type { NodeMap } from '#domain/nodes';
import { spawnRuntime } from '#testkit/runtime-process';
import type { FailureKind, Hydrated, OperationName, RaceOperations } from './operations.ts';
import type { PlannedWorkflow } from './workload.ts';

/** An error the operations classified themselves (they needed the runtime's log to). */
export class ClassifiedError extends Error {
  constructor(
    readonly kind: FailureKind,
    override readonly cause: unknown,
  ) {
    super((cause as Error)?.message ?? String(cause), { cause });
    this.name = (cause as Error)?.name ?? 'Error';
  }
}

export interface SyncOperationsOptions {
  /** The DynamoDB the harness's tables are on. */
  readonly dynamodbEndpoint: string;
  /** The records table (its versions table has the default name). */
  readonly tableName: string;
  /** Called for a failure an operation recovered from itself (a 410 the sync client read past). */
  readonly onRecoveredFailure: (operation: OperationName, uid: string, error: unknown) => void;
}

/** Most bytes one controller's cache keeps: a few versions of its one workflow. */
const cacheMaxBytes = 1024 * 1024;
/** How long a 500 waits for the runtime's log line that says what it was. */
const logGraceMs = 500;

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** Starts the runtime on the harness's tables; `close()` stops it and removes the caches. */
export async function syncOperations(options: SyncOperationsOptions): Promise<RaceOperations> {
  const runtime = await spawnRuntime({
    DYNAMODB_ENDPOINT: options.dynamodbEndpoint,
    WFO_TABLE_NAME: options.tableName,
    WFO_VERSIONS_TABLE_NAME: undefined,
    // As the in-process strategies: versions always in their own items.
    WFO_ALWAYS_OFFLOAD: 'true',
    // The deployed front door, whatever the caller's environment says.
    WFO_LIMITS: 'deployed',
    // Deployed, the change events run in a function of their own; here they
    // would share the one process that serves every controller and stop.
    // On two saturated cores that cut persists by half and pushed stops past
    // their 29 s budget (a 503 after a commit), which is this machine's
    // limit, not the service's.
    WFO_LOCAL_STREAMS: 'off',
    WFO_MAX_REQUEST_BYTES: undefined,
    WFO_LAMBDA_PAYLOAD_BYTES: undefined,
    WFO_HTTP_TIMEOUT_SECONDS: undefined,
    WFO_RETENTION_SECONDS: undefined,
    // The service's metrics (EMF on stdout) count its compare-and-set retries; errors are logged.
    POWERTOOLS_METRICS_DISABLED: 'false',
    POWERTOOLS_METRICS_NAMESPACE: 'workflow-offload-race',
    POWERTOOLS_LOG_LEVEL: 'WARN',
  });
  const cacheRoot = await mkdtemp(join(tmpdir(), 'wfo-race-'));

  // What the runtime prints: EMF metric lines and JSON log lines, one per line.
  let casConflicts = 0;
  const versionMissingRequests = new Set<string>();
  let pending = '';
  const onOutput = (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (typeof parsed.CommitRetries === 'number') casConflicts += parsed.CommitRetries;
      else if (Array.isArray(parsed.CommitRetries)) {
        for (const value of parsed.CommitRetries) casConflicts += Number(value) || 0;
      }
      const message = typeof parsed.message === 'string' ? parsed.message : '';
      if (/^version missing/.test(message) && typeof parsed.correlation_id === 'string') {
        versionMissingRequests.add(parsed.correlation_id);
      }
    }
  };
  runtime.child.stdout?.on('data', onOutput);
  runtime.child.stderr?.on('data', onOutput);

  /** What the harness should call an error of the client, once the runtime had time to log it. */
  const classified = async (error: unknown): Promise<unknown> => {
    if (!(error instanceof InternalServerError)) return error;
    const correlationId = /correlation id ([^)\s]+)/.exec(error.message)?.[1];
    if (correlationId === undefined) return error;
    const deadline = performance.now() + logGraceMs;
    while (!versionMissingRequests.has(correlationId) && performance.now() < deadline) await sleep(25);
    return versionMissingRequests.has(correlationId) ? new ClassifiedError('versionMissing', error) : error;
  };
  const rethrowClassified = async (error: unknown): Promise<never> => {
    throw await classified(error);
  };

  const baseUrl = runtime.baseUrl;
  const users = new WfoClient({ baseUrl });
  const controllers = new Map<string, SyncClient>();
  let cacheIndex = 0;
  const syncOf = (workflow: PlannedWorkflow): SyncClient => {
    let sync = controllers.get(workflow.uid);
    if (!sync) {
      // Sees every answer, so that a 410 the sync client reads past is still counted.
      const watched: typeof fetch = async (input, init) => {
        const response = await fetch(input, init);
        // Only a 410 is read past (a full read follows); any other error reaches the harness.
        if (response.status === 410) {
          const body = (await response.clone().text()).slice(0, 300);
          options.onRecoveredFailure(
            'hydrate',
            workflow.uid,
            new GoneError(`HTTP ${response.status} on ${init?.method ?? 'GET'} ${String(input)}: ${body}`, {
              status: response.status,
            }),
          );
        }
        return response;
      };
      sync = new SyncClient(new WfoClient({ baseUrl, fetch: watched }), {
        cache: new NodeCache({
          baseUrl,
          directory: join(cacheRoot, String(cacheIndex++)),
          maxBytes: cacheMaxBytes,
        }),
      });
      controllers.set(workflow.uid, sync);
    }
    return sync;
  };

  return {
    store: 'DynamoDbStore behind the local runtime over HTTP (SyncClient deltas, deployed limits)',
    serviceCasConflicts: () => casConflicts,
    controller(workflow) {
      const sync = syncOf(workflow);
      return {
        async hydrate(): Promise<Hydrated> {
          const workflowNow = await sync.getWorkflow(workflow.uid).catch(rethrowClassified);
          return {
            resourceVersion: Number(workflowNow.resourceVersion),
            nodeStatusVersion: workflowNow.nodeStatusVersion,
            phase: workflowNow.phase,
            ...(workflowNow.shutdown === undefined ? {} : { shutdown: workflowNow.shutdown }),
            nodes: workflowNow.nodes as NodeMap,
          };
        },
        async persist(request) {
          const written = await sync
            .putWorkflow(
              request.uid,
              {
                namespace: request.namespace,
                name: request.name,
                phase: request.phase,
                nodes: request.nodes as ClientNodeMap,
                baseVersion: request.baseVersion,
              },
              { ifMatch: request.ifMatch, onConflict: 'reapply' },
            )
            .catch(rethrowClassified);
          const resourceVersion = Number(written.resourceVersion);
          const committed = written.write.writeUnits > 0;
          return {
            resourceVersion,
            committed,
            // Each commit adds one: any further distance is other writers' commits, re-applied over.
            reapplied: resourceVersion > Number(request.ifMatch) + (committed ? 1 : 0),
            // Counted from the service's metrics instead (see the header).
            conflicts: 0,
            shutdown: written.shutdown !== undefined,
          };
        },
      };
    },
    async create(workflow) {
      // Through the controller's own client, so that its cache starts at the first version.
      await syncOf(workflow)
        .putWorkflow(
          workflow.uid,
          { namespace: 'race', name: workflow.name, nodes: workflow.nodes as ClientNodeMap },
          { ifNoneMatch: '*' },
        )
        .catch(rethrowClassified);
    },
    async stop(uid, strategy) {
      const stopped = await users.stopWorkflow(uid, { strategy }).catch(rethrowClassified);
      return {
        resourceVersion: Number(stopped.resourceVersion),
        // The other user of a double stop sends the other strategy: stopped with ours means ours committed.
        changed: stopped.shutdown === strategy,
        conflicts: 0,
      };
    },
    classify(error) {
      if (error instanceof ClassifiedError) return error.kind;
      if (error instanceof GoneError) return 'versionNotFound';
      if (error instanceof NotFoundError && /version '[^']*' of workflow/.test(error.message)) {
        return 'versionNotFound';
      }
      if (error instanceof ConflictError && /baseVersion .* not a version/.test(error.message)) {
        return 'baseVersionGone';
      }
      if (error instanceof ServiceUnavailableError && /kept changing/.test(error.message))
        return 'contention';
      return 'other';
    },
    refusedCompleted: (error) =>
      error instanceof ConflictError && /completed/.test(error.message) && !/baseVersion/.test(error.message),
    async close() {
      // Every line it printed has been read once it has exited.
      const code = await runtime.stop();
      await rm(cacheRoot, { recursive: true, force: true });
      if (code !== 0) throw new Error(`the runtime exited with ${code}:\n${runtime.output().slice(-2000)}`);
    },
  };
}
