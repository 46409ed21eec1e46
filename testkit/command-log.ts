/**
 * Records every command a DynamoDB client sends, so tests assert on what was
 * really written rather than on a counter the code reports about itself.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { versionTableNameFor } from '#contract/tables';

export interface SentCommand {
  readonly name: string;
  readonly input: Record<string, unknown>;
}

export function recordCommands(client: DynamoDBClient | DynamoDBDocumentClient): SentCommand[] {
  const sent: SentCommand[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({
        name: String(context.commandName),
        input: structuredClone(args.input as Record<string, unknown>),
      });
      return next(args);
    },
    { step: 'initialize', name: `recordCommands-${Math.random()}` },
  );
  return sent;
}

/** Every item of the records table and of its versions table, keyed by `pk|sk`. */
export async function scanTable(
  client: DynamoDBDocumentClient,
  tableName: string,
): Promise<Map<string, Record<string, unknown>>> {
  const items = new Map<string, Record<string, unknown>>();
  for (const name of [tableName, versionTableNameFor(tableName)]) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await client.send(
        new ScanCommand({ TableName: name, ConsistentRead: true, ExclusiveStartKey: startKey }),
      );
      for (const item of output.Items ?? []) items.set(`${item.pk}|${item.sk}`, item);
      startKey = output.LastEvaluatedKey;
    } while (startKey);
  }
  return items;
}
