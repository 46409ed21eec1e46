/** The DynamoDB adapter keeps the storage port's contract, on DynamoDB Local, one table for the suite. */
import { beforeAll } from 'vitest';
import { DynamoDbStore } from '#store/dynamodb-store';
import { createTestTable, type TestTable } from '#testkit/table';
import { describeStorePort } from '../../contract/store-port.ts';

let table: TestTable;

beforeAll(async () => {
  table = await createTestTable('port');
});

describeStorePort('DynamoDB', () => new DynamoDbStore(table.documentClient, { tableName: table.tableName }));
