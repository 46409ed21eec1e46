/** `GET /v1/workflows/{uid}/versions`: versions within retention, newest first, the current one flagged. */
import { httpHandler } from '#http/middleware';
import { uidOf } from '#http/params';
import { json, versionItemBody } from '#http/responses';
import { serviceFromEnvironment } from '#store/clients';

const { service } = serviceFromEnvironment();

export const handler = httpHandler({}, async (event) => {
  const uid = uidOf(event);

  const versions = await service.listVersions(uid);

  return json(200, { items: versions.map(versionItemBody) });
});
