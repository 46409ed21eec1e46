/**
 * The two indexes of the records table: listing a namespace (byNamespace,
 * then the records it names) and finding the leases the renewer must extend
 * (byLease, sharded), without a scan.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { leaseShardCount, table } from '#contract/tables';
import { ValidationError } from '#domain/errors';
import type { LeaseEntry, Page, WorkflowSummary } from '#domain/store';
import { batchGet, type Item } from './batch.ts';
import type { StoreContext } from './context.ts';
import { decodeCursor, encodeCursor } from './cursors.ts';
import { guarded } from './errors.ts';
import { toSummary } from './items.ts';
import { leaseShardKey, namespaceKey } from './keys.ts';

export class IndexStore {
  constructor(private readonly context: StoreContext) {}

  async listRecords(namespace: string, limit: number, cursor?: string): Promise<Page<WorkflowSummary>> {
    const index = table.indexes.byNamespace;
    const startKey = cursor
      ? decodeCursor(cursor, ['pk', 'sk', index.partitionKey, index.sortKey])
      : undefined;
    if (startKey && startKey[index.partitionKey] !== namespaceKey(namespace)) {
      throw new ValidationError('the `next` token belongs to another namespace; start from the first page');
    }
    const output = await guarded(() =>
      this.context.client.send(
        new QueryCommand({
          TableName: this.context.recordsTable,
          IndexName: index.indexName,
          KeyConditionExpression: '#namespaceKey = :namespaceKey',
          ExpressionAttributeNames: { '#namespaceKey': index.partitionKey },
          ExpressionAttributeValues: { ':namespaceKey': namespaceKey(namespace) },
          Limit: limit,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      ),
    );
    // The index holds keys only (a commit must not write to it): read the
    // records themselves, in the index's order. A record deleted since is left out.
    const keys = (output.Items ?? []).map((item) => ({ pk: item.pk, sk: item.sk }));
    const records = new Map<string, Item>();
    await batchGet(
      this.context.client,
      this.context.recordsTable,
      keys,
      false,
      records,
      this.context.batch,
      (item) => item.pk as string,
    );
    return {
      items: keys.flatMap((key) => {
        const record = records.get(key.pk as string);
        return record ? [toSummary(record)] : [];
      }),
      ...(output.LastEvaluatedKey ? { next: encodeCursor(output.LastEvaluatedKey) } : {}),
    };
  }

  async findShortLeases(before: number, limit: number, cursor?: string): Promise<Page<LeaseEntry>> {
    const index = table.indexes.byLease;
    let shard = 0;
    let startKey: Record<string, string | number> | undefined;
    if (cursor) {
      const decoded = decodeCursor(cursor, ['shard', 'key']) as { shard: number; key: string };
      shard = Number(decoded.shard);
      startKey =
        decoded.key === ''
          ? undefined
          : decodeCursor(decoded.key, ['pk', 'sk', index.partitionKey, index.sortKey]);
    }
    while (shard < leaseShardCount) {
      const output = await guarded(() =>
        this.context.client.send(
          new QueryCommand({
            TableName: this.context.recordsTable,
            IndexName: index.indexName,
            KeyConditionExpression: '#shard = :shard AND #lease < :before',
            ExpressionAttributeNames: { '#shard': index.partitionKey, '#lease': index.sortKey },
            ExpressionAttributeValues: { ':shard': leaseShardKey(shard), ':before': before },
            Limit: limit,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      const items = (output.Items ?? []).map((item) => ({
        uid: item.uid as string,
        leaseExpiresAt: Number(item.leaseExpiresAt),
      }));
      if (output.LastEvaluatedKey) {
        startKey = output.LastEvaluatedKey as Record<string, string | number>;
      } else {
        shard++;
        startKey = undefined;
      }
      if (items.length > 0) {
        const next =
          shard < leaseShardCount
            ? encodeCursor({ shard, key: startKey ? encodeCursor(startKey) : '' })
            : undefined;
        return { items, ...(next ? { next } : {}) };
      }
    }
    return { items: [] };
  }

  async minimumLease(): Promise<number | undefined> {
    const index = table.indexes.byLease;
    const leases = await Promise.all(
      Array.from({ length: leaseShardCount }, async (_, shard) => {
        const output = await guarded(() =>
          this.context.client.send(
            new QueryCommand({
              TableName: this.context.recordsTable,
              IndexName: index.indexName,
              KeyConditionExpression: '#shard = :shard',
              ExpressionAttributeNames: { '#shard': index.partitionKey },
              ExpressionAttributeValues: { ':shard': leaseShardKey(shard) },
              Limit: 1,
            }),
          ),
        );
        const item = output.Items?.[0];
        return item ? Number(item.leaseExpiresAt) : undefined;
      }),
    );
    const known = leases.filter((lease): lease is number => lease !== undefined);
    return known.length > 0 ? Math.min(...known) : undefined;
  }
}
