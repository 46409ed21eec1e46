/** `GET /v1/workflows/{uid}/versions`: versions within retention, newest first, the current one flagged. */
import { httpHandler } from '#lambda/middleware';
import { uidOf } from '#lambda/params';
import { json, versionItemBody } from '#lambda/responses';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeListVersions = ({ service, config }: Wiring) =>
  httpHandler(config, {}, async (event) => {
    const uid = uidOf(event);

    const versions = await service.listVersions(uid);

    return json(200, { items: versions.map(versionItemBody) });
  });

export const handler = makeListVersions(wiring());
