/**
 * `PATCH /v1/workflows/{uid}/nodes`: apply a delta (set and remove nodes).
 * Only the buckets holding changed nodes are read and rewritten. `If-Match`
 * is optional; with `?onConflict=reapply` a lost race re-applies the delta.
 */

import { metricNames } from '#contract/metrics';
import { httpHandler } from '#lambda/middleware';
import { recordWrite, timed } from '#lambda/observability';
import { uidOf, writeConditionsOf } from '#lambda/params';
import { etagHeader, json, writeBody } from '#lambda/responses';
import { nodeDeltaSchema, parseWith } from '#lambda/schemas';
import { type Wiring, wiring } from '#lambda/wiring';

export const makePatchNodes = ({ service, config }: Wiring) =>
  httpHandler(config, { jsonBody: true }, async (event) => {
    const uid = uidOf(event);
    const conditions = writeConditionsOf(event, { allowIfNoneMatch: false });
    const delta = parseWith(nodeDeltaSchema, event.body, 'request body');

    const result = await timed(metricNames.patchLatency, () => service.patch({ uid, ...delta }, conditions));
    recordWrite(result);

    return json(200, writeBody(result), etagHeader(result.workflow));
  });

export const handler = makePatchNodes(wiring());
