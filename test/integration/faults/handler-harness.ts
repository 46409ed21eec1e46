/**
 * The real handlers, loaded in this process as Lambda loads them (settings
 * read at module load), and invoked with API Gateway v2 and EventBridge
 * events. `wiring` is the module singleton the handlers use, so a test can
 * put a fault-injecting middleware on its DynamoDB client.
 */
import { gunzipSync } from 'node:zlib';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  EventBridgeEvent,
} from 'aws-lambda';
import type { DynamoDbWiring as Wiring } from '#lambda/wiring';
import { busEvent } from '#testkit/lambda';
import { dynamodbEndpoint, type TestTable } from '#testkit/table';

type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;
type EventHandler = (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<unknown>;

export interface HttpCall {
  readonly pathParameters?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly body?: unknown;
}

export interface HttpResult extends APIGatewayProxyStructuredResultV2 {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  /** The body exactly as the caller would get it, decoded. */
  readonly text: string | undefined;
  readonly json: unknown;
}

export interface Harness {
  readonly wiring: Wiring;
  http(file: string, method: string, call?: HttpCall): Promise<HttpResult>;
  /** Delivers one EventBridge event to an event handler; resolves with its outcome or rejects (a retry). */
  event(file: string, detailType: string, detail: unknown, eventId?: string): Promise<unknown>;
}

const httpFiles = ['put-workflow', 'patch-nodes', 'get-workflow', 'list-versions', 'stop-workflow'];
const eventFiles = ['on-nodes-updated', 'on-stop-requested', 'on-workflow-deleted'];

const context = {
  functionName: 'fault-test',
  awsRequestId: 'aws-request-1',
  memoryLimitInMB: '1024',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fault-test',
  getRemainingTimeInMillis: () => 29_000,
} as Context;

/** Sets the environment the handlers read, then loads them. Call once per test file. */
export async function loadHandlers(table: TestTable, env: Record<string, string> = {}): Promise<Harness> {
  Object.assign(process.env, {
    WFO_TABLE_NAME: table.tableName,
    DYNAMODB_ENDPOINT: dynamodbEndpoint(),
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    ...env,
  });
  const httpHandlers = new Map<string, HttpHandler>();
  for (const file of httpFiles) {
    const module = (await import(`../../../functions/handlers/${file}.ts`)) as { handler: HttpHandler };
    httpHandlers.set(file, module.handler);
  }
  const eventHandlers = new Map<string, EventHandler>();
  for (const file of eventFiles) {
    const module = (await import(`../../../functions/handlers/${file}.ts`)) as { handler: EventHandler };
    eventHandlers.set(file, module.handler);
  }
  const { wiring: processWiring } = await import('#lambda/wiring');
  const wiring = processWiring();

  return {
    wiring,
    async http(file, method, call = {}) {
      const handler = httpHandlers.get(file);
      if (!handler) throw new Error(`no handler ${file}`);
      const event: APIGatewayProxyEventV2 = {
        version: '2.0',
        routeKey: `${method} /fault-test`,
        rawPath: '/fault-test',
        rawQueryString: new URLSearchParams(call.query ?? {}).toString(),
        headers: { 'content-type': 'application/json', ...call.headers },
        ...(call.query ? { queryStringParameters: call.query } : {}),
        ...(call.pathParameters ? { pathParameters: call.pathParameters } : {}),
        requestContext: {
          http: {
            method,
            path: '/fault-test',
            protocol: 'HTTP/1.1',
            sourceIp: '127.0.0.1',
            userAgent: 'vitest',
          },
          requestId: `request-${Math.random()}`,
        } as APIGatewayProxyEventV2['requestContext'],
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
        isBase64Encoded: false,
      };
      const result = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
      let text = result.body;
      if (text !== undefined && result.isBase64Encoded) {
        const bytes = Buffer.from(text, 'base64');
        text = (result.headers?.['content-encoding'] === 'gzip' ? gunzipSync(bytes) : bytes).toString('utf8');
      }
      return {
        ...result,
        statusCode: result.statusCode ?? 200,
        headers: Object.fromEntries(
          Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)]),
        ),
        text,
        json: text === undefined ? undefined : JSON.parse(text),
      };
    },
    async event(file, detailType, detail, eventId = `event-${Math.random()}`) {
      const handler = eventHandlers.get(file);
      if (!handler) throw new Error(`no handler ${file}`);
      return handler(busEvent(detailType, detail, { id: eventId }), context);
    },
  };
}
