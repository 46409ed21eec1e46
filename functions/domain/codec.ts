/**
 * The node-map codec: splits a node map into buckets by a stable hash of the
 * node id, serialises each bucket canonically (keys sorted at every level),
 * names it by the SHA-256 of that canonical text (the chunk id), and
 * compresses it. The version id is the SHA-256 of the ordered chunk-id list,
 * so the same node map always has the same version id, whatever its key order,
 * and an update that touches k nodes changes at most k chunk ids.
 *
 * @example
 * const prepared = prepareVersion(nodes);
 * const stored = prepared.buckets.map((bucket) => compressBucket(bucket.canonical));
 * decodeChunk(codecName, concatParts(stored[0])).nodes; // the nodes of bucket 0
 */
import { createHash } from 'node:crypto';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { type CodecName, dictionaries } from './codec-dictionaries.ts';
import { ValidationError } from './errors.ts';
import type { JsonValue, NodeMap } from './nodes.ts';
import { type BucketSummary, summarize } from './summaries.ts';

/**
 * The version-id scheme: bucket placement, canonical form and how chunk ids
 * make a version id. It is independent of how chunks are compressed, so
 * writers on different codecs agree on the id of the same node map; the
 * client computes ids by the same scheme (`client/version-id.ts`).
 */
export const versionScheme = 'wfo-bucket-deflate-d1';

/**
 * The codec new chunks are written with. Every chunk item names its own
 * codec, so versions written with an older one (listed in
 * `codec-dictionaries.ts`) stay readable until they expire, and a version may
 * mix chunks of both.
 */
export const codecName: CodecName = 'wfo-bucket-deflate-d2';

export interface CodecOptions {
  /** Average nodes a bucket holds before the bucket count doubles. */
  readonly targetNodesPerBucket: number;
  /** Most buckets a version has (a power of two), so a full manifest stays well inside one item. */
  readonly maxBucketCount: number;
  /** zlib level, 1 (fast) to 9 (small). */
  readonly compressionLevel: number;
  /** A compressed bucket larger than this is stored as several parts (DynamoDB items are at most 400 KB). */
  readonly maxPartBytes: number;
  /** The codec new chunks are written with (`codecName` unless a test writes an older one). */
  readonly codec: CodecName;
  /**
   * How new versions are stored: `log` (a snapshot of pages, then a chain of
   * deltas that each carry only the changed nodes; see `log-codec.ts`) or
   * `chunks` (a manifest and one chunk per bucket). Both are always read.
   */
  readonly layout: 'log' | 'chunks';
  /** Buckets a snapshot page holds. */
  readonly pageBuckets: number;
  /** Most deltas a log chain has before the next commit folds it into a snapshot (`log-policy.ts`). */
  readonly maxChainDeltas: number;
  /** A chain whose deltas' bytes reach this share of its base's is folded too. */
  readonly maxChainFraction: number;
  /**
   * The price of a write unit in read units (DynamoDB on demand: 5): weighs a
   * fold's writes against the chain's reads when choosing the chain's length.
   */
  readonly writeReadPriceRatio: number;
}

export const defaultCodecOptions: CodecOptions = {
  targetNodesPerBucket: 16,
  maxBucketCount: 4096,
  compressionLevel: 6,
  maxPartBytes: 350_000,
  codec: codecName,
  layout: 'log',
  pageBuckets: 8,
  maxChainDeltas: 1024,
  maxChainFraction: 0.5,
  writeReadPriceRatio: 5,
};

/**
 * The codec of a page: consecutive buckets as one JSON object (each
 * bucket's canonical text without its braces, in bucket order, joined by
 * commas; an empty bucket adds nothing), deflated as one stream with the d2
 * dictionary. A page item holds many buckets, so a log-layout snapshot is
 * written in a few large items (one write unit per KB, and far better
 * compression than a bucket alone); a whole version is read a page at a time
 * with one parse each, and one bucket by its offset (`pageSlices`).
 */
export const pageCodecName = 'wfo-page-deflate-d2';

