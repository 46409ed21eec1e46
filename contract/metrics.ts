/**
 * The custom metrics the handlers emit (Powertools Metrics, EMF) and the
 * dashboard and alarms read. One list, imported by both sides, so a renamed
 * metric cannot leave a dashboard graph or an alarm watching nothing.
 *
 * Plain data: no CDK, no Powertools import. The unit strings are the values of
 * Powertools' `MetricUnit` and of CloudWatch's `StandardUnit`.
 *
 * @example
 * import { metricNames, metricUnits } from '#contract/metrics';
 * metrics.addMetric(metricNames.persistLatency, metricUnits[metricNames.persistLatency], elapsedMs);
 */

/** Default CloudWatch namespace of the custom metrics (stack prop `metricsNamespace`). */
export const defaultMetricsNamespace = 'WorkflowOffload';

/**
 * Powertools service name. Powertools Metrics adds it as the `service`
 * dimension of every metric, so the dashboard and alarms select on
 * `service = workflow-offload`; a handler must not add other dimensions to
 * these metrics or the alarms stop seeing them.
 */
export const serviceName = 'workflow-offload';

/** Name of the one dimension every custom metric carries. */
export const serviceDimension = 'service';

export const metricNames = {
  /** Duration of a full persist (PUT), from request parsed to commit. */
  persistLatency: 'PersistLatency',
  /** Duration of a delta patch (PATCH and `Workflow Nodes Updated`). */
  patchLatency: 'PatchLatency',
  /** Duration of a hydrate (record, manifest, chunks). */
  hydrateLatency: 'HydrateLatency',
  /** Duration of a stop, conflict retries included. */
  stopLatency: 'StopLatency',
  /**
   * Commits that lost the compare-and-set on the workflow record to a
   * concurrent writer and were retried inside the same call (no `If-Match`,
   * a stop, a re-apply): the caller saw a success.
   */
  commitRetries: 'CommitRetries',
  /**
   * Requests answered 409 Conflict: a stale `If-Match` without re-apply,
   * `If-None-Match: *` on an existing workflow, a stop of a completed one.
   */
  conflictResponses: 'ConflictResponses',
  /** Re-apply attempts after a conflict (`onConflict=reapply`, stop). */
  reapplies: 'Reapplies',
  /** Uncompressed canonical size of the node status written. */
  rawBytes: 'RawBytes',
  /** Compressed size of the node status written. */
  storedBytes: 'StoredBytes',
  /** Chunks written because their content changed. */
  chunksWritten: 'ChunksWritten',
  /** Chunks reused by reference because their content did not change. */
  chunksReused: 'ChunksReused',
  /** DynamoDB write units a write consumed, from the sizes of the items written. */
  writeUnits: 'WriteUnits',
  /** A reader followed a pointer to an item that no longer exists (invariant 4). Must stay 0. */
  versionMissing: 'VersionMissing',
  /** Workflow leases the renewer extended in one run. */
  renewals: 'Renewals',
  /** Change events put on the bus (one per commit, stop, re-apply or delete; again on a redelivery). */
  changeEventsPublished: 'ChangeEventsPublished',
  /** Of those, events whose per-node changes were left out (too large, or a version gone). */
  changeEventsWithoutNodes: 'ChangeEventsWithoutNodes',
  /** The smallest remaining lease of any current version, seen by the renewer (seconds). */
  minRemainingLeaseSeconds: 'MinRemainingLeaseSeconds',
} as const;

export type MetricName = (typeof metricNames)[keyof typeof metricNames];

export type MetricUnitName = 'Milliseconds' | 'Count' | 'Bytes' | 'Seconds';

/** The unit each metric is emitted with. */
export const metricUnits = {
  PersistLatency: 'Milliseconds',
  PatchLatency: 'Milliseconds',
  HydrateLatency: 'Milliseconds',
  StopLatency: 'Milliseconds',
  CommitRetries: 'Count',
  ConflictResponses: 'Count',
  Reapplies: 'Count',
  RawBytes: 'Bytes',
  StoredBytes: 'Bytes',
  ChunksWritten: 'Count',
  ChunksReused: 'Count',
  WriteUnits: 'Count',
  VersionMissing: 'Count',
  Renewals: 'Count',
  ChangeEventsPublished: 'Count',
  ChangeEventsWithoutNodes: 'Count',
  MinRemainingLeaseSeconds: 'Seconds',
} as const satisfies Record<MetricName, MetricUnitName>;

/** The four latency metrics, one per operation, graphed as p50 and p99. */
export const latencyMetricNames = [
  metricNames.persistLatency,
  metricNames.patchLatency,
  metricNames.hydrateLatency,
  metricNames.stopLatency,
] as const satisfies readonly MetricName[];
