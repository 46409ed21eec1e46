/**
 * The DynamoDB document client the store expects. The Lambda wiring
 * (`functions/lambda/wiring.ts`) makes one per process.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** A document client with the marshalling the store expects. */
export function createDocumentClient(
  config: { readonly AWS_REGION: string; readonly DYNAMODB_ENDPOINT?: string | undefined },
  instrument: (client: DynamoDBClient) => DynamoDBClient = (client) => client,
): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: config.AWS_REGION,
    maxAttempts: 4,
    ...(config.DYNAMODB_ENDPOINT
      ? {
          endpoint: config.DYNAMODB_ENDPOINT,
          // DynamoDB Local accepts any credentials; real AWS uses the default chain.
          credentials: {
            accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local',
            secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
          },
        }
      : {}),
  });
  return DynamoDBDocumentClient.from(instrument(client), {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}
