/**
 * The DynamoDB document client the store expects. The Lambda wiring
 * (`functions/lambda/wiring.ts`) makes one per process.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * SDK client options for another endpoint than the regional one (DynamoDB
 * Local, `npm start`'s own bus): that endpoint, with the environment's
 * credentials or dummy ones, which a local service accepts; none without
 * an endpoint, so real AWS uses the default credential chain.
 */
export function localEndpoint(endpoint: string | undefined) {
  return endpoint
    ? {
        endpoint,
        credentials: {
          accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local',
          secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
        },
      }
    : {};
}

/** A document client with the marshalling the store expects. */
export function createDocumentClient(
  config: { readonly AWS_REGION: string; readonly DYNAMODB_ENDPOINT?: string | undefined },
  instrument: (client: DynamoDBClient) => DynamoDBClient = (client) => client,
): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: config.AWS_REGION,
    maxAttempts: 4,
    ...localEndpoint(config.DYNAMODB_ENDPOINT),
  });
  return DynamoDBDocumentClient.from(instrument(client), {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}
