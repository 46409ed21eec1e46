/** `GET /v1/workflows/{uid}`: the hydrated workflow (record, manifest, chunks), with its `ETag`. */

import { metricNames } from '#contract/metrics';
import { httpHandler } from '#lambda/middleware';
import { timed } from '#lambda/observability';
import { uidOf } from '#lambda/params';
import { etagHeader, json, workflowBody } from '#lambda/responses';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeGetWorkflow = ({ service, config }: Wiring) =>
  httpHandler(config, {}, async (event) => {
    const uid = uidOf(event);

    const workflow = await timed(metricNames.hydrateLatency, () => service.getWorkflow(uid));

    return json(200, workflowBody(workflow), etagHeader(workflow));
  });

export const handler = makeGetWorkflow(wiring());
