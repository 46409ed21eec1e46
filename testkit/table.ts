/**
 * Fresh tables per suite on the DynamoDB Local the global setup started,
 * created exactly as the deployed ones (`ensureTable`).
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { versionTableNameFor } from '#contract/tables';
import { ensureTable } from '#store/table-definition';

/** A table of its own for one suite, and clients bound to DynamoDB Local. */
export interface TestTable {
  /** The records table (indexes, no TTL). */
  readonly tableName: string;
  /** The versions table (TTL on `expiresAt`, no index): `versionTableNameFor(tableName)`. */
  readonly versionsTableName: string;
  /** The DynamoDB Local both tables are on. */
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly documentClient: DynamoDBDocumentClient;
}

/** The endpoint of the shared DynamoDB Local; only valid inside the `integration` project. */
export function dynamodbEndpoint(): string {
  const endpoint = inject('dynamodbEndpoint') ?? process.env.DYNAMODB_ENDPOINT;
  if (!endpoint) {
    throw new Error(
      'no DynamoDB Local endpoint: run this test in the integration project (test/integration/)',
    );
  }
  return endpoint;
}

/** A DynamoDB client for DynamoDB Local: region us-east-1, dummy credentials. */
export function localDynamoDbClient(endpoint = dynamodbEndpoint()): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/**
 * Creates a uniquely named pair of tables with the service's definitions
 * (records: keys and GSIs; versions: keys and TTL) and returns their names with
 * a low-level and a document client.
 *
 * @example
 * let testTable: TestTable;
 * beforeAll(async () => {
 *   testTable = await createTestTable('persist');
 * });
 */
export async function createTestTable(prefix = 'test', endpoint = dynamodbEndpoint()): Promise<TestTable> {
  const tableName = `${prefix}-${randomUUID()}`;
  const client = localDynamoDbClient(endpoint);
  await ensureTable(client, tableName);
  const documentClient = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
  return { tableName, versionsTableName: versionTableNameFor(tableName), endpoint, client, documentClient };
}

/**
 * Like {@link createTestTable}, on the DynamoDB Local kept for suites that
 * wait for TTL deletes: only small tables live there, so its TTL job gets
 * round to them within seconds.
 */
export async function createTtlTestTable(prefix = 'ttl'): Promise<TestTable> {
  return createTestTable(prefix, inject('ttlDynamodbEndpoint'));
}
