/**
 * The events and the context Lambda hands a handler, built from plain
 * values: an API Gateway HTTP API (payload format 2.0) request, an
 * EventBridge event, a scheduled event, a DynamoDB stream batch and a Lambda
 * `Context`. Pure (no Node HTTP, no handler settings), so that the local
 * runtime and the test kit build them the same way and in the shapes the deployed handlers receive.
 */
import { randomUUID } from 'node:crypto';
import type {
  APIGatewayProxyEventV2,
  Context,
  DynamoDBStreamEvent,
  EventBridgeEvent,
  ScheduledEvent,
} from 'aws-lambda';

/** The account id of every event and ARN that does not come from AWS. */
export const localAccountId = '000000000000';

export interface ApiGatewayV2EventInput {
  readonly method: string;
  /** The path as requested, still percent-encoded, without the query string. */
  readonly rawPath: string;
  /** API Gateway's route key, e.g. `PUT /v1/workflows/{uid}`. */
  readonly routeKey: string;
  /** The query string without its `?`; none when empty. */
  readonly rawQueryString?: string;
  /** The matched route's parameters, decoded. */
  readonly pathParameters?: Readonly<Record<string, string>>;
  /** Lower-case names; a repeated header already joined with commas. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The `cookie` header split into its cookies (API Gateway takes it out of `headers`). */
  readonly cookies?: readonly string[];
  /** The body as API Gateway passes it: text, or base64 when `isBase64Encoded`. */
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  /** Default: a fresh UUID. */
  readonly requestId?: string;
  /** Default `127.0.0.1`. */
  readonly sourceIp?: string;
  /** Default `HTTP/1.1`. */
  readonly protocol?: string;
  /** Default `local`. */
  readonly apiId?: string;
  /** When the request arrived; default now. */
  readonly time?: Date;
}

/** A query string to API Gateway v2's `queryStringParameters`: repeated names joined with commas. */
export function queryParameters(rawQueryString: string): Record<string, string> | undefined {
  if (rawQueryString === '') return undefined;
  const out: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    out[name] = out[name] === undefined ? value : `${out[name]},${value}`;
  }
  return out;
}

/**
 * An `APIGatewayProxyEventV2` as API Gateway's HTTP API builds it. Optional
 * fields it leaves out when empty (query, path parameters, cookies, body)
 * are left out here too, since handlers may tell absent from empty.
 *
 * @example
 * apiGatewayV2Event({ method: 'GET', rawPath: '/v1/workflows/wf-1', routeKey: 'GET /v1/workflows/{uid}', pathParameters: { uid: 'wf-1' } })
 */
export function apiGatewayV2Event(input: ApiGatewayV2EventInput): APIGatewayProxyEventV2 {
  const headers = { ...input.headers };
  const rawQueryString = input.rawQueryString ?? '';
  const pathParameters = input.pathParameters ?? {};
  const time = input.time ?? new Date();
  const host = headers.host ?? 'localhost';
  return {
    version: '2.0',
    routeKey: input.routeKey,
    rawPath: input.rawPath,
    rawQueryString,
    ...(input.cookies ? { cookies: [...input.cookies] } : {}),
    headers,
    ...(rawQueryString === '' ? {} : { queryStringParameters: queryParameters(rawQueryString) }),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters: { ...pathParameters } } : {}),
    requestContext: {
      accountId: localAccountId,
      apiId: input.apiId ?? 'local',
      domainName: host,
      domainPrefix: host.split('.')[0] ?? 'localhost',
      http: {
        method: input.method,
        path: input.rawPath,
        protocol: input.protocol ?? 'HTTP/1.1',
        sourceIp: input.sourceIp ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: input.requestId ?? randomUUID(),
      routeKey: input.routeKey,
      stage: '$default',
      time: time.toUTCString(),
      timeEpoch: time.getTime(),
    },
    ...(input.body === undefined ? {} : { body: input.body }),
    isBase64Encoded: input.isBase64Encoded ?? false,
  };
}

export interface EventBridgeEventInput<Detail> {
  readonly detailType: string;
  readonly detail: Detail;
  readonly source: string;
  readonly region: string;
  /** Default: a fresh UUID. A redelivery carries the id of the first delivery. */
  readonly id?: string;
  readonly resources?: readonly string[];
  /** Default now. */
  readonly time?: Date;
}

/** An EventBridge event as a rule target receives it. */
export function eventBridgeEvent<Detail>(
  input: EventBridgeEventInput<Detail>,
): EventBridgeEvent<string, Detail> {
  return {
    version: '0',
    id: input.id ?? randomUUID(),
    'detail-type': input.detailType,
    source: input.source,
    account: localAccountId,
    time: (input.time ?? new Date()).toISOString(),
    region: input.region,
    resources: [...(input.resources ?? [])],
    detail: input.detail,
  };
}

