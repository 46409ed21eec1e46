/**
 * The one description of what the service is made of: the table, the HTTP
 * routes, the event rules and the schedules. The CDK stack and the local
 * runtime (`npm start`) both read this module, so the deployed service and the
 * local one cannot drift apart.
 *
 * Nothing here imports CDK or the AWS SDK: it is plain data.
 */

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
 * stack grants these and nothing else (least privilege), and a test runs
 * every handler against DynamoDB Local to check it needs no more.
 */
export interface TableGrants {
  /** On the records table itself. */
  readonly records?: readonly TableAction[];
  /** Indexes of the records table the handler queries (Query only). */
  readonly indexes?: readonly IndexName[];
  /** On the versions table (manifests, history, chunks). */
  readonly versions?: readonly TableAction[];
}

/** One Lambda handler: its source file under `functions/handlers/` and its needs. */
export interface HandlerDescription {
  /** Stable logical name, used for the function id, log group and metrics. */
  readonly name: string;
  /** File name under `functions/handlers/`, without extension. */
  readonly file: string;
  /**
   * What the handler does to the tables. Only the delete handlers hold
   * `DeleteItem`, and only on the records table (invariant 5: the record
   * only; its data expires by TTL).
   */
  readonly table: TableGrants;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
}

/** True when the handler changes no item. */
export const isReadOnly = (handler: HandlerDescription): boolean =>
  ![...(handler.table.records ?? []), ...(handler.table.versions ?? [])].some((action) =>
    writeTableActions.includes(action),
  );

/** True when the handler may delete workflow records. */
export const deletesRecords = (handler: HandlerDescription): boolean =>
  (handler.table.records ?? []).includes('DeleteItem');

export interface RouteDescription {
  readonly method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE';
  /** API Gateway v2 route path, with `{param}` placeholders. */
  readonly path: string;
  readonly handler: HandlerDescription;
}

export interface EventRuleDescription {
  /** EventBridge `detail-type` the rule matches. */
  readonly detailType: string;
  readonly handler: HandlerDescription;
}

export interface ScheduleDescription {
  readonly name: string;
  readonly handler: HandlerDescription;
  /** Interval as a fraction of the retention period R (see renew). */
  readonly everyRetentionFraction: number;
}

const handler = (
  name: string,
  file: string,
  table: TableGrants,
  memoryMb = 1024,
  timeoutSeconds = 29,
): HandlerDescription => ({ name, file, table, memoryMb, timeoutSeconds });

/**
 * What each kind of operation sends (see `functions/store/`):
 * - a hydrate reads the record, a manifest (or two, for a delta) and chunks
 *   in batches;
 * - a write hydrates what it changes, puts chunks, the manifest and its
 *   history entry in batches, puts a delta manifest conditionally, renews
 *   leases with conditional updates, and commits the record with a
 *   conditional put;
 * - the renewer finds short leases on the lease index and extends them.
 */
const hydrates: TableGrants = { records: ['GetItem'], versions: ['GetItem', 'BatchGetItem'] };
const writes: TableGrants = {
  records: ['GetItem', 'PutItem'],
  versions: ['GetItem', 'BatchGetItem', 'PutItem', 'BatchWriteItem', 'UpdateItem'],
};
const deletesRecord: TableGrants = { records: ['DeleteItem'] };

export const handlers = {
  health: handler('Health', 'get-health', {}, 256, 5),
  putWorkflow: handler('PutWorkflow', 'put-workflow', writes, 1769),
  patchNodes: handler('PatchNodes', 'patch-nodes', writes),
  getWorkflow: handler('GetWorkflow', 'get-workflow', hydrates, 1769),
  listVersions: handler('ListVersions', 'list-versions', { records: ['GetItem'], versions: ['Query'] }, 512),
  getVersion: handler('GetVersion', 'get-version', hydrates, 1769),
  stopWorkflow: handler('StopWorkflow', 'stop-workflow', writes, 1769),
  deleteWorkflow: handler('DeleteWorkflow', 'delete-workflow', deletesRecord, 256),
  listWorkflows: handler('ListWorkflows', 'list-workflows', { indexes: ['byNamespace'] }, 512),
  onNodesUpdated: handler('OnNodesUpdated', 'on-nodes-updated', writes),
  onStopRequested: handler('OnStopRequested', 'on-stop-requested', writes, 1769),
  onWorkflowDeleted: handler('OnWorkflowDeleted', 'on-workflow-deleted', deletesRecord, 256),
  renew: handler(
    'Renew',
    'renew-leases',
    { records: ['GetItem', 'UpdateItem'], indexes: ['byLease'], versions: ['GetItem', 'UpdateItem'] },
    1024,
    300,
  ),
} as const satisfies Record<string, HandlerDescription>;

/** The HTTP API contract (docs/api.md). Order matters only for readability. */
export const routes: readonly RouteDescription[] = [
  { method: 'GET', path: '/healthz', handler: handlers.health },
  { method: 'PUT', path: '/v1/workflows/{uid}', handler: handlers.putWorkflow },
  { method: 'PATCH', path: '/v1/workflows/{uid}/nodes', handler: handlers.patchNodes },
  { method: 'GET', path: '/v1/workflows/{uid}', handler: handlers.getWorkflow },
  { method: 'GET', path: '/v1/workflows/{uid}/versions', handler: handlers.listVersions },
  { method: 'GET', path: '/v1/workflows/{uid}/versions/{version}', handler: handlers.getVersion },
  { method: 'POST', path: '/v1/workflows/{uid}/stop', handler: handlers.stopWorkflow },
  { method: 'DELETE', path: '/v1/workflows/{uid}', handler: handlers.deleteWorkflow },
  { method: 'GET', path: '/v1/namespaces/{namespace}/workflows', handler: handlers.listWorkflows },
];

