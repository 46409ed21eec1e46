/**
 * The key schema of both tables (names from `contract/tables.ts`):
 *
 * | table    | item     | pk         | sk                                    |
 * |----------|----------|------------|---------------------------------------|
 * | records  | record   | `WF#<uid>` | `RECORD`                              |
 * | versions | manifest | `WF#<uid>` | `V#<nodeStatusVersion>`               |
 * | versions | history  | `WF#<uid>` | `T#<createdAt>#<nodeStatusVersion>`   |
 * | versions | chunk    | `WF#<uid>` | `C#<chunkId>` (`#<part>` when split)  |
 * | versions | upload   | `WF#<uid>` | `U#<uploadId>`                        |
 * | versions | part     | `WF#<uid>` | `U#<uploadId>#P#<partNumber>`         |
 *
 * Records carry the index keys (`namespaceKey`/`namespaceSort`,
 * `leaseShard`/`leaseExpiresAt`); nothing in the versions table has an index
 * key, so TTL can remove everything there.
 */
import { leaseShardCount } from '#contract/tables';
import type { ChunkRef } from '#domain/store';

export const recordSortKey = 'RECORD';
export const workflowKey = (uid: string): string => `WF#${uid}`;
export const manifestKey = (nodeStatusVersion: string): string => `V#${nodeStatusVersion}`;
export const historyKey = (createdAt: string, nodeStatusVersion: string): string =>
  `T#${createdAt}#${nodeStatusVersion}`;
/** Sort-key prefix of the history entries, newest last in key order. */
export const historyPrefix = 'T#';
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
