/** The records table: the workflow record, its commit point, its deletion and its lease. */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { WorkflowRecord, WriteCost } from '#domain/store';
import { conditionalWrite } from './conditional.ts';
import type { StoreContext } from './context.ts';
import { guarded } from './errors.ts';
import { costOf, recordItem, toRecord } from './items.ts';
import { recordSortKey, workflowKey } from './keys.ts';

export class RecordStore {
  constructor(private readonly context: StoreContext) {}

  /** Strongly consistent: a commit must see the last one. */
  async getRecord(uid: string): Promise<WorkflowRecord | undefined> {
    const { Item } = await guarded(() =>
      this.context.client.send(
        new GetCommand({
          TableName: this.context.recordsTable,
          Key: { pk: workflowKey(uid), sk: recordSortKey },
          ConsistentRead: true,
        }),
      ),
    );
    return Item ? toRecord(Item) : undefined;
  }

  /**
   * The commit point. Timeline of the race it closes:
   *
   *   t0  stop reads record at resourceVersion 7
   *   t1  controller commits 7 -> 8
   *   t2  stop's put with `resourceVersion = 7` fails; it reloads 8 and retries
   */
  async commitRecord(
    record: WorkflowRecord,
    expectedResourceVersion: number | undefined,
  ): Promise<WriteCost | 'conflict'> {
    const item = recordItem(record);
    const outcome = await conditionalWrite(() =>
      this.context.client.send(
        new PutCommand({
          TableName: this.context.recordsTable,
          Item: item,
          ...(expectedResourceVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'resourceVersion = :expected',
                ExpressionAttributeValues: { ':expected': expectedResourceVersion },
              }),
        }),
      ),
    );
    return outcome.kind === 'written' ? costOf([item]) : 'conflict';
  }

  async deleteRecord(uid: string): Promise<boolean> {
    const { Attributes } = await guarded(() =>
      this.context.client.send(
        new DeleteCommand({
          TableName: this.context.recordsTable,
          Key: { pk: workflowKey(uid), sk: recordSortKey },
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    return Attributes !== undefined;
  }

  /** Raises the record's lease, only while it still points at `nodeStatusVersion`. */
  async renewRecordLease(uid: string, nodeStatusVersion: string, leaseExpiresAt: number): Promise<boolean> {
    const outcome = await conditionalWrite(() =>
      this.context.client.send(
        new UpdateCommand({
          TableName: this.context.recordsTable,
          Key: { pk: workflowKey(uid), sk: recordSortKey },
          UpdateExpression: 'SET leaseExpiresAt = :lease',
          ConditionExpression: 'nodeStatusVersion = :version AND leaseExpiresAt < :lease',
          ExpressionAttributeValues: { ':version': nodeStatusVersion, ':lease': leaseExpiresAt },
        }),
      ),
    );
    return outcome.kind === 'written';
  }
}
