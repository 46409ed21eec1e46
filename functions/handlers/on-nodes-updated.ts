/**
 * EventBridge `Workflow Nodes Updated`: a delta as in PATCH, plus `uid`.
 *
 * Idempotent under at-least-once delivery: a delta sets whole nodes and
 * removes ids, so applying it twice yields the same node map, hence the same
 * content hash, the same nodeStatusVersion and no write the second time (the
 * domain commits nothing when the version and fields are unchanged). There is
 * no If-Match: a conflict with a concurrent writer is retried on the new state.
 */

import { metricNames } from '#contract/metrics';
import { eventHandler } from '#lambda/middleware';
import { recordWrite, timed } from '#lambda/observability';
import { nodesUpdatedDetailSchema } from '#lambda/schemas';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeOnNodesUpdated = ({ service }: Wiring) =>
  eventHandler(nodesUpdatedDetailSchema, async (delta) => {
    const result = await timed(metricNames.patchLatency, () => service.patch(delta));
    recordWrite(result);

    const changed = result.write.writeUnits > 0 || result.write.chunksWritten > 0;
    return { outcome: changed ? 'applied' : 'unchanged' };
  });

export const handler = makeOnNodesUpdated(wiring());
