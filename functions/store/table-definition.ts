/**
 * The DynamoDB tables as CreateTable requests, built from the one description
 * in `contract/tables.ts` that the CDK stack reads too, so the table
 * the tests and `npm start` create is the table that is deployed.
 */
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { keyAttributeTypes, table, versionTable, versionTableNameFor } from '#contract/tables';

type KeyAttributeName = keyof typeof keyAttributeTypes;

const attributeDefinition = (name: KeyAttributeName): AttributeDefinition => ({
  AttributeName: name,
  AttributeType: keyAttributeTypes[name],
});

/**
 * The CreateTable input of the records table: `pk`/`sk` string keys, the
 * `byNamespace` and `byLease` global secondary indexes with INCLUDE
 * projections, on-demand billing, no TTL, and a stream of new and old
 * images (the change events' source).
 *
 * @example
 * await client.send(new CreateTableCommand(createTableInput('workflow-offload')));
 */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const indexes = Object.values(table.indexes);
  const keyNames: KeyAttributeName[] = [
    table.partitionKey,
    table.sortKey,
    ...indexes.flatMap((index) => [index.partitionKey, index.sortKey]),
  ];
  const globalSecondaryIndexes: GlobalSecondaryIndex[] = indexes.map((index) => ({
    IndexName: index.indexName,
    KeySchema: [
      { AttributeName: index.partitionKey, KeyType: 'HASH' },
      { AttributeName: index.sortKey, KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.nonKeyAttributes] },
  }));
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...new Set(keyNames)].map(attributeDefinition),
    KeySchema: [
      { AttributeName: table.partitionKey, KeyType: 'HASH' },
      { AttributeName: table.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: globalSecondaryIndexes,
    StreamSpecification: { StreamEnabled: true, StreamViewType: table.stream },
  };
}

/**
 * Turns on the records table's stream when a table made before it existed
 * (kept data of `npm start`) has none. Returns the stream's ARN.
 */
async function enableStream(client: DynamoDBClient, tableName: string): Promise<string> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  if (Table?.StreamSpecification?.StreamEnabled && Table.LatestStreamArn) {
    if (Table.StreamSpecification.StreamViewType !== table.stream) {
      throw new Error(
        `table ${tableName} streams ${Table.StreamSpecification.StreamViewType}, the change events need ${table.stream}: turn its stream off, then start again`,
      );
    }
    return Table.LatestStreamArn;
  }
  await client.send(
    new UpdateTableCommand({
      TableName: tableName,
      StreamSpecification: { StreamEnabled: true, StreamViewType: table.stream },
    }),
  );
  await waitUntilActive(client, tableName);
  const { Table: updated } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  if (!updated?.LatestStreamArn) throw new Error(`table ${tableName} has no stream after enabling it`);
  return updated.LatestStreamArn;
}

/** How long {@link ensureTable} waits for the table and its indexes to become ACTIVE. */
const activeTimeoutMs = 120_000;
const pollIntervalMs = 250;

// By name rather than instanceof: a second copy of the SDK in node_modules
// would make instanceof fail for the very same error.
const isNamed = (error: unknown, name: string): boolean => error instanceof Error && error.name === name;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + activeTimeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every(
      (index) => index.IndexStatus === 'ACTIVE',
    );
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    if (Date.now() > deadline) {
      throw new Error(`table '${tableName}' is not ACTIVE after ${activeTimeoutMs / 1000} s`);
    }
    await sleep(pollIntervalMs);
  }
}

async function enableTimeToLive(client: DynamoDBClient, tableName: string): Promise<void> {
  const attributeName = versionTable.timeToLiveAttribute;
  const { TimeToLiveDescription } = await client.send(
    new DescribeTimeToLiveCommand({ TableName: tableName }),
  );
  const status = TimeToLiveDescription?.TimeToLiveStatus;
  if (
    (status === 'ENABLED' || status === 'ENABLING') &&
    TimeToLiveDescription?.AttributeName === attributeName
  ) {
    return;
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: attributeName, Enabled: true },
      }),
    );
  } catch (error) {
    // Two processes may ensure the same table at once; the loser is told TTL
    // is already enabled, which is the state it wanted.
    if (error instanceof Error && /already enabled/i.test(error.message)) return;
    throw error;
  }
}

/**
 * The CreateTable input of the versions table: `pk`/`sk` string keys, no
 * index, on-demand billing. TTL is set by {@link ensureTable}.
 */
export function createVersionTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: versionTable.partitionKey, AttributeType: 'S' },
      { AttributeName: versionTable.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: versionTable.partitionKey, KeyType: 'HASH' },
      { AttributeName: versionTable.sortKey, KeyType: 'RANGE' },
    ],
  };
}

async function createIfAbsent(client: DynamoDBClient, input: CreateTableCommandInput): Promise<void> {
  const tableName = input.TableName as string;
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!isNamed(error, 'ResourceNotFoundException')) throw error;
    try {
      await client.send(new CreateTableCommand(input));
    } catch (createError) {
      // Someone else created it between our describe and create: fine.
      if (!isNamed(createError, 'ResourceInUseException')) throw createError;
    }
  }
  await waitUntilActive(client, tableName);
}

/**
 * Creates the records table and the versions table if they do not exist,
 * waits until they and their indexes are ACTIVE, and enables TTL on the
 * versions table's `expiresAt` and the records table's stream. Safe to call
 * on every start and from several processes at once. Resolves with the
 * records table's stream ARN.
 *
 * @example
 * const client = new DynamoDBClient({ endpoint: 'http://127.0.0.1:8000' });
 * await ensureTable(client, 'workflow-offload'); // and 'workflow-offload-versions'
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  versionsTableName = versionTableNameFor(tableName),
): Promise<{ readonly streamArn: string }> {
  await Promise.all([
    createIfAbsent(client, createTableInput(tableName)),
    createIfAbsent(client, createVersionTableInput(versionsTableName)),
  ]);
  await enableTimeToLive(client, versionsTableName);
  return { streamArn: await enableStream(client, tableName) };
}
