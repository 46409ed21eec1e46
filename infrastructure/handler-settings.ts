/**
 * Deployment settings of each handler: memory, timeout, and exactly the
 * DynamoDB actions its code sends (least privilege). The stack reads them to
 * build each function and its role; the local runtime reads the timeouts, so
 * a handler that would time out deployed times out locally too.
 *
 * Plain data: no CDK import.
 */
import { type HandlerDescription, type HandlerName, handlers } from '#contract/api';
import type { IndexName } from '#contract/tables';

/** A DynamoDB data-plane action, as the store sends it (`dynamodb:<action>` in IAM). */
export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'PutItem'
  | 'BatchWriteItem'
  | 'UpdateItem'
  | 'DeleteItem';

/** The actions that change an item. */
export const writeTableActions: readonly TableAction[] = [
  'PutItem',
  'BatchWriteItem',
  'UpdateItem',
  'DeleteItem',
];

/**
 * Exactly the DynamoDB actions a handler's code sends, per resource: the
 * stack grants these and nothing else, and a test runs every handler against
 * DynamoDB Local to check it needs no more.
 */
export interface TableGrants {
  /** On the records table itself. */
  readonly records?: readonly TableAction[];
  /** Indexes of the records table the handler queries (Query only). */
  readonly indexes?: readonly IndexName[];
  /** On the versions table (manifests, history, chunks). */
  readonly versions?: readonly TableAction[];
}

export interface HandlerSettings {
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /**
   * What the handler does to the tables. Only the delete handlers hold
   * `DeleteItem`, and only on the records table (invariant 5: the record
   * only; its data expires by TTL).
   */
  readonly table: TableGrants;
  /** Reads the records table's stream (DescribeStream, GetShardIterator, GetRecords, ListStreams). */
  readonly readsStream?: boolean;
  /** Puts events on the service's bus (`events:PutEvents`, that bus only). */
  readonly publishesEvents?: boolean;
}

/**
 * What each kind of operation sends (see `functions/store/`):
 * - a hydrate reads the record, then a version: in the log layout its chain
 *   of entries (one Query over a key range; a version looked up by id, one
 *   Query of its lookups), in the chunk layout a manifest (or two, for a
 *   delta); then pages or chunks in batches;
 * - a write hydrates what it changes, puts a log entry and its lookup (or
 *   chunks, the manifest and its history entry) in batches, puts a delta
 *   manifest conditionally, renews leases with conditional updates, and
 *   commits the record with a conditional put;
 * - the renewer finds short leases on the lease index and extends them.
 */
const hydrates: TableGrants = { records: ['GetItem'], versions: ['GetItem', 'BatchGetItem', 'Query'] };
const writes: TableGrants = {
  records: ['GetItem', 'PutItem'],
  versions: ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'BatchWriteItem', 'UpdateItem'],
};
const deletesRecord: TableGrants = { records: ['DeleteItem'] };

/** HTTP handlers stop a second short of API Gateway's 30 s integration timeout. */
const httpTimeoutSeconds = 29;

const settings = (table: TableGrants, memoryMb = 1024, timeoutSeconds = httpTimeoutSeconds) => ({
  memoryMb,
  timeoutSeconds,
  table,
});

export const handlerSettings: Readonly<Record<HandlerName, HandlerSettings>> = {
  Health: settings({}, 256, 5),
  PutWorkflow: settings(writes, 1769),
  PatchNodes: settings(writes),
  GetWorkflow: settings(hydrates, 1769),
  ListVersions: settings({ records: ['GetItem'], versions: ['Query'] }, 512),
  GetVersion: settings(hydrates, 1769),
  StopWorkflow: settings(writes, 1769),
  DeleteWorkflow: settings(deletesRecord, 256),
  ListWorkflows: settings({ records: ['BatchGetItem'], indexes: ['byNamespace'] }, 512),
  OnNodesUpdated: settings(writes),
  OnStopRequested: settings(writes, 1769),
  OnWorkflowDeleted: settings(deletesRecord, 256),
  ReadNodes: settings(hydrates, 1769),
  DiffVersions: settings(hydrates, 1769),
  BeginUpload: settings({ records: ['GetItem'], versions: ['GetItem', 'Query', 'PutItem'] }, 512),
  PutUploadPart: settings({ versions: ['GetItem', 'BatchWriteItem', 'PutItem'] }, 1769),
  CommitUpload: settings(
    {
      records: ['GetItem', 'PutItem'],
      versions: ['GetItem', 'BatchGetItem', 'PutItem', 'BatchWriteItem', 'UpdateItem', 'Query'],
    },
    1769,
  ),
  // Describes each change as a diff does, as of the stream's record: the versions, then what differs.
  PublishChanges: {
    ...settings({ versions: ['GetItem', 'BatchGetItem', 'Query'] }, 1024, 60),
    readsStream: true,
    publishesEvents: true,
  },
  Renew: settings(
    {
      records: ['GetItem', 'UpdateItem'],
      indexes: ['byLease'],
      versions: ['GetItem', 'Query', 'UpdateItem'],
    },
    1024,
    300,
  ),
};

/** The settings of one handler of the contract. */
export function settingsOf(handler: HandlerDescription): HandlerSettings {
  const found = handlerSettings[handler.name as HandlerName];
  if (!found) throw new Error(`no deployment settings for handler '${handler.name}'`);
  return found;
}

/** True when the handler changes no item. */
export const isReadOnly = (handler: HandlerDescription): boolean => {
  const { table } = settingsOf(handler);
  return ![...(table.records ?? []), ...(table.versions ?? [])].some((action) =>
    writeTableActions.includes(action),
  );
};

/** True when the handler may delete workflow records. */
export const deletesRecords = (handler: HandlerDescription): boolean =>
  (settingsOf(handler).table.records ?? []).includes('DeleteItem');

/** Every handler of the contract, for the stack to build. */
export const allHandlers: readonly HandlerDescription[] = Object.values(handlers);
