/**
 * DynamoDB clients and the service wired to them. Handlers call
 * `serviceFromEnvironment()` at module load, so a warm Lambda reuses one
 * client and its connections.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Config, loadConfig } from '#config';
import { WorkflowService } from '#domain/workflow-service';
import { DynamoDbStore } from './dynamodb-store.ts';

/** A document client with the marshalling the store expects. */
export function createDocumentClient(
  config: Pick<Config, 'AWS_REGION' | 'DYNAMODB_ENDPOINT'>,
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
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}

export interface Wiring {
  readonly config: Config;
  readonly documentClient: DynamoDBDocumentClient;
  readonly store: DynamoDbStore;
  readonly service: WorkflowService;
}

/** The service on the table and settings the configuration names. */
export function createWiring(config: Config, documentClient = createDocumentClient(config)): Wiring {
  const store = new DynamoDbStore(documentClient, {
    tableName: config.WFO_TABLE_NAME,
    ...(config.WFO_VERSIONS_TABLE_NAME ? { versionsTableName: config.WFO_VERSIONS_TABLE_NAME } : {}),
  });
  const service = new WorkflowService(store, {
    retentionSeconds: config.WFO_RETENTION_SECONDS,
    inlineMaxBytes: config.WFO_INLINE_MAX_BYTES,
    alwaysOffload: config.WFO_ALWAYS_OFFLOAD,
    maxNodes: config.WFO_MAX_NODES,
  });
  return { config, documentClient, store, service };
}

let wiring: Wiring | undefined;

/** One wiring per process, from `process.env`. */
export function serviceFromEnvironment(): Wiring {
  wiring ??= createWiring(loadConfig());
  return wiring;
}