/**
 * The `source` of the events the service itself publishes, and a good choice
 * for a producer that has no name of its own. Rules do not require it: they
 * route by `detail-type`, from the sources {@link acceptedEventSources} allows.
 */
export const eventSource = 'workflow-offload';

/**
 * The `source`s the event rules accept: `undefined` (the default) accepts any
 * sender on the service's bus, whose resource policy (who may `PutEvents`) is
 * the access boundary; a `source` string proves nothing, since any sender can
 * set it. A list narrows the rules to those sources, for a shared bus.
 * Deployed: stack prop `acceptedEventSources` (env `WFO_ACCEPTED_EVENT_SOURCES`);
 * `npm start`: env `WFO_ACCEPTED_EVENT_SOURCES`.
 */
export type AcceptedEventSources = readonly string[] | undefined;

/** EventBridge's own bound on `source`. */
const maxEventSourceLength = 256;

/**
 * Parses `WFO_ACCEPTED_EVENT_SOURCES`: a comma-separated list of sources;
 * unset or blank means any source. Throws a message naming the bad entry.
 *
 * @example
 * parseAcceptedEventSources('argo.workflows, workflow-offload') // ['argo.workflows', 'workflow-offload']
 * parseAcceptedEventSources(undefined) // undefined: any source
 */
export function parseAcceptedEventSources(text: string | undefined): AcceptedEventSources {
  if (text === undefined || text.trim() === '') return undefined;
  const sources = text.split(',').map((source) => source.trim());
  for (const source of sources) {
    if (source === '' || source.length > maxEventSourceLength || /\s/.test(source)) {
      throw new Error(
        `WFO_ACCEPTED_EVENT_SOURCES '${text}': each source must be 1-${maxEventSourceLength} characters without spaces, separated by commas (leave it unset to accept any source)`,
      );
    }
  }
  return [...new Set(sources)];
}

/** True when an event with this source and detail-type goes to `rule`'s handler. */
export const ruleMatches = (
  rule: EventRuleDescription,
  event: { readonly source: string; readonly detailType: string },
  acceptedSources: AcceptedEventSources,
): boolean =>
  rule.detailType === event.detailType &&
  (acceptedSources === undefined || acceptedSources.includes(event.source));

/** Event rules (docs/api.md): detail-type to handler. */
export const eventRules: readonly EventRuleDescription[] = [
  { detailType: 'Workflow Nodes Updated', handler: handlers.onNodesUpdated },
  { detailType: 'Workflow Stop Requested', handler: handlers.onStopRequested },
  { detailType: 'Workflow Deleted', handler: handlers.onWorkflowDeleted },
];

/**
 * The renewer runs at a quarter of R: a lease is renewed once it falls below
 * 1.5 R, so it never falls below 1.25 R between two runs (see docs/architecture.md).
 */
export const schedules: readonly ScheduleDescription[] = [
  { name: 'RenewLeases', handler: handlers.renew, everyRetentionFraction: 0.25 },
];

/** Number of partitions of the lease index; spreads renew queries and writes. */
export const leaseShardCount = 16;

/**
 * The records table: one item per workflow (its record), the commit point.
 * No TTL: a record lives until the workflow is deleted. Its two sparse
 * indexes list a namespace and find the leases the renewer must extend.
 */
export const table = {
  partitionKey: 'pk',
  sortKey: 'sk',
  indexes: {
    /** Lists workflows of a namespace, by name then uid. */
    byNamespace: {
      indexName: 'byNamespace',
      partitionKey: 'namespaceKey',
      sortKey: 'namespaceSort',
      nonKeyAttributes: [
        'uid',
        'namespace',
        'name',
        'phase',
        'message',
        'shutdown',
        'resourceVersion',
        'nodeStatusVersion',
        'nodeCount',
        'createdAt',
        'updatedAt',
      ],
    },
    /** Finds the workflows whose current version's lease runs short, without a scan. */
    byLease: {
      indexName: 'byLease',
      partitionKey: 'leaseShard',
      sortKey: 'leaseExpiresAt',
      nonKeyAttributes: ['uid', 'nodeStatusVersion'],
    },
  },
} as const;

/** The name of an index of the records table. */
export type IndexName = keyof typeof table.indexes;

/**
 * The versions table: immutable manifests, history entries and chunks, each
 * with `expiresAt`, removed by DynamoDB's TTL. It has no index, so no item
 * here ever needs an index key. (Kept apart from the records table because
 * DynamoDB Local's TTL job builds delete keys from every key attribute of a
 * table, index keys included, and stops on items without them; see
 * docs/architecture.md.)
 */
export const versionTable = {
  partitionKey: 'pk',
  sortKey: 'sk',
  timeToLiveAttribute: 'expiresAt',
  /** Default name: the records table's name plus this suffix. */
  nameSuffix: '-versions',
} as const;

/** The versions table's default name for a records table name. */
export const versionTableNameFor = (recordsTableName: string): string =>
  `${recordsTableName}${versionTable.nameSuffix}`;

/** Attribute types of the key attributes, for CreateTable and TableV2. */
export const keyAttributeTypes = {
  pk: 'S',
  sk: 'S',
  namespaceKey: 'S',
  namespaceSort: 'S',
  leaseShard: 'S',
  leaseExpiresAt: 'N',
} as const satisfies Record<string, 'S' | 'N'>;
