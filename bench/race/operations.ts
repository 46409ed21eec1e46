/**
 * What a controller and a user do to a workflow in the race, as one
 * interface with two implementations, so that the harness runs the same
 * controller loop, the same stops and the same ledger over either:
 *
 * - {@link inProcessOperations}: the domain `WorkflowService` in this
 *   process, on the strategy's store (`ours`, `argo`, `unsafe`);
 * - `syncOperations` (./sync-operations.ts): the local runtime in a process
 *   of its own, over HTTP with the deployed front-door limits, each
 *   controller with a `SyncClient` and a `NodeCache` of its own (`sync`).
 *
 * A failed operation throws; `classify` names what failed in the harness's
 * terms (the seed failure in its forms, contention, other), and
 * `refusedCompleted` recognises the correct refusal to stop a completed
 * workflow.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { StopStrategy } from '#contract/workflow';
import { defaultCodecOptions } from '#domain/codec';
import { ConflictError, ContentionError, VersionMissingError, VersionNotFoundError } from '#domain/errors';
import type { NodeMap } from '#domain/nodes';
import type { WorkflowStore } from '#domain/store';
import { WorkflowService } from '#domain/workflow-service';
import { DynamoDbStore } from '#store/dynamodb-store';
import { ArgoStyleStore } from '#testkit/stores/argo-style-store';
import { LastWriterWinsStore } from '#testkit/stores/last-writer-wins-store';
import type { PlannedWorkflow, RaceOptions, RaceStrategy } from './workload.ts';

export type FailureKind =
  /** A version the record pointed at was gone (`VersionMissingError`): Argo's "no more rows". */
  | 'versionMissing'
  /** A re-apply could not read the base version it was derived from: Argo's `woc.orig` reload. */
  | 'baseVersionGone'
  /** A version read by id had gone (`VersionNotFoundError`; over HTTP a 404 of a version, or a 410). */
  | 'versionNotFound'
  /** Compare-and-set kept losing within the retry budget. */
  | 'contention'
  | 'other';

export type OperationName = 'hydrate' | 'persist' | 'stop' | 'verify';

/** A controller's hydrate: the workflow as it is now. */
export interface Hydrated {
  readonly resourceVersion: number;
  readonly nodeStatusVersion: string;
  readonly phase: string;
  readonly shutdown?: string;
  readonly nodes: NodeMap;
}

export interface PersistRequest {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly phase: string;
  /** The whole map the controller wants stored. */
  readonly nodes: NodeMap;
  /** The version it hydrated (`woc.orig`'s node status version). */
  readonly baseVersion: string;
  /** The resourceVersion it hydrated. */
  readonly ifMatch: string;
}

export interface Persisted {
  /** The resourceVersion the service returned. */
  readonly resourceVersion: number;
  /** False when the service acknowledged without writing (nothing to change). */
  readonly committed: boolean;
  /** The If-Match was stale on arrival, so the service re-applied the change. */
  readonly reapplied: boolean;
  /** Compare-and-set conflicts met and retried inside the service, where they can be seen. */
  readonly conflicts: number;
  /** The workflow is stopped after the write. */
  readonly shutdown: boolean;
}

export interface Stopped {
  readonly resourceVersion: number;
  /** False when the workflow was already stopped: nothing was written. */
  readonly changed: boolean;
  readonly conflicts: number;
}

/** One controller's own means of reading and writing its workflow. */
export interface ControllerOperations {
  hydrate(): Promise<Hydrated>;
  persist(request: PersistRequest): Promise<Persisted>;
}

