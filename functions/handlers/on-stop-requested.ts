/**
 * EventBridge `Workflow Stop Requested`: `{uid, strategy, message?}`.
 *
 * Idempotent under at-least-once delivery: once a workflow is stopped, a
 * second stop finds `shutdown` set and writes nothing. A stop for a workflow
 * that already completed has nothing to do (the domain's 409) and is dropped.
 */

import { metricNames } from '#contract/metrics';
import { eventHandler } from '#lambda/middleware';
import { addMetric, timed } from '#lambda/observability';
import { stopRequestedDetailSchema } from '#lambda/schemas';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeOnStopRequested = ({ service }: Wiring) =>
  eventHandler(stopRequestedDetailSchema, async (request) => {
    const result = await timed(metricNames.stopLatency, () => service.stop(request));
    addMetric(metricNames.commitRetries, result.conflicts);
    addMetric(metricNames.reapplies, result.conflicts);

    return { outcome: result.changed ? 'applied' : 'unchanged' };
  });

export const handler = makeOnStopRequested(wiring());
