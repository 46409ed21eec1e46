/**
 * The payloads of the log layout's entries, packed as binary so that the
 * incompressible part (32-byte chunk ids) costs nothing more than itself.
 *
 * A snapshot payload is a version's bucket table (per bucket: chunk id,
 * phase and type masks, canonical size) and its page table (per page: the
 * chunk that stores it, the buckets it covers, parts, lease, size). A page
 * is one chunk of codec `wfo-page-deflate-d2`: its buckets' canonical texts
 * concatenated, so bucket b of the page starts where the sizes of the
 * buckets before it end. A page may also be a one-bucket chunk of a bucket
 * codec (d1, d2).
 *
 * A delta payload is the changed buckets' table (index, new chunk id, masks,
 * size) and the node change that turns the parent version into this one,
 * field by field: `{set, merge, remove}` as canonical JSON, deflated with the
 * entry's codec dictionary. Applying it to the parent's nodes (exactly, with
 * no merge rule) gives this version's nodes.
 */
import { canonicalJson, deflateWith, inflateWith } from './codec.ts';
import { ValidationError } from './errors.ts';
import type { FieldChange, JsonValue, NodeChange, NodeMap, NodeStatus } from './nodes.ts';
import { fieldChangeBetween, mergeFields } from './nodes.ts';
import type { ChunkRef } from './store.ts';

/** What a version knows of one bucket without reading it. */
export interface BucketInfo {
  /** SHA-256 of the bucket's canonical text: the version id is made of these. */
  readonly chunkId: string;
  readonly phaseMask?: number;
  readonly typeMask?: number;
  /** Size of the canonical text, when known. */
  readonly rawBytes?: number;
  /** Compressed size of the bucket, or an estimate of its share of a page. */
  readonly storedBytes: number;
}

/** One page of a snapshot: the chunk that stores a run of consecutive buckets. */
export interface PageRef extends ChunkRef {
  readonly firstBucket: number;
  readonly bucketCount: number;
  /** Lower bound of the chunk items' `expiresAt` when the snapshot was written. */
  readonly leaseExpiresAt: number;
  readonly storedBytes: number;
}

export interface SnapshotTables {
  /** Every bucket, in order; `rawBytes` is always set. */
  readonly buckets: readonly (BucketInfo & { readonly rawBytes: number })[];
  readonly pages: readonly PageRef[];
}

/** A bucket a delta changed. */
export interface ChangedBucket {
  readonly index: number;
  readonly chunkId: string;
  readonly phaseMask: number;
  readonly typeMask: number;
  readonly rawBytes: number;
}

export interface DeltaPayload {
  readonly changed: readonly ChangedBucket[];
  readonly change: NodeChange;
}

const formatVersion = 1;
const snapshotBucketBytes = 40;
const pageBytes = 48;
const changedBucketBytes = 41;

const corrupt = (what: string) => new ValidationError(`corrupt log entry: ${what}`);

export function packSnapshot(tables: SnapshotTables): Uint8Array {
  const { buckets, pages } = tables;
  const out = Buffer.alloc(1 + 4 + buckets.length * snapshotBucketBytes + 4 + pages.length * pageBytes);
  let offset = out.writeUInt8(formatVersion, 0);
  offset = out.writeUInt32BE(buckets.length, offset);
  for (const bucket of buckets) {
    out.write(bucket.chunkId, offset, 32, 'hex');
    out.writeUInt8(bucket.phaseMask ?? 0, offset + 32);
    out.writeUInt16BE(bucket.typeMask ?? 0, offset + 33);
    out.writeUInt8(bucket.phaseMask !== undefined && bucket.typeMask !== undefined ? 1 : 0, offset + 35);
    out.writeUInt32BE(bucket.rawBytes, offset + 36);
    offset += snapshotBucketBytes;
  }
  offset = out.writeUInt32BE(pages.length, offset);
  for (const page of pages) {
    out.write(page.chunkId, offset, 32, 'hex');
    out.writeUInt32BE(page.firstBucket, offset + 32);
    out.writeUInt16BE(page.bucketCount, offset + 36);
    out.writeUInt16BE(page.parts, offset + 38);
    out.writeUInt32BE(page.leaseExpiresAt, offset + 40);
    out.writeUInt32BE(page.storedBytes, offset + 44);
    offset += pageBytes;
  }
  return out;
}

