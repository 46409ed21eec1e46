/**
 * DynamoDB for the benchmark and the race harness: the endpoint in
 * `DYNAMODB_ENDPOINT` if set, otherwise a DynamoDB Local of our own, started
 * on a free port and stopped again (also on Ctrl-C), so no Java process is
 * left behind. Every strategy gets a table of its own, created exactly as
 * the deployed one (`ensureTable`).
 */
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTable } from '#store/table-definition';
import { startDynamoDbLocal } from '#testkit/dynamodb-local';

export interface BenchDatabase {
  readonly endpoint: string;
  /** True when this process started DynamoDB Local (and will stop it). */
  readonly ownsProcess: boolean;
  /** A fresh table with the service's definition, and a document client of its own. */
  createTable(prefix: string): Promise<BenchTable>;
  /** Deletes the tables it created (on a shared endpoint) and stops DynamoDB Local if it started it. */
  close(): Promise<void>;
}

export interface BenchTable {
  /** The table the store is configured with (its records table). */
  readonly tableName: string;
  /**
   * Every table `ensureTable` made for it: the table itself and any companion
   * (such as a separate table for versions), so that a sum of stored bytes
   * misses nothing.
   */
  readonly tableNames: readonly string[];
  readonly client: DynamoDBClient;
  readonly documentClient: DynamoDBDocumentClient;
}

export function lowLevelClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    },
    maxAttempts: 4,
  });
}

export const documentClientOf = (client: DynamoDBClient): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });

/**
 * Opens the database. `log` gets one line about what was started.
 *
 * @example
 * const database = await openDatabase(console.error);
 * try {
 *   const table = await database.createTable('bench-a');
 * } finally {
 *   await database.close();
 * }
 */
export async function openDatabase(
  log: (line: string) => void = () => {},
  external: string | undefined = process.env.DYNAMODB_ENDPOINT,
): Promise<BenchDatabase> {
  const local = external ? undefined : await startDynamoDbLocal();
  const endpoint = external ?? (local?.endpoint as string);
  log(external ? `DynamoDB: ${endpoint} (DYNAMODB_ENDPOINT)` : `DynamoDB Local started on ${endpoint}`);

  const created: BenchTable[] = [];
  const onSignal = (signal: NodeJS.Signals) => {
    // Stop Java before leaving; the exit hook of startDynamoDbLocal is the last resort.
    void (local ? local.stop() : Promise.resolve()).finally(() =>
      process.exit(signal === 'SIGINT' ? 130 : 143),
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  return {
    endpoint,
    ownsProcess: local !== undefined,
    async createTable(prefix) {
      const client = lowLevelClient(endpoint);
      const tableName = `${prefix}-${randomUUID().slice(0, 8)}`;
      await ensureTable(client, tableName);
      const tableNames = await tablesStartingWith(client, tableName);
      const table = { tableName, tableNames, client, documentClient: documentClientOf(client) };
      created.push(table);
      return table;
    },
    async close() {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      if (!local) {
        // On someone else's DynamoDB, leave nothing behind.
        for (const table of created) {
          for (const name of table.tableNames) {
            await table.client.send(new DeleteTableCommand({ TableName: name })).catch(() => {});
          }
        }
      }
      for (const table of created) table.client.destroy();
      await local?.stop();
    },
  };
}

async function tablesStartingWith(client: DynamoDBClient, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let start: string | undefined;
  do {
    const output = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    names.push(...(output.TableNames ?? []).filter((name) => name.startsWith(prefix)));
    start = output.LastEvaluatedTableName;
  } while (start);
  return names.sort();
}
