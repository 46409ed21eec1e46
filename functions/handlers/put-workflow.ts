/**
 * `PUT /v1/workflows/{uid}`: persist the whole node map (Argo's `Save`).
 * `If-Match` = compare-and-set, `If-None-Match: *` = create only,
 * `?onConflict=reapply` with `baseVersion` = re-apply on a lost race.
 * 201 when created, 200 when updated; `ETag` is the new resourceVersion.
 */
import { httpHandler } from '#http/middleware';
import { recordWrite, timed } from '#http/observability';
import { uidOf, writeConditionsOf } from '#http/params';
import { etagHeader, json, writeBody } from '#http/responses';
import { parseWith, putWorkflowBodySchema } from '#http/schemas';
import { metricNames } from '#infrastructure/metric-names';
import { serviceFromEnvironment } from '#store/clients';

const { service } = serviceFromEnvironment();

export const handler = httpHandler({ jsonBody: true }, async (event) => {
  const uid = uidOf(event);
  const conditions = writeConditionsOf(event, { allowIfNoneMatch: true });
  const body = parseWith(putWorkflowBodySchema, event.body, 'request body');

  const result = await timed(metricNames.persistLatency, () => service.persist({ uid, ...body }, conditions));
  recordWrite(result);

  return json(result.created ? 201 : 200, writeBody(result), etagHeader(result.workflow));
});