export interface RaceOperations {
  /** What the report calls the store (and the path to it). */
  readonly store: string;
  /**
   * Compare-and-set retries inside the service that the results do not carry
   * (`Persisted.conflicts` and `Stopped.conflicts` say 0); read after `close()`.
   */
  serviceCasConflicts(): number;
  /** The operations of the controller of one workflow. */
  controller(workflow: PlannedWorkflow): ControllerOperations;
  /** Creates a workflow with its initial map, through its controller's path. */
  create(workflow: PlannedWorkflow): Promise<void>;
  /** A user's stop. */
  stop(uid: string, strategy: StopStrategy): Promise<Stopped>;
  classify(error: unknown): FailureKind;
  /** True for the refusal to stop a workflow that had already completed (a correct answer). */
  refusedCompleted(error: unknown): boolean;
  /** Releases what the operations hold (a process, a folder). */
  close(): Promise<void>;
}

/** The seed failure, and the other kinds, from the domain's error classes. */
export function classifyDomainError(error: unknown): FailureKind {
  if (error instanceof VersionMissingError) return 'versionMissing';
  if (error instanceof ConflictError && error.cause instanceof VersionNotFoundError) return 'baseVersionGone';
  if (error instanceof VersionNotFoundError) return 'versionNotFound';
  if (error instanceof ContentionError) return 'contention';
  return 'other';
}

export function createStore(
  strategy: Exclude<RaceStrategy, 'sync'>,
  client: DynamoDBDocumentClient,
  tableName: string,
  options: RaceOptions,
): WorkflowStore {
  if (strategy === 'ours') return new DynamoDbStore(client, { tableName });
  if (strategy === 'unsafe') return new LastWriterWinsStore(client, { tableName });
  return new ArgoStyleStore(client, { tableName, versionTtlSeconds: options.argoTtlSeconds });
}

export const storeLabels: Record<Exclude<RaceStrategy, 'sync'>, (options: RaceOptions) => string> = {
  ours: () => 'DynamoDbStore',
  argo: (options) => `ArgoStyleStore (deletes versions older than ${options.argoTtlSeconds} s on save)`,
  unsafe: () => 'DynamoDbStore without compare-and-set (negative control)',
};

/** The domain `WorkflowService` in this process, on the strategy's store. */
export function inProcessOperations(
  strategy: Exclude<RaceStrategy, 'sync'>,
  client: DynamoDBDocumentClient,
  tableName: string,
  options: RaceOptions,
): RaceOperations {
  // Versions always live in their own items, as in Argo's offload: small maps are not kept inline.
  // The Argo-style baseline keeps each version whole, as Argo's rows do: the chunk layout, where
  // a version is its own manifest (log versions share their chain's items).
  const service = new WorkflowService(createStore(strategy, client, tableName, options), {
    alwaysOffload: true,
    ...(strategy === 'argo' ? { codec: { ...defaultCodecOptions, layout: 'chunks' as const } } : {}),
  });
  return {
    store: storeLabels[strategy](options),
    serviceCasConflicts: () => 0,
    controller: (workflow) => ({
      async hydrate() {
        return service.getWorkflow(workflow.uid);
      },
      async persist(request) {
        const result = await service.persist(
          {
            uid: request.uid,
            namespace: request.namespace,
            name: request.name,
            phase: request.phase,
            nodes: request.nodes,
            baseVersion: request.baseVersion,
          },
          { ifMatch: request.ifMatch, reapply: true },
        );
        return {
          resourceVersion: result.workflow.resourceVersion,
          // The service acknowledges without writing when there is nothing to change.
          committed: result.write.writeUnits > 0,
          reapplied: result.reapplied,
          conflicts: result.conflicts,
          shutdown: result.workflow.shutdown !== undefined,
        };
      },
    }),
    async create(workflow) {
      await service.persist({
        uid: workflow.uid,
        namespace: 'race',
        name: workflow.name,
        nodes: workflow.nodes,
      });
    },
    async stop(uid, strategy) {
      const result = await service.stop({ uid, strategy });
      return {
        resourceVersion: result.workflow.resourceVersion,
        changed: result.changed,
        conflicts: result.conflicts,
      };
    },
    classify: classifyDomainError,
    refusedCompleted: (error) =>
      error instanceof ConflictError &&
      !(error.cause instanceof VersionNotFoundError) &&
      /completed/.test(error.message),
    async close() {},
  };
}
