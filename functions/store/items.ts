/**
 * Items and their domain shapes: records, summaries and manifests from and
 * to DynamoDB items, the packed binary columns of a manifest's chunk list,
 * and what a write costs by DynamoDB's published rules.
 */
import type { StopStrategy } from '#contract/workflow';
import type {
  Manifest,
  ManifestChunk,
  VersionSummary,
  WorkflowRecord,
  WorkflowSummary,
  WriteCost,
} from '#domain/store';
import type { PhaseCounts } from '#domain/summaries';
import type { Item } from './batch.ts';
import { itemSize, writeUnitsFor } from './item-size.ts';
import { leaseShardOf, namespaceKey, namespaceSort, recordSortKey, workflowKey } from './keys.ts';

/** Fixed-width binary columns keep a manifest of hundreds of chunks small. */
export function packManifestChunks(chunks: readonly ManifestChunk[]) {
  const ids = Buffer.alloc(chunks.length * 32);
  const numbers = Buffer.alloc(chunks.length * 12);
  // Per chunk: a known flag, the phase mask, the type mask (see functions/domain/summaries.ts).
  const masks = Buffer.alloc(chunks.length * 4);
  chunks.forEach((chunk, index) => {
    ids.write(chunk.chunkId, index * 32, 'hex');
    numbers.writeUInt32BE(chunk.parts, index * 12);
    numbers.writeUInt32BE(chunk.leaseExpiresAt, index * 12 + 4);
    numbers.writeUInt32BE(chunk.storedBytes, index * 12 + 8);
    if (chunk.phaseMask !== undefined && chunk.typeMask !== undefined) {
      masks.writeUInt8(1, index * 4);
      masks.writeUInt8(chunk.phaseMask, index * 4 + 1);
      masks.writeUInt16BE(chunk.typeMask, index * 4 + 2);
    }
  });
  return { chunkIds: ids, chunkNumbers: numbers, chunkMasks: masks };
}

export function unpackManifestChunks(
  ids: Uint8Array | undefined,
  numbers: Uint8Array | undefined,
  masks?: Uint8Array,
): ManifestChunk[] {
  if (!ids || !numbers) return [];
  const idBuffer = Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength);
  const numberBuffer = Buffer.from(numbers.buffer, numbers.byteOffset, numbers.byteLength);
  const maskBuffer = masks ? Buffer.from(masks.buffer, masks.byteOffset, masks.byteLength) : undefined;
  const count = idBuffer.length / 32;
  return Array.from({ length: count }, (_, index) => {
    // Manifests written before the masks existed have none: unknown, so any phase may be there.
    const known =
      maskBuffer !== undefined && maskBuffer.length > index * 4 && maskBuffer.readUInt8(index * 4) === 1;
    return {
      chunkId: idBuffer.toString('hex', index * 32, index * 32 + 32),
      parts: numberBuffer.readUInt32BE(index * 12),
      leaseExpiresAt: numberBuffer.readUInt32BE(index * 12 + 4),
      storedBytes: numberBuffer.readUInt32BE(index * 12 + 8),
      ...(known
        ? {
            phaseMask: (maskBuffer as Buffer).readUInt8(index * 4 + 1),
            typeMask: (maskBuffer as Buffer).readUInt16BE(index * 4 + 2),
          }
        : {}),
    };
  });
}

export const costOf = (items: readonly Record<string, unknown>[]): WriteCost => {
  let bytes = 0;
  let writeUnits = 0;
  for (const item of items) {
    const size = itemSize(item);
    bytes += size;
    writeUnits += writeUnitsFor(size);
  }
  return { items: items.length, bytes, writeUnits };
};

export const sumCosts = (costs: readonly WriteCost[]): WriteCost =>
  costs.reduce(
    (sum, cost) => ({
      items: sum.items + cost.items,
      bytes: sum.bytes + cost.bytes,
      writeUnits: sum.writeUnits + cost.writeUnits,
    }),
    { items: 0, bytes: 0, writeUnits: 0 },
  );

