/**
 * Cross-checks the capacity rule of `functions/store/item-size.ts` against
 * what DynamoDB (Local) reports with `ReturnConsumedCapacity: 'TOTAL'`, on
 * single-item PutItem and GetItem requests of several sizes. Transactions
 * are left out on purpose: DynamoDB Local's numbers for them are not
 * DynamoDB's.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { itemSize, readUnitsFor, writeUnitsFor } from '#store/item-size';
import type { BenchTable } from './support/dynamodb.ts';

export interface CapacityCheckRow {
  readonly itemBytes: number;
  readonly ruleWriteUnits: number;
  readonly reportedWriteUnits: number | undefined;
  readonly ruleReadUnitsConsistent: number;
  readonly reportedReadUnitsConsistent: number | undefined;
  readonly ruleReadUnitsEventual: number;
  readonly reportedReadUnitsEventual: number | undefined;
}

/** Item sizes around the 1 KB write and 4 KB read boundaries, up to the 400 KB limit. */
export const checkedSizes = [100, 1_000, 1_024, 1_025, 4_096, 4_097, 10_000, 100_000, 399_000] as const;

export async function checkCapacityRule(table: BenchTable): Promise<CapacityCheckRow[]> {
  const rows: CapacityCheckRow[] = [];
  for (const [index, target] of checkedSizes.entries()) {
    const key = { pk: 'CAPACITY', sk: `S#${index}` };
    const overhead = itemSize({ ...key, data: new Uint8Array(0) });
    const item = { ...key, data: new Uint8Array(Math.max(0, target - overhead)).fill(7) };
    const size = itemSize(item);
    const put = await table.documentClient.send(
      new PutCommand({ TableName: table.tableName, Item: item, ReturnConsumedCapacity: 'TOTAL' }),
    );
    const consistent = await table.documentClient.send(
      new GetCommand({
        TableName: table.tableName,
        Key: key,
        ConsistentRead: true,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    const eventual = await table.documentClient.send(
      new GetCommand({ TableName: table.tableName, Key: key, ReturnConsumedCapacity: 'TOTAL' }),
    );
    rows.push({
      itemBytes: size,
      ruleWriteUnits: writeUnitsFor(size),
      reportedWriteUnits: put.ConsumedCapacity?.CapacityUnits,
      ruleReadUnitsConsistent: readUnitsFor(size, true),
      reportedReadUnitsConsistent: consistent.ConsumedCapacity?.CapacityUnits,
      ruleReadUnitsEventual: readUnitsFor(size, false),
      reportedReadUnitsEventual: eventual.ConsumedCapacity?.CapacityUnits,
    });
  }
  return rows;
}
