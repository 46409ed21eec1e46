/**
 * Version identity as docs/protocol.md defines it (section 2), implemented
 * independently of the service with Node built-ins only: canonical JSON, the
 * bucket of a node id, chunk ids and the version id. The client uses it to
 * verify what it assembled or cached, and to split a map into the buckets a
 * staged upload sends. `test/unit/client/version-id.test.ts` checks it
 * against the service's own code.
 */
import { createHash } from 'node:crypto';
import type { JsonValue, NodeMap } from './wfo-client.ts';

/** The scheme named in every version id. */
export const versionScheme = 'wfo-bucket-deflate-d1';
const targetNodesPerBucket = 16;
const maxBucketCount = 4096;

/** Bucket count for a node count: the smallest power of two of at least ceil(n / 16), 1 to 4096. */
export function bucketCountFor(nodeCount: number): number {
  const wanted = Math.ceil(nodeCount / targetNodesPerBucket);
  let count = 1;
  while (count < wanted && count < maxBucketCount) count *= 2;
  return count;
}

/** FNV-1a over UTF-16 code units, then the MurmurHash3 finaliser. */
export function nodeIdHash(id: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < id.length; index++) {
    hash ^= id.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

export const bucketOf = (id: string, bucketCount: number): number => nodeIdHash(id) & (bucketCount - 1);

/** An array-index key (`0`, `1`, ... `4294967294`, no leading zero): ECMAScript lists these first. */
const isIndexKey = (key: string): boolean => /^(0|[1-9][0-9]{0,9})$/.test(key) && Number(key) < 4_294_967_295;

/**
 * The canonical key order (docs/protocol.md): array-index keys first, in
 * ascending numeric order, then every other key in ascending UTF-16 order.
 * (It is the order ECMAScript gives an object built with its keys sorted.)
 */
export function canonicalKeyOrder(keys: readonly string[]): string[] {
  const indexes = keys.filter(isIndexKey).sort((a, b) => Number(a) - Number(b));
  const others = keys.filter((key) => !isIndexKey(key)).sort();
  return [...indexes, ...others];
}

/** Canonical JSON: no whitespace, object keys in the canonical order at every level. */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  const keys = canonicalKeyOrder(Object.keys(value).filter((key) => value[key] !== undefined));
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] as JsonValue)}`).join(',')}}`;
}

const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export interface Bucketed {
  readonly bucketCount: number;
  /** The nodes of each bucket, by index. */
  readonly buckets: NodeMap[];
  readonly chunkIds: string[];
  readonly nodeStatusVersion: string;
  /** UTF-8 size of each bucket's canonical text. */
  readonly rawBytes: number[];
}

/** A node map split into its buckets, with their chunk ids and the version id. */
export function bucketize(nodes: NodeMap): Bucketed {
  const ids = Object.keys(nodes);
  const bucketCount = bucketCountFor(ids.length);
  const bucketIds: string[][] = Array.from({ length: bucketCount }, () => []);
  for (const id of ids) (bucketIds[bucketOf(id, bucketCount)] as string[]).push(id);
  const buckets: NodeMap[] = [];
  const chunkIds: string[] = [];
  const rawBytes: number[] = [];
  for (const members of bucketIds) {
    // The ids of a bucket are written in plain UTF-16 order (the text is built id by id, not as an object).
    members.sort();
    const bucket: NodeMap = {};
    const text = `{${members
      .map((id) => {
        bucket[id] = nodes[id] as NodeMap[string];
        return `${JSON.stringify(id)}:${canonicalJson(nodes[id] as JsonValue)}`;
      })
      .join(',')}}`;
    buckets.push(bucket);
    chunkIds.push(sha256Hex(text));
    rawBytes.push(Buffer.byteLength(text, 'utf8'));
  }
  return {
    bucketCount,
    buckets,
    chunkIds,
    nodeStatusVersion: sha256Hex(`${versionScheme}\n${chunkIds.join('\n')}`),
    rawBytes,
  };
}

/** The version id of a node map. */
export const versionIdOf = (nodes: NodeMap): string => bucketize(nodes).nodeStatusVersion;
