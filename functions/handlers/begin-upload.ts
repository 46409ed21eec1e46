/**
 * `POST /v1/workflows/{uid}/uploads`: begins a staged upload of a map too big
 * for one request. Answers the bucket count the map's `nodeCount` fixes and,
 * when the current version has that many buckets, its chunk id per bucket:
 * the client then sends only the buckets whose chunk id differs. Nothing is
 * visible until the commit; an upload never committed expires.
 */

import { requestPartBytes } from '#contract/limits';
import { httpHandler } from '#lambda/middleware';
import { uidOf } from '#lambda/params';
import { json } from '#lambda/responses';
import { beginUploadBodySchema, parseWith } from '#lambda/schemas';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeBeginUpload = ({ service, config }: Wiring) =>
  httpHandler(config, { jsonBody: true }, async (event) => {
    const uid = uidOf(event);
    const body = parseWith(beginUploadBodySchema, event.body, 'request body');

    const { upload, baseChunkIds } = await service.beginUpload({ uid, ...body });

    return json(201, {
      uid,
      uploadId: upload.uploadId,
      bucketCount: upload.bucketCount,
      expiresAt: new Date(upload.expiresAt * 1000).toISOString(),
      partBytes: requestPartBytes,
      ...(upload.baseVersion === undefined ? {} : { baseVersion: upload.baseVersion, baseChunkIds }),
    });
  });

export const handler = makeBeginUpload(wiring());
