/**
 * DynamoDB Local for the tests and the benchmarks: the same start and stop logic `npm start`
 * uses (`local/dynamodb-local.ts`), in memory on a free port.
 */
export {
  assertJavaAvailable,
  type DynamoDbLocal,
  findFreePort,
  type StartDynamoDbLocalOptions,
  startDynamoDbLocal,
} from '#local/dynamodb-local';
