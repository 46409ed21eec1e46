/** What every per-concern store of the DynamoDB adapter shares: the client, the table names and the batch policy. */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { WriteCost } from '#domain/store';
import type { BatchOptions, Item } from './batch.ts';
import { conditionalWrite } from './conditional.ts';
import { costOf, noCost } from './items.ts';

export interface StoreContext {
  readonly client: DynamoDBDocumentClient;
  /** The records table. */
  readonly recordsTable: string;
  /** The versions table (manifests, history entries, chunks; TTL). */
  readonly versionsTable: string;
  readonly batch: BatchOptions;
}

/**
 * Raises `expiresAt` of an item of the versions table, never lowers it, and
 * never creates an item. Undefined when the item no longer exists; a cost of
 * nothing when its lease was already at least as long:
 *
 *   t0  writer A (clock ahead) renews chunk to T+2R+skew
 *   t1  writer B (clock behind) renews to T+2R-skew: condition fails, lease kept
 */
export async function extendExpiry(
  context: StoreContext,
  key: { readonly pk: string; readonly sk: string },
  expiresAt: number,
): Promise<WriteCost | undefined> {
  const outcome = await conditionalWrite(() =>
    context.client.send(
      new UpdateCommand({
        TableName: context.versionsTable,
        Key: key,
        UpdateExpression: 'SET expiresAt = :expiresAt',
        ConditionExpression: 'attribute_exists(pk) AND expiresAt < :expiresAt',
        ExpressionAttributeValues: { ':expiresAt': expiresAt },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    ),
  );
  if (outcome.kind === 'written') return costOf([(outcome.output.Attributes as Item | undefined) ?? key]);
  return outcome.item ? noCost : undefined;
}
