/**
 * The four storage strategies of the benchmark behind one small interface,
 * so every case runs the same workload through each:
 *
 * - A: Argo-style, whole uncompressed JSON per version, old versions deleted on save;
 * - B: the same, gzip-compressed;
 * - BT (B′ in the docs): a gzip blob per version with `expiresAt` and no delete, TTL
 *   doing the clean-up: what a user would build on DynamoDB without this project;
 * - C: this project, full PUT (`WorkflowService.persist`);
 * - D: this project, PATCH of the changed nodes (`WorkflowService.patch`);
 * - D0: the same PATCH in the chunk layout (one chunk per bucket and a
 *   manifest), as this project stored versions before the log layout: the
 *   same-run baseline of what the log layout changed.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { defaultCodecOptions } from '#domain/codec';
import type { NodeMap } from '#domain/nodes';
import { type ServiceSettings, WorkflowService } from '#domain/workflow-service';
import { DynamoDbStore } from '#store/dynamodb-store';
import { type BlobVersion, WholeBlobStore } from '#testkit/stores/whole-blob-store';
import { currentVersionItemKeys } from '#testkit/version-items';

export const strategyIds = ['A', 'B', 'BT', 'C', 'D', 'D0'] as const;
export type StrategyId = (typeof strategyIds)[number];

export const strategyLabels: Record<StrategyId, string> = {
  A: 'Argo-style: whole JSON per version + delete old',
  B: 'Argo-style, gzip: whole blob per version + delete old',
  BT: 'B′: gzip blob per version with expiresAt, no delete (TTL)',
  C: 'ours, full PUT (persist)',
  D: 'ours, PATCH (delta)',
  D0: 'ours before the log layout: PATCH, a chunk per bucket',
};

export interface StrategyRunner {
  readonly id: StrategyId;
  /** Stores the first version of a workflow. */
  create(uid: string, nodes: NodeMap): Promise<void>;
  /** One update: `state` is the whole map after the change, `set` the changed nodes. */
  update(uid: string, state: NodeMap, set: NodeMap): Promise<UpdateOutcome>;
  /** Reads the current node map. */
  hydrate(uid: string): Promise<NodeMap>;
  /** Tells the items the current version needs from the rest (garbage awaiting TTL or delete), by sort key. */
  liveItems(uid: string): Promise<(sortKey: string) => boolean>;
}

export interface UpdateOutcome {
  /** The version id the update produced (C and D must agree). */
  readonly version: string;
  /** Write units the service reported for itself (C and D), to compare with the meter. */
  readonly reportedWriteUnits?: number;
}

export function createRunner(
  id: StrategyId,
  documentClient: DynamoDBDocumentClient,
  tableName: string,
  settings: Partial<ServiceSettings> = {},
): StrategyRunner {
  if (id === 'A' || id === 'B' || id === 'BT') {
    const store = new WholeBlobStore(documentClient, tableName, {
      compression: id === 'A' ? 'none' : 'gzip',
      ...(id === 'BT' ? { deleteOldVersions: false, expiresAfterSeconds: 4 * 24 * 3600 } : {}),
    });
    const current = new Map<string, BlobVersion>();
    return {
      id,
      async create(uid, nodes) {
        current.set(uid, await store.save(uid, nodes));
      },
      async update(uid, state) {
        const version = await store.save(uid, state);
        current.set(uid, version);
        return { version: version.version };
      },
      hydrate: (uid) => store.hydrate(current.get(uid) as BlobVersion),
      async liveItems(uid) {
        const prefix = `B#${(current.get(uid) as BlobVersion).version}#`;
        return (sortKey) => sortKey.startsWith(prefix);
      },
    };
  }
  const store = new DynamoDbStore(documentClient, { tableName });
  const service = new WorkflowService(
    store,
    id === 'D0'
      ? { ...settings, codec: { ...defaultCodecOptions, ...settings.codec, layout: 'chunks' } }
      : settings,
  );
  return {
    id,
    async create(uid, nodes) {
      await service.persist({ uid, namespace: 'bench', name: uid, nodes });
    },
    async update(uid, state, set) {
      const result =
        id === 'C'
          ? await service.persist({ uid, namespace: 'bench', name: uid, nodes: state })
          : await service.patch({ uid, set });
      return { version: result.workflow.nodeStatusVersion, reportedWriteUnits: result.write.writeUnits };
    },
    hydrate: async (uid) => (await service.getWorkflow(uid)).nodes,
    async liveItems(uid) {
      if (!(await store.getRecord(uid))) return () => false;
      const { record, keys: needed } = await currentVersionItemKeys(store, uid);
      const keys = new Set(['RECORD', ...needed]);
      // The current version's history entry is what `GET .../versions` lists first (chunk layout).
      const history = `#${record.nodeStatusVersion}`;
      return (sortKey) => keys.has(sortKey) || (sortKey.startsWith('T#') && sortKey.endsWith(history));
    },
  };
}