/**
 * The codec of the log layout (versions written as a snapshot of pages, then
 * a chain of deltas): the name its entries and records carry, and the
 * dictionary (d2's) a delta's node change is deflated with.
 */
export const logCodecName = 'wfo-log-deflate-d2';

/** Each codec's preset dictionary, as bytes. Small buckets compress far better with one. */
const dictionaryBytes = new Map<string, Buffer>([
  ...Object.entries(dictionaries).map(([name, text]) => [name, Buffer.from(text, 'utf8')] as const),
  [pageCodecName, Buffer.from(dictionaries['wfo-bucket-deflate-d2'], 'utf8')],
  [logCodecName, Buffer.from(dictionaries['wfo-bucket-deflate-d2'], 'utf8')],
]);

/** True when chunks of `codec` are pages (many buckets) rather than one bucket. */
export const isPageCodec = (codec: string): boolean => codec === pageCodecName;

/** Deflates `text` with the dictionary of `codec` (a bucket codec, or the page codec). */
export function deflateWith(codec: string, text: string | Uint8Array, level: number): Buffer {
  const dictionary = dictionaryBytes.get(codec);
  if (!dictionary) throw new ValidationError(`unknown codec '${codec}'`);
  return deflateRawSync(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, {
    level,
    dictionary,
    strategy: constants.Z_DEFAULT_STRATEGY,
  });
}

/** Inflates data deflated by {@link deflateWith}, bounded by `maxOutputBytes`. */
export function inflateWith(codec: string, data: Uint8Array, maxOutputBytes = 512 * 1024 * 1024): Buffer {
  const dictionary = dictionaryBytes.get(codec);
  if (!dictionary) throw new ValidationError(`unknown codec '${codec}'`);
  return inflateRawSync(data, { dictionary, maxOutputLength: maxOutputBytes });
}

export interface PreparedBucket {
  readonly index: number;
  /** Canonical JSON of the bucket's nodes, the input of the chunk id and of compression. */
  readonly canonical: string;
  /** UTF-8 size of `canonical`. */
  readonly rawBytes: number;
  readonly chunkId: string;
  readonly nodeCount: number;
  /** Phases and types present, and counts by phase. */
  readonly summary: BucketSummary;
}

export interface PreparedVersion {
  readonly nodeStatusVersion: string;
  readonly bucketCount: number;
  readonly buckets: readonly PreparedBucket[];
  readonly nodeCount: number;
  /** Size of the canonical JSON of all buckets. */
  readonly rawBytes: number;
}

/** Bucket count for a node count: a power of two, about `targetNodesPerBucket` nodes each. */
export function bucketCountFor(nodeCount: number, options: CodecOptions = defaultCodecOptions): number {
  const wanted = Math.ceil(nodeCount / options.targetNodesPerBucket);
  let count = 1;
  while (count < wanted && count < options.maxBucketCount) count *= 2;
  return count;
}

/**
 * Stable 32-bit hash of a node id (FNV-1a over UTF-16 units, then a murmur
 * finaliser so the low bits, which pick the bucket, are well mixed). Bucket
 * placement only needs stability and spread; chunk identity uses SHA-256.
 */
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

/** With a power-of-two count, doubling splits every bucket in two and moves no node elsewhere. */
export const bucketOf = (id: string, bucketCount: number): number => nodeIdHash(id) & (bucketCount - 1);

/** True when every object in `value` already has its keys in sorted order. */
function hasSortedKeys(value: JsonValue): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) {
    for (const item of value) if (!hasSortedKeys(item)) return false;
    return true;
  }
  let previous: string | undefined;
  for (const key in value) {
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
    if (!hasSortedKeys(value[key] as JsonValue)) return false;
  }
  return true;
}

/** An object's keys in canonical order, and each quoted for output. */
interface SortedOrder {
  readonly keys: string[];
  readonly quoted: string[];
}

/** An array-index key (`0` .. `4294967294`, no leading zero), which ECMAScript lists first. */
const isIndexKey = (key: string): boolean => /^(0|[1-9][0-9]{0,9})$/.test(key) && Number(key) < 4_294_967_295;

