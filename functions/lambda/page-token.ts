/**
 * The `next` token of `GET /v1/workflows/{uid}/nodes`: which version the
 * pages are from (pinned by the first page), the since-version if any, and
 * the first bucket of the next page. Opaque to clients; checked before use.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '#domain/errors';

export interface PageToken {
  readonly version: string;
  readonly since?: string;
  readonly fromBucket: number;
  /** A scoped read's filter, carried to every page. */
  readonly filter?: { readonly phases?: string[]; readonly types?: string[]; readonly under?: string };
}

const versionPattern = /^[A-Za-z0-9._:-]{1,128}$/;

export const encodePageToken = (token: PageToken): string =>
  Buffer.from(
    JSON.stringify({
      v: token.version,
      ...(token.since ? { s: token.since } : {}),
      b: token.fromBucket,
      ...(token.filter ? { f: token.filter } : {}),
    }),
    'utf8',
  ).toString('base64url');

export function decodePageToken(text: string): PageToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const token = parsed as { v?: unknown; s?: unknown; b?: unknown; f?: unknown } | undefined;
  const filter = token?.f as { phases?: unknown; types?: unknown; under?: unknown } | undefined;
  const words = (value: unknown) =>
    value === undefined ||
    (Array.isArray(value) && value.every((word) => typeof word === 'string' && word.length < 64));
  const valid =
    token !== null &&
    typeof token === 'object' &&
    typeof token.v === 'string' &&
    versionPattern.test(token.v) &&
    (token.s === undefined || (typeof token.s === 'string' && versionPattern.test(token.s))) &&
    Number.isInteger(token.b) &&
    (token.b as number) >= 0 &&
    (token.b as number) < 1_000_000 &&
    (filter === undefined ||
      (typeof filter === 'object' &&
        words(filter.phases) &&
        words(filter.types) &&
        (filter.under === undefined || (typeof filter.under === 'string' && filter.under.length < 254))));
  if (!valid)
    throw new ValidationError('the `next` token is not one this service issued; start from the first page');
  return {
    version: token.v as string,
    ...(token.s === undefined ? {} : { since: token.s as string }),
    fromBucket: token.b as number,
    ...(filter ? { filter: filter as NonNullable<PageToken['filter']> } : {}),
  };
}

/** A strong ETag of one pinned page: what it is a page of, and where it starts. */
export const pageEtag = (uid: string, token: PageToken): string =>
  `"${createHash('sha256')
    .update(
      `${uid}\n${token.version}\n${token.since ?? ''}\n${token.fromBucket}\n${JSON.stringify(token.filter ?? {})}`,
    )
    .digest('base64url')
    .slice(0, 32)}"`;

/** `Cache-Control` of content that can never change (content-addressed). */
export const immutable = 'private, max-age=31536000, immutable';

/** True when `If-None-Match` names `etag` (or is `*`): the caller has it, answer 304. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etag);
}
