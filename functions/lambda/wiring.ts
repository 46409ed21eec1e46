/**
 * What a handler is built from: the settings, the store and the service on
 * it. `wiring()` builds the one a Lambda process uses, from `process.env`, at
 * module load (a warm Lambda reuses its client and connections); tests build
 * their own with {@link createWiring} and pass it to a handler factory
 * (`makeGetWorkflow(wiring)`), so no test needs to set `process.env`.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { WorkflowStore } from '#domain/store';
import { type ServiceSettings, WorkflowService } from '#domain/workflow-service';
import { createDocumentClient } from '#store/clients';
import { DynamoDbStore } from '#store/dynamodb-store';
import { type Config, loadConfig } from './config.ts';
import { tracer } from './observability.ts';

export interface Wiring {
  readonly config: Config;
  readonly store: WorkflowStore;
  readonly service: WorkflowService;
}

/** A wiring on the DynamoDB adapter, with its client (tests mock its failures). */
export interface DynamoDbWiring extends Wiring {
  readonly store: DynamoDbStore;
  readonly documentClient: DynamoDBDocumentClient;
}

/** The service on any store, with the domain settings the configuration names. */
export function serviceOn(
  store: WorkflowStore,
  config: Config,
  settings: Partial<ServiceSettings> = {},
): WorkflowService {
  return new WorkflowService(store, {
    retentionSeconds: config.WFO_RETENTION_SECONDS,
    inlineMaxBytes: config.WFO_INLINE_MAX_BYTES,
    alwaysOffload: config.WFO_ALWAYS_OFFLOAD,
    maxNodes: config.WFO_MAX_NODES,
    ...settings,
  });
}

export interface WiringParts {
  /** Use this client (default: one from the config). */
  readonly documentClient?: DynamoDBDocumentClient;
  /** Domain settings beyond what the config sets (a clock, retry counts). */
  readonly serviceSettings?: Partial<ServiceSettings>;
}

/** The service on the DynamoDB tables and settings the configuration names. */
export function createWiring(config: Config, parts: WiringParts = {}): DynamoDbWiring {
  const documentClient = parts.documentClient ?? createDocumentClient(config);
  const store = new DynamoDbStore(documentClient, {
    tableName: config.WFO_TABLE_NAME,
    ...(config.WFO_VERSIONS_TABLE_NAME ? { versionsTableName: config.WFO_VERSIONS_TABLE_NAME } : {}),
  });
  return { config, store, service: serviceOn(store, config, parts.serviceSettings), documentClient };
}

let processWiring: DynamoDbWiring | undefined;

/**
 * The wiring of this process, from `process.env`, built once. Its DynamoDB
 * client is captured by the Powertools tracer, so X-Ray traces show each
 * DynamoDB call (disabled outside Lambda).
 */
export function wiring(): DynamoDbWiring {
  if (!processWiring) {
    const config = loadConfig();
    processWiring = createWiring(config, {
      documentClient: createDocumentClient(config, (client) => tracer.captureAWSv3Client(client)),
    });
  }
  return processWiring;
}