/**
 * The order ECMAScript gives an object whose keys were added sorted (what the
 * canonical form is defined by, docs/protocol.md): array-index keys first, by
 * value, then the others.
 */
function sortOrder(own: readonly string[]): SortedOrder {
  const keys = [
    ...own.filter(isIndexKey).sort((a, b) => Number(a) - Number(b)),
    ...own.filter((key) => !isIndexKey(key)).sort(),
  ];
  return { keys, quoted: keys.map((key) => `${JSON.stringify(key)}:`) };
}

/**
 * Sorted orders by the order the keys come in, as a tree of keys: a lookup
 * walks one map per key and builds nothing. Argo writes a node's fields in
 * its Go struct order, so a map of 10,000 nodes has a few dozen key orders:
 * each is sorted once. Bounded in tree nodes, so arbitrary input cannot grow
 * it without end (past the bound, an order is sorted every time).
 */
interface OrderTree {
  next?: Map<string, OrderTree>;
  order?: SortedOrder;
}
const sortedOrders: OrderTree = {};
const maxOrderTreeNodes = 65_536;
let orderTreeNodes = 0;

function sortedOrderOf(own: string[]): SortedOrder {
  let tree = sortedOrders;
  for (let index = 0; index < own.length; index++) {
    const key = own[index] as string;
    let next = tree.next?.get(key);
    if (!next) {
      if (orderTreeNodes >= maxOrderTreeNodes) return sortOrder(own);
      next = {};
      orderTreeNodes++;
      if (!tree.next) tree.next = new Map();
      tree.next.set(key, next);
    }
    tree = next;
  }
  if (!tree.order) tree.order = sortOrder(own);
  return tree.order;
}

/** JSON of `value` with the keys of every object in sorted order, written directly (no sorted copy). */
function sortedJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let index = 0; index < value.length; index++) {
      if (index > 0) out += ',';
      const item = value[index];
      // As JSON.stringify writes them: a hole or undefined in an array is null.
      out += item === undefined ? 'null' : sortedJson(item);
    }
    return `${out}]`;
  }
  const order = sortedOrderOf(Object.keys(value));
  let out = '{';
  let first = true;
  for (let index = 0; index < order.keys.length; index++) {
    // Own keys only (Object.keys), `__proto__` included, as JSON.parse makes them.
    const item = value[order.keys[index] as string];
    if (item === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += (order.quoted[index] as string) + sortedJson(item);
  }
  return `${out}}`;
}

/**
 * JSON with object keys sorted at every level: equal values give equal text.
 * A node whose keys are already sorted at every level goes straight to the
 * native serialiser after a cheap check; others (Argo writes fields in its Go
 * struct order) are written key by key in sorted order, each key order
 * sorted once (`sortedOrderOf`): about twice as fast as a sorted copy.
 */
export function canonicalJson(value: JsonValue): string {
  return hasSortedKeys(value) ? JSON.stringify(value) : sortedJson(value);
}

/** Canonical JSON of the given nodes of a map: ids sorted, each node canonical. */
function canonicalNodeMap(nodes: NodeMap, ids: string[] = Object.keys(nodes)): string {
  ids.sort();
  let out = '{';
  for (let index = 0; index < ids.length; index++) {
    const id = ids[index] as string;
    if (index > 0) out += ',';
    out += `${JSON.stringify(id)}:${canonicalJson(nodes[id] as JsonValue)}`;
  }
  return `${out}}`;
}

const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** The ids of a node map, split by bucket. */
export function groupIdsByBucket(nodes: NodeMap, bucketCount: number): string[][] {
  const buckets: string[][] = Array.from({ length: bucketCount }, () => []);
  for (const id in nodes) (buckets[bucketOf(id, bucketCount)] as string[]).push(id);
  return buckets;
}

