/**
 * `PUT /v1/workflows/{uid}/uploads/{uploadId}/parts/{partNumber}`: whole
 * buckets of an upload (`{"buckets": {"<index>": {id: node}}}`), stored at
 * once as chunks that nothing refers to until the commit. Sending a part
 * number again replaces that part.
 */
import { httpHandler } from '#lambda/middleware';
import { partNumberOf, uidOf, uploadIdOf } from '#lambda/params';
import { json } from '#lambda/responses';
import { parseWith, uploadPartBodySchema } from '#lambda/schemas';
import { type Wiring, wiring } from '#lambda/wiring';

export const makePutUploadPart = ({ service, config }: Wiring) =>
  httpHandler(config, { jsonBody: true }, async (event) => {
    const uid = uidOf(event);
    const uploadId = uploadIdOf(event);
    const partNumber = partNumberOf(event);
    const { buckets } = parseWith(uploadPartBodySchema, event.body, 'request body');

    const part = await service.putUploadPart(uid, uploadId, partNumber, buckets);

    return json(200, {
      uploadId,
      partNumber: part.partNumber,
      buckets: part.buckets,
      write: {
        chunksWritten: part.chunksWritten,
        bytesWritten: part.bytesWritten,
        writeUnits: part.writeUnits,
      },
    });
  });

export const handler = makePutUploadPart(wiring());
