/**
 * `GET /v1/workflows/{uid}/versions/{version}`: the nodes of one version,
 * current or superseded within retention (the read that failed in Argo).
 * A version never changes (its id is its content hash): it carries a strong
 * ETag and `Cache-Control: immutable`, and `If-None-Match` with that ETag is
 * a 304 that reads nothing.
 */

import { metricNames } from '#contract/metrics';
import { httpHandler } from '#lambda/middleware';
import { timed } from '#lambda/observability';
import { immutable, matchesIfNoneMatch } from '#lambda/page-token';
import { uidOf, versionOf } from '#lambda/params';
import { json, notModified } from '#lambda/responses';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeGetVersion = ({ service, config }: Wiring) =>
  httpHandler(config, {}, async (event) => {
    const uid = uidOf(event);
    const nodeStatusVersion = versionOf(event);
    const etag = `"${nodeStatusVersion}"`;
    const cacheHeaders = { etag, 'cache-control': immutable };
    if (matchesIfNoneMatch(event.headers['if-none-match'], etag)) return notModified(cacheHeaders);

    const version = await timed(metricNames.hydrateLatency, () => service.getVersion(uid, nodeStatusVersion));

    return json(
      200,
      { uid: version.uid, nodeStatusVersion: version.nodeStatusVersion, nodes: version.nodes },
      cacheHeaders,
    );
  });

export const handler = makeGetVersion(wiring());
