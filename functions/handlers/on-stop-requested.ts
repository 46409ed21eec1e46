/**
 * EventBridge `Workflow Stop Requested`: `{uid, strategy, message?}`.
 *
 * Idempotent under at-least-once delivery: once a workflow is stopped, a
 * second stop finds `shutdown` set and writes nothing. A stop for a workflow
 * that already completed has nothing to do (the domain's 409) and is dropped.
 */
import { eventHandler } from '#http/middleware';
import { addMetric, timed } from '#http/observability';
import { stopRequestedDetailSchema } from '#http/schemas';
import { metricNames } from '#infrastructure/metric-names';
import { serviceFromEnvironment } from '#store/clients';

const { service } = serviceFromEnvironment();

export const handler = eventHandler(stopRequestedDetailSchema, async (request) => {
  const result = await timed(metricNames.stopLatency, () => service.stop(request));
  addMetric(metricNames.commitRetries, result.conflicts);
  addMetric(metricNames.reapplies, result.conflicts);

  return { outcome: result.changed ? 'applied' : 'unchanged' };
});
