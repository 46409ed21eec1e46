/**
 * `GET /v1/workflows/{uid}/nodes?since=&version=&next=`: a workflow's nodes
 * in pages that each fit a response, or only what changed since a version
 * the caller holds (`set` and `remove`, the shape of a PATCH), reading only
 * the chunks that differ. The first page pins the version; `next` carries it,
 * so no page mixes versions. A pinned page never changes: strong ETag,
 * `Cache-Control: immutable`, 304 on `If-None-Match`. A since-version or a
 * pinned version that expired is a 410: read again from the start.
 * See docs/protocol.md.
 */

import { nodePageBytes } from '#contract/limits';
import { metricNames } from '#contract/metrics';
import { ValidationError } from '#domain/errors';
import { httpHandler } from '#lambda/middleware';
import { timed } from '#lambda/observability';
import {
  decodePageToken,
  encodePageToken,
  immutable,
  matchesIfNoneMatch,
  type PageToken,
  pageEtag,
} from '#lambda/page-token';
import { uidOf } from '#lambda/params';
import { json, notModified, summaryBody } from '#lambda/responses';
import { parseWith, readNodesQuerySchema } from '#lambda/schemas';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeReadNodes = ({ service, config }: Wiring) =>
  httpHandler(config, { brotli: true }, async (event) => {
    const uid = uidOf(event);
    const query = parseWith(readNodesQuerySchema, event.queryStringParameters ?? {}, 'query');
    const token = query.next === undefined ? undefined : decodePageToken(query.next);
    const asked = {
      ...(query.phase ? { phases: query.phase } : {}),
      ...(query.type ? { types: query.type } : {}),
      ...(query.under ? { under: query.under } : {}),
    };
    const scoped = Object.keys(asked).length > 0;
    if (token && (query.since !== undefined || query.version !== undefined || scoped)) {
      throw new ValidationError(
        'send either next, or since, version, phase, type and under: the next token already says them',
      );
    }
    if (scoped && query.since !== undefined) {
      throw new ValidationError(
        'a read since a version takes no phase, type or under: it returns the whole change',
      );
    }
    const filter = token?.filter ?? (scoped ? asked : undefined);
    const pinned: PageToken | undefined =
      token ??
      (query.version === undefined
        ? undefined
        : {
            version: query.version,
            ...(query.since ? { since: query.since } : {}),
            fromBucket: 0,
            ...(filter ? { filter } : {}),
          });
    const cacheHeaders = pinned ? { etag: pageEtag(uid, pinned), 'cache-control': immutable } : undefined;
    if (cacheHeaders && matchesIfNoneMatch(event.headers['if-none-match'], cacheHeaders.etag)) {
      return notModified(cacheHeaders);
    }

    const since = pinned ? pinned.since : query.since;
    const page = await timed(metricNames.hydrateLatency, () =>
      service.readNodes({
        uid,
        budgetBytes: nodePageBytes,
        ...(pinned
          ? { version: pinned.version, pinned: token !== undefined, fromBucket: pinned.fromBucket }
          : {}),
        ...(since === undefined ? {} : { since }),
        ...(filter ? { filter } : {}),
      }),
    );

    const next =
      page.nextBucket === undefined
        ? undefined
        : encodePageToken({
            version: page.nodeStatusVersion,
            ...(since === undefined ? {} : { since }),
            fromBucket: page.nextBucket,
            ...(filter ? { filter } : {}),
          });
    return json(
      200,
      {
        // Only an unpinned first page says how the workflow is now: a pinned page never changes.
        ...(pinned ? {} : { workflow: summaryBody(page.workflow) }),
        nodeStatusVersion: page.nodeStatusVersion,
        codec: page.codec,
        bucketCount: page.bucketCount,
        ...(page.change
          ? {
              since: page.change.since,
              set: page.change.set,
              merge: page.change.merge,
              remove: page.change.remove,
            }
          : { nodes: page.nodes }),
        ...(next === undefined ? {} : { next }),
      },
      cacheHeaders ?? { 'cache-control': 'no-cache' },
    );
  });

export const handler = makeReadNodes(wiring());
