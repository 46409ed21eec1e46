/**
 * The service's contract as plain data: its handlers, the HTTP routes, the
 * event rules and the schedules. The CDK stack, the local runtime
 * (`npm start`) and the tests all read this module, so the deployed service
 * and the local one cannot drift apart; docs/api.md documents it.
 *
 * Nothing here imports CDK, the AWS SDK or the service's code.
 */

/** One Lambda handler: its stable name and its source file. */
export interface HandlerDescription {
  /** Stable logical name, used for the function id, log group and deployment settings. */
  readonly name: string;
  /** File name under `functions/handlers/`, without extension. */
  readonly file: string;
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

const handler = (name: string, file: string): HandlerDescription => ({ name, file });

export const handlers = {
  health: handler('Health', 'get-health'),
  putWorkflow: handler('PutWorkflow', 'put-workflow'),
  patchNodes: handler('PatchNodes', 'patch-nodes'),
  getWorkflow: handler('GetWorkflow', 'get-workflow'),
  listVersions: handler('ListVersions', 'list-versions'),
  getVersion: handler('GetVersion', 'get-version'),
  stopWorkflow: handler('StopWorkflow', 'stop-workflow'),
  deleteWorkflow: handler('DeleteWorkflow', 'delete-workflow'),
  listWorkflows: handler('ListWorkflows', 'list-workflows'),
  onNodesUpdated: handler('OnNodesUpdated', 'on-nodes-updated'),
  onStopRequested: handler('OnStopRequested', 'on-stop-requested'),
  onWorkflowDeleted: handler('OnWorkflowDeleted', 'on-workflow-deleted'),
  renew: handler('Renew', 'renew-leases'),
  readNodes: handler('ReadNodes', 'read-nodes'),
  beginUpload: handler('BeginUpload', 'begin-upload'),
  putUploadPart: handler('PutUploadPart', 'put-upload-part'),
  commitUpload: handler('CommitUpload', 'commit-upload'),
  diffVersions: handler('DiffVersions', 'diff-versions'),
  publishChanges: handler('PublishChanges', 'publish-changes'),
} as const satisfies Record<string, HandlerDescription>;

/** The handler names, as the deployment settings key them. */
export type HandlerName = (typeof handlers)[keyof typeof handlers]['name'];

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
  // The sync protocol (docs/protocol.md): paged reads, reads since a version, staged uploads.
  { method: 'GET', path: '/v1/workflows/{uid}/nodes', handler: handlers.readNodes },
  { method: 'POST', path: '/v1/workflows/{uid}/uploads', handler: handlers.beginUpload },
  {
    method: 'PUT',
    path: '/v1/workflows/{uid}/uploads/{uploadId}/parts/{partNumber}',
    handler: handlers.putUploadPart,
  },
  { method: 'POST', path: '/v1/workflows/{uid}/uploads/{uploadId}/commit', handler: handlers.commitUpload },
  { method: 'GET', path: '/v1/workflows/{uid}/diff', handler: handlers.diffVersions },
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
 * The event the service publishes after each commit (docs/api.md, "Change
 * events"): what changed, node by node, from the version before to the one
 * after. Its detail-type matches none of {@link eventRules}, so the service
 * never consumes its own events; subscribers match it with a rule on the
 * same bus.
 */
export const changeEvent = {
  source: eventSource,
  detailType: 'Workflow Nodes Changed',
  /**
   * Largest detail the event carries inline. EventBridge takes entries of up
   * to 256 KB (source, detail-type, detail and resources together); above
   * this the per-node changes are left out and `nodesOmitted` says to read
   * them with a diff.
   */
  maxDetailBytes: 200 * 1024,
} as const;

/** A change stream of a table and the handler that consumes it. */
export interface StreamDescription {
  /** Which of the service's tables; only the records table has a stream. */
  readonly table: 'records';
  readonly handler: HandlerDescription;
  /** Records per invocation at most. */
  readonly batchSize: number;
  /** Retries of a failing record before it goes to the dead-letter queue. */
  readonly retryAttempts: number;
}

/**
 * DynamoDB Streams on the records table: every commit, stop and delete
 * changes the record, and the stream handler turns each change into a
 * {@link changeEvent}. Deployed, a Lambda event source mapping reads it;
 * `npm start` polls DynamoDB Local's stream and calls the same handler.
 */
export const streams: readonly StreamDescription[] = [
  { table: 'records', handler: handlers.publishChanges, batchSize: 25, retryAttempts: 10 },
];

/**
 * The renewer runs at a quarter of R: a lease is renewed once it falls below
 * 1.5 R, so it never falls below 1.25 R between two runs (see docs/architecture.md).
 */
export const schedules: readonly ScheduleDescription[] = [
  { name: 'RenewLeases', handler: handlers.renew, everyRetentionFraction: 0.25 },
];