export function unpackSnapshot(data: Uint8Array): SnapshotTables {
  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (input.length < 9 || input.readUInt8(0) !== formatVersion) throw corrupt('unknown snapshot format');
  const bucketCount = input.readUInt32BE(1);
  let offset = 5;
  if (input.length < offset + bucketCount * snapshotBucketBytes + 4) throw corrupt('short bucket table');
  const raw: { chunkId: string; phaseMask?: number; typeMask?: number; rawBytes: number }[] = [];
  for (let index = 0; index < bucketCount; index++) {
    const known = input.readUInt8(offset + 35) === 1;
    raw.push({
      chunkId: input.toString('hex', offset, offset + 32),
      ...(known
        ? { phaseMask: input.readUInt8(offset + 32), typeMask: input.readUInt16BE(offset + 33) }
        : {}),
      rawBytes: input.readUInt32BE(offset + 36),
    });
    offset += snapshotBucketBytes;
  }
  const pageCount = input.readUInt32BE(offset);
  offset += 4;
  if (input.length < offset + pageCount * pageBytes) throw corrupt('short page table');
  const pages: PageRef[] = [];
  for (let index = 0; index < pageCount; index++) {
    pages.push({
      chunkId: input.toString('hex', offset, offset + 32),
      firstBucket: input.readUInt32BE(offset + 32),
      bucketCount: input.readUInt16BE(offset + 36),
      parts: input.readUInt16BE(offset + 38),
      leaseExpiresAt: input.readUInt32BE(offset + 40),
      storedBytes: input.readUInt32BE(offset + 44),
    });
    offset += pageBytes;
  }
  // A bucket's stored size is its share of its page, by canonical size: an estimate for paging reads.
  const buckets = raw.map((bucket) => ({ ...bucket, storedBytes: 0 }));
  for (const page of pages) {
    const slice = buckets.slice(page.firstBucket, page.firstBucket + page.bucketCount);
    const pageRaw = slice.reduce((sum, bucket) => sum + bucket.rawBytes, 0);
    for (const bucket of slice) {
      bucket.storedBytes = pageRaw === 0 ? 0 : Math.round((page.storedBytes * bucket.rawBytes) / pageRaw);
    }
  }
  return { buckets, pages };
}

/** The node change as stored: canonical JSON, so equal changes store equal bytes. */
function changeText(change: NodeChange): string {
  const value: { [key: string]: JsonValue } = {};
  if (Object.keys(change.set).length > 0) value.set = change.set as JsonValue;
  if (change.merge && Object.keys(change.merge).length > 0) value.merge = change.merge as JsonValue;
  if (change.remove.length > 0) value.remove = [...change.remove];
  return canonicalJson(value);
}

export function packDelta(payload: DeltaPayload, codec: string, level: number): Uint8Array {
  const change = deflateWith(codec, changeText(payload.change), level);
  const out = Buffer.alloc(1 + 4 + payload.changed.length * changedBucketBytes + 4 + change.length);
  let offset = out.writeUInt8(formatVersion, 0);
  offset = out.writeUInt32BE(payload.changed.length, offset);
  for (const bucket of payload.changed) {
    out.writeUInt16BE(bucket.index, offset);
    out.write(bucket.chunkId, offset + 2, 32, 'hex');
    out.writeUInt8(bucket.phaseMask, offset + 34);
    out.writeUInt16BE(bucket.typeMask, offset + 35);
    out.writeUInt32BE(bucket.rawBytes, offset + 37);
    offset += changedBucketBytes;
  }
  offset = out.writeUInt32BE(change.length, offset);
  change.copy(out, offset);
  return out;
}

