/**
 * `POST /v1/workflows/{uid}/stop`: set `shutdown`, fail every unfinished
 * node and the workflow. Retries through concurrent updates; idempotent once
 * stopped (200 again, nothing written); 409 if the workflow already completed.
 */

import { metricNames } from '#contract/metrics';
import { httpHandler } from '#lambda/middleware';
import { addMetric, timed } from '#lambda/observability';
import { uidOf } from '#lambda/params';
import { etagHeader, json, workflowBody } from '#lambda/responses';
import { parseWith, stopBodySchema } from '#lambda/schemas';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeStopWorkflow = ({ service, config }: Wiring) =>
  httpHandler(config, { jsonBody: true }, async (event) => {
    const uid = uidOf(event);
    const body = parseWith(stopBodySchema, event.body, 'request body');

    const result = await timed(metricNames.stopLatency, () => service.stop({ uid, ...body }));
    addMetric(metricNames.commitRetries, result.conflicts);
    addMetric(metricNames.reapplies, result.conflicts);

    return json(200, workflowBody(result.workflow), etagHeader(result.workflow));
  });

export const handler = makeStopWorkflow(wiring());
