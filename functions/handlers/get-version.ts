/**
 * `GET /v1/workflows/{uid}/versions/{version}`: the nodes of one version,
 * current or superseded within retention (the read that failed in Argo).
 */
import { httpHandler } from '#http/middleware';
import { timed } from '#http/observability';
import { uidOf, versionOf } from '#http/params';
import { json } from '#http/responses';
import { metricNames } from '#infrastructure/metric-names';
import { serviceFromEnvironment } from '#store/clients';

const { service } = serviceFromEnvironment();

export const handler = httpHandler({}, async (event) => {
  const uid = uidOf(event);
  const nodeStatusVersion = versionOf(event);

  const version = await timed(metricNames.hydrateLatency, () => service.getVersion(uid, nodeStatusVersion));

  return json(200, { uid: version.uid, nodeStatusVersion: version.nodeStatusVersion, nodes: version.nodes });
});
