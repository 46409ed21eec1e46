/** `GET /v1/workflows/{uid}`: the hydrated workflow (record, manifest, chunks), with its `ETag`. */
import { httpHandler } from '#http/middleware';
import { timed } from '#http/observability';
import { uidOf } from '#http/params';
import { etagHeader, json, workflowBody } from '#http/responses';
import { metricNames } from '#infrastructure/metric-names';
import { serviceFromEnvironment } from '#store/clients';

const { service } = serviceFromEnvironment();

export const handler = httpHandler({}, async (event) => {
  const uid = uidOf(event);

  const workflow = await timed(metricNames.hydrateLatency, () => service.getWorkflow(uid));

  return json(200, workflowBody(workflow), etagHeader(workflow));
});
