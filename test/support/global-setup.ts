/**
 * Vitest global setup of the `integration` project: one DynamoDB Local for the
 * whole run; each suite makes its own table on it (see `createTestTable`).
 * Tests read the endpoint with `inject('dynamodbEndpoint')`; it is also in
 * `process.env.DYNAMODB_ENDPOINT` for code that reads its config from the
 * environment (the local runtime).
 */
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '#testkit/dynamodb-local';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Endpoint of the DynamoDB Local the integration tests share. */
    dynamodbEndpoint: string;
    /**
     * A second DynamoDB Local, for the few suites that wait for TTL to delete
     * items: its TTL job sweeps every table at 20 items per 10 s, so on the
     * shared instance the big tables of other suites would delay theirs.
     */
    ttlDynamodbEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [dynamodb, ttlDynamodb] = await Promise.all([startDynamoDbLocal(), startDynamoDbLocal()]);
  project.provide('dynamodbEndpoint', dynamodb.endpoint);
  project.provide('ttlDynamodbEndpoint', ttlDynamodb.endpoint);
  process.env.DYNAMODB_ENDPOINT = dynamodb.endpoint;
  return async () => {
    await Promise.all([dynamodb.stop(), ttlDynamodb.stop()]);
  };
}
