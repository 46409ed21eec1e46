/**
 * `GET /v1/workflows/{uid}/diff?from=&to=&next=`: the nodes added, removed
 * and changed between two versions (by default the previous one and the
 * current one), with the phase before and after and the fields that differ.
 * The versions' chunk ids are compared first and only the chunks that differ
 * are read, so the cost follows the change. Large diffs come in pages.
 */
import { nodePageBytes } from '#contract/limits';
import { metricNames } from '#contract/metrics';
import { ValidationError } from '#domain/errors';
import { httpHandler } from '#lambda/middleware';
import { timed } from '#lambda/observability';
import { decodePageToken, encodePageToken, immutable } from '#lambda/page-token';
import { uidOf } from '#lambda/params';
import { json } from '#lambda/responses';
import { diffQuerySchema, parseWith } from '#lambda/schemas';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeDiffVersions = ({ service, config }: Wiring) =>
  httpHandler(config, {}, async (event) => {
    const uid = uidOf(event);
    const query = parseWith(diffQuerySchema, event.queryStringParameters ?? {}, 'query');
    const token = query.next === undefined ? undefined : decodePageToken(query.next);
    if (token && (query.from !== undefined || query.to !== undefined)) {
      throw new ValidationError('send either next, or from and to: the next token already says both');
    }

    const page = await timed(metricNames.hydrateLatency, () =>
      service.diff(
        uid,
        token
          ? { from: token.since as string, to: token.version, fromBucket: token.fromBucket, pinned: true }
          : { ...(query.from ? { from: query.from } : {}), ...(query.to ? { to: query.to } : {}) },
        nodePageBytes,
      ),
    );

    const entries = page.change?.entries ?? [];
    const count = (kind: string) => entries.filter((entry) => entry.change === kind).length;
    const next =
      page.nextBucket === undefined
        ? undefined
        : encodePageToken({ version: page.nodeStatusVersion, since: page.from, fromBucket: page.nextBucket });
    return json(
      200,
      {
        uid,
        from: page.from,
        to: page.nodeStatusVersion,
        added: count('added'),
        removed: count('removed'),
        changed: count('changed'),
        nodes: entries,
        ...(next === undefined ? {} : { next }),
      },
      // Two named versions never change, nor does their diff.
      query.from !== undefined && query.to !== undefined
        ? { 'cache-control': immutable }
        : { 'cache-control': 'no-cache' },
    );
  });

export const handler = makeDiffVersions(wiring());
