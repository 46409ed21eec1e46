/**
 * `PUT /v1/workflows/{uid}`: persist the whole node map (Argo's `Save`).
 * `If-Match` = compare-and-set, `If-None-Match: *` = create only,
 * `?onConflict=reapply` with `baseVersion` = re-apply on a lost race.
 * 201 when created, 200 when updated; `ETag` is the new resourceVersion.
 */

import { metricNames } from '#contract/metrics';
import { httpHandler } from '#lambda/middleware';
import { recordWrite, timed } from '#lambda/observability';
import { uidOf, writeConditionsOf } from '#lambda/params';
import { etagHeader, json, writeBody } from '#lambda/responses';
import { parseWith, putWorkflowBodySchema } from '#lambda/schemas';
import { type Wiring, wiring } from '#lambda/wiring';

export const makePutWorkflow = ({ service, config }: Wiring) =>
  httpHandler(config, { jsonBody: true }, async (event) => {
    const uid = uidOf(event);
    const conditions = writeConditionsOf(event, { allowIfNoneMatch: true });
    const body = parseWith(putWorkflowBodySchema, event.body, 'request body');

    const result = await timed(metricNames.persistLatency, () =>
      service.persist({ uid, ...body }, conditions),
    );
    recordWrite(result);

    return json(result.created ? 201 : 200, writeBody(result), etagHeader(result.workflow));
  });

export const handler = makePutWorkflow(wiring());
