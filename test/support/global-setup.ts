/**
 * Vitest global setup of the `integration` project: one DynamoDB Local for the
 * whole run; each suite makes its own table on it (see `createTestTable`).
 * Tests read the endpoint with `inject('dynamodbEndpoint')`; it is also in
 * `process.env.DYNAMODB_ENDPOINT` for code that reads its config from the
 * environment (the local runtime).
 */
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from './dynamodb-local.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Endpoint of the DynamoDB Local the integration tests share. */
    dynamodbEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dynamodb = await startDynamoDbLocal();
  project.provide('dynamodbEndpoint', dynamodb.endpoint);
  process.env.DYNAMODB_ENDPOINT = dynamodb.endpoint;
  return () => dynamodb.stop();
}
