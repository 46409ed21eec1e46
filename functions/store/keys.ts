/**
 * The key schema of both tables (names from `contract/tables.ts`):
 *
 * | table    | item     | pk         | sk                                    |
 * |----------|----------|------------|---------------------------------------|
 * | records  | record   | `WF#<uid>` | `RECORD`                              |
 * | versions | manifest | `WF#<uid>` | `V#<nodeStatusVersion>`               |
 * | versions | history  | `WF#<uid>` | `T#<createdAt>#<nodeStatusVersion>`   |
 * | versions | chunk    | `WF#<uid>` | `C#<chunkId>` (`#<part>` when split)  |
 * | versions | entry    | `WF#<uid>` | `E#<seq, 12 digits>#<tag>`            |
 * | versions | upload   | `WF#<uid>` | `U#<uploadId>`                        |
 * | versions | part     | `WF#<uid>` | `U#<uploadId>#P#<partNumber>`         |
 *
 * Records carry the index keys (`namespaceKey`/`namespaceSort`,
 * `leaseShard`/`leaseExpiresAt`); nothing in the versions table has an index
 * key, so TTL can remove everything there.
 */
import { leaseShardCount } from '#contract/tables';
import type { ChunkRef, EntryKey } from '#domain/store';

export const recordSortKey = 'RECORD';
export const workflowKey = (uid: string): string => `WF#${uid}`;
export const manifestKey = (nodeStatusVersion: string): string => `V#${nodeStatusVersion}`;
export const historyKey = (createdAt: string, nodeStatusVersion: string): string =>
  `T#${createdAt}#${nodeStatusVersion}`;
/** Sort-key prefix of the history entries, newest last in key order. */
export const historyPrefix = 'T#';
/** Sort-key prefix of the log entries, in sequence order. */
export const entryPrefix = 'E#';
const seqText = (seq: number): string => String(seq).padStart(12, '0');
/** A log entry's sort key: zero-padded sequence number first, so key order is commit order. */
export const entryKey = (key: EntryKey): string =>
  key.tag === '' ? `${entryPrefix}${seqText(key.seq)}` : `${entryPrefix}${seqText(key.seq)}#${key.tag}`;
export function parseEntryKey(sk: string): EntryKey | undefined {
  const match = /^E#(\d{12})#([0-9a-z]+)$/.exec(sk);
  return match ? { seq: Number(match[1]), tag: match[2] as string } : undefined;
}
export const namespaceKey = (namespace: string): string => `NS#${namespace}`;
export const namespaceSort = (name: string, uid: string): string => `${name}#${uid}`;

export const uploadKey = (uploadId: string): string => `U#${uploadId}`;
/** Part numbers are zero-padded so that key order is part order. */
export const uploadPartKey = (uploadId: string, partNumber: number): string =>
  `U#${uploadId}#P#${String(partNumber).padStart(6, '0')}`;
export const uploadPartPrefix = (uploadId: string): string => `U#${uploadId}#P#`;

/** The sort keys of a chunk's items: one, or one per part. */
export const chunkKeys = (ref: ChunkRef): string[] =>
  ref.parts <= 1
    ? [`C#${ref.chunkId}`]
    : Array.from({ length: ref.parts }, (_, part) => `C#${ref.chunkId}#${part}`);

/** The lease-index partition of shard `index`. */
export const leaseShardKey = (index: number): string => `LEASE#${index}`;

/** Spreads the lease index over partitions by a stable hash of the uid. */
export const leaseShardOf = (uid: string): string => {
  let hash = 0;
  for (let index = 0; index < uid.length; index++) hash = (Math.imul(hash, 31) + uid.charCodeAt(index)) >>> 0;
  return leaseShardKey(hash % leaseShardCount);
};