export function toRecord(item: Item): WorkflowRecord {
  return {
    uid: item.uid as string,
    namespace: item.namespace as string,
    name: item.name as string,
    phase: item.phase as string,
    ...(item.message !== undefined ? { message: item.message as string } : {}),
    ...(item.shutdown !== undefined ? { shutdown: item.shutdown as StopStrategy } : {}),
    resourceVersion: Number(item.resourceVersion),
    nodeStatusVersion: item.nodeStatusVersion as string,
    ...(typeof item.previousNodeStatusVersion === 'string'
      ? { previousNodeStatusVersion: item.previousNodeStatusVersion }
      : {}),
    nodeCount: Number(item.nodeCount),
    ...(isObject(item.phaseCounts) ? { phaseCounts: item.phaseCounts as PhaseCounts } : {}),
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
    leaseExpiresAt: Number(item.leaseExpiresAt),
    codec: item.codec as string,
    ...(item.inline !== undefined ? { inline: item.inline as Uint8Array[] } : {}),
    ...(isLog(item.log)
      ? {
          log: {
            head: { seq: Number(item.log.head.seq), tag: item.log.head.tag },
            chainStart: Number(item.log.chainStart),
          },
        }
      : {}),
  };
}

const isLog = (value: unknown): value is { head: { seq: number; tag: string }; chainStart: number } =>
  isObject(value) &&
  isObject((value as { head?: unknown }).head) &&
  typeof (value as { head: { tag?: unknown } }).head.tag === 'string';

export function toSummary(item: Item): WorkflowSummary {
  const {
    inline: _inline,
    leaseExpiresAt: _lease,
    codec: _codec,
    previousNodeStatusVersion: _previous,
    log: _log,
    ...summary
  } = toRecord({
    ...item,
    leaseExpiresAt: 0,
    codec: '',
  });
  return summary;
}

export function toManifest(uid: string, item: Item): Manifest {
  return {
    uid,
    nodeStatusVersion: item.nodeStatusVersion as string,
    codec: item.codec as string,
    bucketCount: Number(item.bucketCount),
    nodeCount: Number(item.nodeCount),
    rawBytes: Number(item.rawBytes),
    storedBytes: Number(item.storedBytes),
    createdAt: item.createdAt as string,
    expiresAt: Number(item.expiresAt),
    chunks: unpackManifestChunks(
      item.chunkIds as Uint8Array | undefined,
      item.chunkNumbers as Uint8Array | undefined,
      item.chunkMasks as Uint8Array | undefined,
    ),
    ...(isObject(item.phaseCounts) ? { phaseCounts: item.phaseCounts as PhaseCounts } : {}),
    ...(item.inline !== undefined ? { inline: item.inline as Uint8Array[] } : {}),
  };
}

/** A history entry (chunk layout) or a log entry read for its history fields, as a listed version. */
export function toVersionSummary(item: Item): VersionSummary {
  return {
    nodeStatusVersion: item.nodeStatusVersion as string,
    createdAt: item.createdAt as string,
    expiresAt: Number(item.expiresAt),
    nodeCount: Number(item.nodeCount),
    storedBytes: Number(item.storedBytes),
    ...(isObject(item.phaseCounts) ? { phaseCounts: item.phaseCounts as PhaseCounts } : {}),
    ...(typeof item.parentVersion === 'string' ? { parentVersion: item.parentVersion } : {}),
  };
}

export const isObject = (value: unknown): boolean =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The record as its item, with the index keys it carries. */
export const recordItem = (record: WorkflowRecord): Item => ({
  pk: workflowKey(record.uid),
  sk: recordSortKey,
  ...record,
  namespaceKey: namespaceKey(record.namespace),
  namespaceSort: namespaceSort(record.name, record.uid),
  leaseShard: leaseShardOf(record.uid),
});

/** Nothing was written. */
export const noCost: WriteCost = { items: 0, bytes: 0, writeUnits: 0 };
