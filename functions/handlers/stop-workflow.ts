/**
 * `POST /v1/workflows/{uid}/stop`: set `shutdown`, fail every unfinished
 * node and the workflow. Retries through concurrent updates; idempotent once
 * stopped (200 again, nothing written); 409 if the workflow already completed.
 */
import { httpHandler } from '#http/middleware';
import { addMetric, timed } from '#http/observability';
import { uidOf } from '#http/params';
import { etagHeader, json, workflowBody } from '#http/responses';
import { parseWith, stopBodySchema } from '#http/schemas';
import { metricNames } from '#infrastructure/metric-names';
import { serviceFromEnvironment } from '#store/clients';

const { service } = serviceFromEnvironment();

export const handler = httpHandler({ jsonBody: true }, async (event) => {
  const uid = uidOf(event);
  const body = parseWith(stopBodySchema, event.body, 'request body');

  const result = await timed(metricNames.stopLatency, () => service.stop({ uid, ...body }));
  addMetric(metricNames.commitRetries, result.conflicts);
  addMetric(metricNames.reapplies, result.conflicts);

  return json(200, workflowBody(result.workflow), etagHeader(result.workflow));
});