/** The changed-bucket table of a delta, without inflating its node change. */
export function unpackDeltaBuckets(data: Uint8Array): ChangedBucket[] {
  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (input.length < 9 || input.readUInt8(0) !== formatVersion) throw corrupt('unknown delta format');
  const count = input.readUInt32BE(1);
  if (input.length < 5 + count * changedBucketBytes + 4) throw corrupt('short bucket table');
  const changed: ChangedBucket[] = [];
  let offset = 5;
  for (let index = 0; index < count; index++) {
    changed.push({
      index: input.readUInt16BE(offset),
      chunkId: input.toString('hex', offset + 2, offset + 34),
      phaseMask: input.readUInt8(offset + 34),
      typeMask: input.readUInt16BE(offset + 35),
      rawBytes: input.readUInt32BE(offset + 37),
    });
    offset += changedBucketBytes;
  }
  return changed;
}

/** The node change of a delta. */
export function unpackDeltaChange(data: Uint8Array, codec: string): NodeChange {
  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const count = input.readUInt32BE(1);
  const offset = 5 + count * changedBucketBytes;
  const length = input.readUInt32BE(offset);
  if (input.length < offset + 4 + length) throw corrupt('short node change');
  const parsed = JSON.parse(
    inflateWith(codec, input.subarray(offset + 4, offset + 4 + length)).toString('utf8'),
  ) as { set?: NodeMap; merge?: NodeChange['merge']; remove?: string[] };
  return {
    set: parsed.set ?? {},
    remove: parsed.remove ?? [],
    ...(parsed.merge ? { merge: parsed.merge } : {}),
  };
}

/** Sets an own key, even `__proto__`, as JSON.parse makes them. */
const define = <T>(target: Record<string, T>, key: string, value: T) =>
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });

/**
 * Applies a stored change exactly (no merge rule: the writer already applied
 * them), restricted to the ids `keep` accepts. `nodes` is changed in place.
 */
export function applyStoredChange(nodes: NodeMap, change: NodeChange, keep: (id: string) => boolean): void {
  applyStoredChangeTo(change, (id) => (keep(id) ? nodes : undefined));
}

/**
 * Applies a stored change exactly, each id to the node map `target` gives
 * for it (a bucket's, say); an id it gives none for is skipped.
 */
export function applyStoredChangeTo(change: NodeChange, target: (id: string) => NodeMap | undefined): void {
  for (const id of change.remove) {
    const nodes = target(id);
    if (nodes) delete nodes[id];
  }
  for (const id of Object.keys(change.set)) {
    const nodes = target(id);
    if (nodes) define(nodes, id, change.set[id] as NodeStatus);
  }
  for (const [id, fields] of Object.entries(change.merge ?? {})) {
    const nodes = target(id);
    if (nodes) define(nodes, id, mergeFields(Object.hasOwn(nodes, id) ? nodes[id] : undefined, fields));
  }
}

const sameCanonical = (a: JsonValue, b: JsonValue): boolean =>
  a === b || canonicalJson(a) === canonicalJson(b);

/**
 * The stored change that turns one bucket's nodes into another's: new
 * nodes whole, changed nodes field by field (whole when that is smaller),
 * and removed ids. Nodes equal as canonical JSON are left out.
 */
export function storedChangeBetween(before: NodeMap, after: NodeMap, into: MutableNodeChange): void {
  for (const id of Object.keys(after)) {
    const node = after[id] as NodeStatus;
    const old = Object.hasOwn(before, id) ? before[id] : undefined;
    if (old === undefined) {
      define(into.set, id, node);
      continue;
    }
    if (sameCanonical(old, node)) continue;
    const fields = fieldChangeBetween(old, node, sameCanonical);
    if (fields) define(into.merge, id, fields);
    else define(into.set, id, node);
  }
  for (const id of Object.keys(before)) if (!Object.hasOwn(after, id)) into.remove.push(id);
}

/** A node change being built. */
export interface MutableNodeChange {
  readonly set: NodeMap;
  readonly merge: Record<string, FieldChange>;
  readonly remove: string[];
}

export const emptyChange = (): MutableNodeChange => ({ set: {}, merge: {}, remove: [] });