/** What EventBridge Scheduler sends a target on each run of schedule `scheduleName`. */
export function scheduledEvent(input: {
  readonly scheduleName: string;
  readonly region: string;
  readonly id?: string;
  readonly time?: Date;
}): ScheduledEvent {
  return eventBridgeEvent({
    detailType: 'Scheduled Event',
    detail: {},
    source: 'aws.scheduler',
    region: input.region,
    resources: [`local:schedule/${input.scheduleName}`],
    ...(input.id === undefined ? {} : { id: input.id }),
    ...(input.time === undefined ? {} : { time: input.time }),
  }) as ScheduledEvent;
}

export interface LambdaContextInput {
  readonly functionName: string;
  readonly region: string;
  readonly memoryMb: number;
  /** The invocation's time limit: `getRemainingTimeInMillis()` counts down from it. */
  readonly timeoutMs: number;
  /** Default: a fresh UUID. */
  readonly awsRequestId?: string;
  /** Default `local`. */
  readonly logStreamName?: string;
}

/**
 * A Lambda context for one invocation, with its deadline. The callback-style
 * completion methods throw: the handlers are async and must never call them.
 */
export function lambdaContext(input: LambdaContextInput): Context {
  const deadline = Date.now() + input.timeoutMs;
  const unsupported = () => {
    throw new Error('callback-style completion is not supported');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: input.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${input.region}:${localAccountId}:function:${input.functionName}`,
    memoryLimitInMB: String(input.memoryMb),
    awsRequestId: input.awsRequestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${input.functionName}`,
    logStreamName: input.logStreamName ?? 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/** A DynamoDB attribute value as the SDK returns it (binary as bytes). */
type SdkAttributeValue = object;

/** DynamoDB JSON as Lambda's event carries it: binary values in base64. */
function lambdaAttribute(value: SdkAttributeValue): Record<string, unknown> {
  const [[type, inner] = ['NULL', true]] = Object.entries(value);
  switch (type) {
    case 'B':
      return { B: Buffer.from(inner as Uint8Array).toString('base64') };
    case 'BS':
      return { BS: (inner as Uint8Array[]).map((bytes) => Buffer.from(bytes).toString('base64')) };
    case 'L':
      return { L: (inner as SdkAttributeValue[]).map(lambdaAttribute) };
    case 'M':
      return { M: lambdaImage(inner as Record<string, SdkAttributeValue>) };
    default:
      return { [type]: inner };
  }
}

const lambdaImage = (image: Readonly<Record<string, SdkAttributeValue>> | undefined) =>
  image === undefined
    ? undefined
    : Object.fromEntries(Object.entries(image).map(([name, value]) => [name, lambdaAttribute(value)]));

/** One stream record as DynamoDB Streams' GetRecords returns it. */
export interface StreamRecordInput {
  readonly eventID?: string;
  readonly eventName?: string;
  readonly dynamodb?: {
    readonly ApproximateCreationDateTime?: Date;
    readonly Keys?: Readonly<Record<string, SdkAttributeValue>>;
    readonly NewImage?: Readonly<Record<string, SdkAttributeValue>>;
    readonly OldImage?: Readonly<Record<string, SdkAttributeValue>>;
    readonly SequenceNumber?: string;
    readonly SizeBytes?: number;
    readonly StreamViewType?: string;
  };
}

/**
 * A `DynamoDBStreamEvent` as a Lambda event source mapping builds it from
 * GetRecords: creation time in epoch seconds, binary values in base64.
 */
export function dynamoDbStreamEvent(
  records: readonly StreamRecordInput[],
  input: { readonly streamArn: string; readonly region: string },
): DynamoDBStreamEvent {
  return {
    Records: records.map((record) => {
      const data = record.dynamodb ?? {};
      const image = (name: 'Keys' | 'NewImage' | 'OldImage') => {
        const converted = lambdaImage(data[name]);
        return converted === undefined ? {} : { [name]: converted };
      };
      return {
        eventID: record.eventID ?? randomUUID(),
        eventName: record.eventName as 'INSERT' | 'MODIFY' | 'REMOVE',
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: input.region,
        eventSourceARN: input.streamArn,
        dynamodb: {
          ...(data.ApproximateCreationDateTime
            ? { ApproximateCreationDateTime: Math.floor(data.ApproximateCreationDateTime.getTime() / 1000) }
            : {}),
          ...image('Keys'),
          ...image('NewImage'),
          ...image('OldImage'),
          ...(data.SequenceNumber ? { SequenceNumber: data.SequenceNumber } : {}),
          ...(data.SizeBytes !== undefined ? { SizeBytes: data.SizeBytes } : {}),
          ...(data.StreamViewType ? { StreamViewType: data.StreamViewType as 'NEW_AND_OLD_IMAGES' } : {}),
        },
      } as DynamoDBStreamEvent['Records'][number];
    }),
  };
}
