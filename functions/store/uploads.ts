/**
 * Upload items of the versions table: the upload itself and one item per
 * part, listing the buckets it stored as chunks (fixed-width binary
 * columns, so a part of thousands of buckets stays far inside one item).
 * Everything here expires by TTL; nothing refers to it until a commit
 * writes a manifest and the record.
 */
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { nodePhases } from '#contract/workflow';
import type { Upload, UploadedBucket, UploadPart, WriteCost } from '#domain/store';
import type { Item } from './batch.ts';
import type { StoreContext } from './context.ts';
import { guarded } from './errors.ts';
import { costOf } from './items.ts';
import { uploadKey, uploadPartKey, uploadPartPrefix, workflowKey } from './keys.ts';

/**
 * 32 bytes of chunk id; index, parts, stored bytes, raw bytes, node count and
 * lease (uint32 each); the phase mask (uint8), the type mask (uint16) and a
 * spare byte; then the count of each node phase (uint16 each, in
 * `nodePhases` order).
 */
const bucketWidth = 32 + 6 * 4 + 4 + nodePhases.length * 2;

function packBuckets(buckets: readonly UploadedBucket[]): Buffer {
  const out = Buffer.alloc(buckets.length * bucketWidth);
  buckets.forEach((bucket, position) => {
    const offset = position * bucketWidth;
    out.write(bucket.chunkId, offset, 'hex');
    [
      bucket.index,
      bucket.parts,
      bucket.storedBytes,
      bucket.rawBytes,
      bucket.nodeCount,
      bucket.leaseExpiresAt,
    ].forEach((value, field) => {
      out.writeUInt32BE(value, offset + 32 + field * 4);
    });
    out.writeUInt8(bucket.phaseMask ?? 0xff, offset + 56);
    out.writeUInt16BE(bucket.typeMask ?? 0xffff, offset + 57);
    nodePhases.forEach((phase, index) => {
      out.writeUInt16BE(bucket.phaseCounts[phase] ?? 0, offset + 60 + index * 2);
    });
  });
  return out;
}

function unpackBuckets(data: Uint8Array): UploadedBucket[] {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Array.from({ length: buffer.length / bucketWidth }, (_, position) => {
    const offset = position * bucketWidth;
    const field = (index: number) => buffer.readUInt32BE(offset + 32 + index * 4);
    return {
      chunkId: buffer.toString('hex', offset, offset + 32),
      index: field(0),
      parts: field(1),
      storedBytes: field(2),
      rawBytes: field(3),
      nodeCount: field(4),
      leaseExpiresAt: field(5),
      phaseMask: buffer.readUInt8(offset + 56),
      typeMask: buffer.readUInt16BE(offset + 57),
      phaseCounts: Object.fromEntries(
        nodePhases.flatMap((phase, index) => {
          const count = buffer.readUInt16BE(offset + 60 + index * 2);
          return count > 0 ? [[phase, count]] : [];
        }),
      ),
    };
  });
}

export class UploadStore {
  constructor(private readonly context: StoreContext) {}

  async putUpload(upload: Upload): Promise<WriteCost> {
    const item: Item = { pk: workflowKey(upload.uid), sk: uploadKey(upload.uploadId), ...upload };
    await guarded(() =>
      this.context.client.send(new PutCommand({ TableName: this.context.versionsTable, Item: item })),
    );
    return costOf([item]);
  }

  async getUpload(uid: string, uploadId: string): Promise<Upload | undefined> {
    const { Item } = await guarded(() =>
      this.context.client.send(
        new GetCommand({
          TableName: this.context.versionsTable,
          Key: { pk: workflowKey(uid), sk: uploadKey(uploadId) },
          ConsistentRead: true,
        }),
      ),
    );
    if (!Item) return undefined;
    return {
      uid: Item.uid as string,
      uploadId: Item.uploadId as string,
      namespace: Item.namespace as string,
      name: Item.name as string,
      ...(typeof Item.phase === 'string' ? { phase: Item.phase } : {}),
      ...(typeof Item.message === 'string' ? { message: Item.message } : {}),
      nodeCount: Number(Item.nodeCount),
      bucketCount: Number(Item.bucketCount),
      ...(typeof Item.baseVersion === 'string' ? { baseVersion: Item.baseVersion } : {}),
      createdAt: Item.createdAt as string,
      expiresAt: Number(Item.expiresAt),
    };
  }

  async putUploadPart(uid: string, uploadId: string, part: UploadPart): Promise<WriteCost> {
    const item: Item = {
      pk: workflowKey(uid),
      sk: uploadPartKey(uploadId, part.partNumber),
      partNumber: part.partNumber,
      buckets: packBuckets(part.buckets),
      expiresAt: part.expiresAt,
    };
    await guarded(() =>
      this.context.client.send(new PutCommand({ TableName: this.context.versionsTable, Item: item })),
    );
    return costOf([item]);
  }

  async listUploadParts(uid: string, uploadId: string): Promise<UploadPart[]> {
    const parts: UploadPart[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await guarded(() =>
        this.context.client.send(
          new QueryCommand({
            TableName: this.context.versionsTable,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :parts)',
            ExpressionAttributeValues: { ':pk': workflowKey(uid), ':parts': uploadPartPrefix(uploadId) },
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      for (const item of output.Items ?? []) {
        parts.push({
          partNumber: Number(item.partNumber),
          buckets: unpackBuckets(item.buckets as Uint8Array),
          expiresAt: Number(item.expiresAt),
        });
      }
      startKey = output.LastEvaluatedKey;
    } while (startKey);
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }
}
