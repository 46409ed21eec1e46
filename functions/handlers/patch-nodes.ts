/**
 * `PATCH /v1/workflows/{uid}/nodes`: apply a delta (set and remove nodes).
 * Only the buckets holding changed nodes are read and rewritten. `If-Match`
 * is optional; with `?onConflict=reapply` a lost race re-applies the delta.
 */
import { httpHandler } from '#http/middleware';
import { recordWrite, timed } from '#http/observability';
import { uidOf, writeConditionsOf } from '#http/params';
import { etagHeader, json, writeBody } from '#http/responses';
import { nodeDeltaSchema, parseWith } from '#http/schemas';
import { metricNames } from '#infrastructure/metric-names';
import { serviceFromEnvironment } from '#store/clients';

const { service } = serviceFromEnvironment();

export const handler = httpHandler({ jsonBody: true }, async (event) => {
  const uid = uidOf(event);
  const conditions = writeConditionsOf(event, { allowIfNoneMatch: false });
  const delta = parseWith(nodeDeltaSchema, event.body, 'request body');

  const result = await timed(metricNames.patchLatency, () => service.patch({ uid, ...delta }, conditions));
  recordWrite(result);

  return json(200, writeBody(result), etagHeader(result.workflow));
});
