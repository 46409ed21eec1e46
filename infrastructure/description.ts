/**
 * The one description of what the service is made of: the table, the HTTP
 * routes, the event rules and the schedules. The CDK stack and the local
 * runtime (`npm start`) both read this module, so the deployed service and the
 * local one cannot drift apart.
 *
 * Nothing here imports CDK or the AWS SDK: it is plain data.
 */

/** Access a handler needs to the table; drives least-privilege grants. */
export type TableAccess = 'read' | 'readWrite';

/** One Lambda handler: its source file under `functions/handlers/` and its needs. */
export interface HandlerDescription {
  /** Stable logical name, used for the function id, log group and metrics. */
  readonly name: string;
  /** File name under `functions/handlers/`, without extension. */
  readonly file: string;
  readonly tableAccess: TableAccess;
  /**
   * The handler deletes workflow records (invariant 5: the record only, its
   * data expires). Only these handlers are granted `dynamodb:DeleteItem`.
   */
  readonly deletesRecords?: boolean;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
}

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
  tableAccess: TableAccess,
  memoryMb = 1024,
  timeoutSeconds = 29,
): HandlerDescription => ({ name, file, tableAccess, memoryMb, timeoutSeconds });

export const handlers = {
  health: handler('Health', 'get-health', 'read', 256, 5),
  putWorkflow: handler('PutWorkflow', 'put-workflow', 'readWrite', 1769),
  patchNodes: handler('PatchNodes', 'patch-nodes', 'readWrite'),
  getWorkflow: handler('GetWorkflow', 'get-workflow', 'read', 1769),
  listVersions: handler('ListVersions', 'list-versions', 'read', 512),
  getVersion: handler('GetVersion', 'get-version', 'read', 1769),
  stopWorkflow: handler('StopWorkflow', 'stop-workflow', 'readWrite', 1769),
  deleteWorkflow: { ...handler('DeleteWorkflow', 'delete-workflow', 'readWrite', 256), deletesRecords: true },
  listWorkflows: handler('ListWorkflows', 'list-workflows', 'read', 512),
  onNodesUpdated: handler('OnNodesUpdated', 'on-nodes-updated', 'readWrite'),
  onStopRequested: handler('OnStopRequested', 'on-stop-requested', 'readWrite', 1769),
  onWorkflowDeleted: {
    ...handler('OnWorkflowDeleted', 'on-workflow-deleted', 'readWrite', 256),
    deletesRecords: true,
  },
  renew: handler('Renew', 'renew-leases', 'readWrite', 1024, 300),
} as const satisfies Record<string, HandlerDescription>;

/** The HTTP API contract (design section 5). Order matters only for readability. */
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

/** Source every workflow event carries; rules match it together with the detail-type. */
export const eventSource = 'workflow-offload';

/** Event rules (design section 6): detail-type to handler. */
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
