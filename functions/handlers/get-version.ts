/**
 * `GET /v1/workflows/{uid}/versions/{version}`: the nodes of one version,
 * current or superseded within retention (the read that failed in Argo).
 */

import { metricNames } from '#contract/metrics';
import { httpHandler } from '#lambda/middleware';
import { timed } from '#lambda/observability';
import { uidOf, versionOf } from '#lambda/params';
import { json } from '#lambda/responses';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeGetVersion = ({ service, config }: Wiring) =>
  httpHandler(config, {}, async (event) => {
    const uid = uidOf(event);
    const nodeStatusVersion = versionOf(event);

    const version = await timed(metricNames.hydrateLatency, () => service.getVersion(uid, nodeStatusVersion));

    return json(200, {
      uid: version.uid,
      nodeStatusVersion: version.nodeStatusVersion,
      nodes: version.nodes,
    });
  });

export const handler = makeGetVersion(wiring());