/** Canonical text and chunk id of one bucket: the given ids of `nodes` (all of them by default). */
export function prepareBucket(
  index: number,
  nodes: NodeMap,
  ids: string[] = Object.keys(nodes),
): PreparedBucket {
  const canonical = canonicalNodeMap(nodes, ids);
  return {
    index,
    canonical,
    rawBytes: Buffer.byteLength(canonical, 'utf8'),
    chunkId: sha256Hex(canonical),
    nodeCount: ids.length,
    summary: summarize(nodes, ids),
  };
}

/** The version id of an ordered chunk-id list. */
export const versionIdOf = (chunkIds: readonly string[]): string =>
  sha256Hex(`${versionScheme}\n${chunkIds.join('\n')}`);

/** Buckets, chunk ids and version id of a whole node map. Compresses nothing: see `compressBucket`. */
export function prepareVersion(nodes: NodeMap, options: CodecOptions = defaultCodecOptions): PreparedVersion {
  const nodeCount = Object.keys(nodes).length;
  const bucketCount = bucketCountFor(nodeCount, options);
  const buckets = groupIdsByBucket(nodes, bucketCount).map((ids, index) => prepareBucket(index, nodes, ids));
  return {
    nodeStatusVersion: versionIdOf(buckets.map((bucket) => bucket.chunkId)),
    bucketCount,
    buckets,
    nodeCount,
    rawBytes: buckets.reduce((sum, bucket) => sum + bucket.rawBytes, 0),
  };
}

/** Compresses a bucket's canonical text and splits it into parts that each fit in one item. */
export function compressBucket(
  canonical: string | Uint8Array,
  options: CodecOptions = defaultCodecOptions,
): Uint8Array[] {
  return splitParts(deflateWith(options.codec, canonical, options.compressionLevel), options);
}

/** Compresses the canonical texts of consecutive buckets as one page, split into parts that fit an item. */
export function compressPage(canonicals: readonly string[], options: CodecOptions = defaultCodecOptions) {
  const members = canonicals.filter((text) => text.length > 2).map((text) => text.slice(1, -1));
  return splitParts(deflateWith(pageCodecName, `{${members.join(',')}}`, options.compressionLevel), options);
}

/**
 * Where each bucket's members lie in a page's text, in bytes, from the
 * buckets' canonical sizes (a bucket of no node, `{}`, has none); and the
 * page text's size. A bucket's canonical text is `{` + its slice + `}`.
 */
export function pageSlices(rawSizes: readonly number[]): {
  readonly slices: readonly { readonly start: number; readonly end: number }[];
  readonly pageBytes: number;
} {
  let position = 1;
  let first = true;
  const slices = rawSizes.map((size) => {
    if (size <= 2) return { start: position, end: position };
    if (!first) position += 1;
    first = false;
    const start = position;
    position += size - 2;
    return { start, end: position };
  });
  return { slices, pageBytes: position + 1 };
}

function splitParts(compressed: Buffer, options: CodecOptions): Uint8Array[] {
  if (compressed.length <= options.maxPartBytes) return [compressed];
  const parts: Uint8Array[] = [];
  for (let offset = 0; offset < compressed.length; offset += options.maxPartBytes) {
    parts.push(compressed.subarray(offset, offset + options.maxPartBytes));
  }
  return parts;
}

/**
 * Decodes one chunk (its parts concatenated) back into its nodes. The output
 * is bounded by `maxOutputBytes` so a corrupt item cannot exhaust memory.
 */
export function decodeChunk(
  codec: string,
  data: Uint8Array,
  maxOutputBytes = 512 * 1024 * 1024,
): { nodes: NodeMap; rawBytes: number } {
  if (isPageCodec(codec))
    throw new ValidationError(`a '${codec}' chunk is a page: read its buckets by offset`);
  const canonical = inflateWith(codec, data, maxOutputBytes);
  return { nodes: JSON.parse(canonical.toString('utf8')) as NodeMap, rawBytes: canonical.length };
}

/** Joins parts into one buffer (no copy for a single part). */
export function concatParts(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  return Buffer.concat(parts);
}
