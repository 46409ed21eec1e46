/**
 * `POST /v1/workflows/{uid}/uploads/{uploadId}/commit`: makes the uploaded
 * map the workflow's next version in one compare-and-set, with the
 * conditions of a PUT (`If-Match`, `If-None-Match: *`, `?onConflict=reapply`
 * with `baseVersion`). 201 when it created the workflow, 200 otherwise;
 * committing again answers the same result and writes nothing.
 */
import { metricNames } from '#contract/metrics';
import { httpHandler } from '#lambda/middleware';
import { recordWrite, timed } from '#lambda/observability';
import { uidOf, uploadIdOf, writeConditionsOf } from '#lambda/params';
import { etagHeader, json, writeBody } from '#lambda/responses';
import { commitUploadBodySchema, parseWith } from '#lambda/schemas';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeCommitUpload = ({ service, config }: Wiring) =>
  httpHandler(config, { jsonBody: true }, async (event) => {
    const uid = uidOf(event);
    const uploadId = uploadIdOf(event);
    const conditions = writeConditionsOf(event, { allowIfNoneMatch: true });
    const body = parseWith(commitUploadBodySchema, event.body, 'request body');

    const result = await timed(metricNames.persistLatency, () =>
      service.commitUpload(uid, uploadId, body, conditions),
    );
    recordWrite(result);

    return json(result.created ? 201 : 200, writeBody(result), etagHeader(result.workflow));
  });

export const handler = makeCommitUpload(wiring());
