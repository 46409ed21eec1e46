/**
 * The local runtime behind `npm start`: DynamoDB Local (or the DynamoDB that
 * `DYNAMODB_ENDPOINT` names), the table as the CDK stack defines it, every
 * route of `description.routes` served by invoking the real handlers with API
 * Gateway v2 events, `POST /events` (and the SDK's `PutEvents`) routed by
 * `description.eventRules`, the renewer on the timer `description.schedules`
 * gives, and the records table's stream polled into its handler, whose
 * change events land on the local bus (`GET /local/events` lists them).
 * Nothing here is a second implementation of the service: it only plays API
 * Gateway, Lambda, EventBridge, the event source mapping and the scheduler.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type AcceptedEventSources,
  changeEvent,
  eventRules,
  type HandlerDescription,
  parseAcceptedEventSources,
  routes,
  schedules,
  streams,
} from '#contract/api';
import { serviceName } from '#contract/metrics';
import { versionTableNameFor } from '#contract/tables';
import { settingsOf } from '#infrastructure/handler-settings';
import { type Config, loadConfig } from '#lambda/config';
import { httpErrorOf } from '#lambda/errors';
import { decodeJsonBody } from '#lambda/request';
import type { Wiring } from '#lambda/wiring';
import { ensureTable } from '#store/table-definition';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local.ts';
import { EventLog, putEvents } from './events.ts';
import { eventTooLarge, frontDoorLimits, jsonBytes, requestTooLarge } from './front-door.ts';
import {
  apiGatewayEvent,
  handlerContext,
  invokeWithTimeout,
  type LambdaHandler,
  sendJson,
  sendLambdaResult,
} from './lambda.ts';
import { scheduledEvent } from './lambda-events.ts';
import { compileRoutes, matchRoute } from './routes.ts';
import { type StreamPoller, startStreamPoller } from './streams.ts';

/** The project root: `.wfo-data/` lives here, whatever the working directory. */
export const projectRoot = fileURLToPath(new URL('..', import.meta.url));

export interface LocalRuntimeOptions {
  /** Port to listen on; 0 picks a free one. Default 3000. */
  readonly port?: number;
  /** Interface to listen on. Default 127.0.0.1: a development server is not for the network. */
  readonly host?: string;
  /** Use this DynamoDB instead of starting DynamoDB Local. */
  readonly dynamodbEndpoint?: string;
  /** DynamoDB Local keeps its data in memory only (ignored with `dynamodbEndpoint`). */
  readonly inMemory?: boolean;
  /** Where DynamoDB Local keeps its data. Default `<project>/.wfo-data`. */
  readonly dataDirectory?: string;
  /** Table name; default WFO_TABLE_NAME, else the configured default. */
  readonly tableName?: string;
  /** Run the renewer on its schedule. Default true. */
  readonly renew?: boolean;
  /**
   * Poll the records table's stream into its handler (the change events).
   * Default true, unless WFO_LOCAL_STREAMS is `off`.
   */
  readonly streams?: boolean;
  /** One line per request (`PUT /v1/workflows/wf-1 201 12 ms`). Default false. */
  readonly accessLog?: boolean;
  /** Where status lines go. Default console.log. */
  readonly log?: (line: string) => void;
  /**
   * Event sources `POST /events` accepts; default WFO_ACCEPTED_EVENT_SOURCES,
   * else any source (as the deployed rules by default).
   */
  readonly acceptedEventSources?: AcceptedEventSources;
  /**
   * Build the handlers on this wiring (its settings, store and DynamoDB
   * client) instead of the process's, read from the environment. Tests pass
   * their own to reach its client; the runtime then serves the wiring's
   * table on the wiring's endpoint (it starts no DynamoDB Local) and writes
   * nothing to `process.env`.
   */
  readonly wiring?: Wiring;
}

export interface LocalRuntime {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly baseUrl: string;
  readonly dynamodbEndpoint: string;
  readonly tableName: string;
  /** Process id of the DynamoDB Local this runtime started, if it started one. */
  readonly dynamodbPid: number | undefined;
  /** Stops the server, the renewer and DynamoDB Local (if started here). Idempotent. */
  stop(): Promise<void>;
}

/** Raised when the port is taken; the CLI prints its message as one line. */
export class PortInUseError extends Error {
  constructor(port: number) {
    super(`port ${port} is in use: set PORT to another port (PORT=0 picks a free one)`);
    this.name = 'PortInUseError';
  }
}

let started: { endpoint: string; tableName: string } | undefined;

/**
 * The settings handlers read at module load, set before they are imported.
 * Explicit settings win; sensible local defaults fill the rest.
 */
function prepareEnvironment(endpoint: string, tableName: string): Config {
  process.env.DYNAMODB_ENDPOINT = endpoint;
  process.env.WFO_TABLE_NAME = tableName;
  process.env.AWS_REGION ??= 'us-east-1';
  // Not in Lambda: no X-Ray daemon to send traces to.
  process.env.POWERTOOLS_TRACE_ENABLED = 'false';
  process.env.POWERTOOLS_SERVICE_NAME ??= serviceName;
  // EMF lines on stdout are for CloudWatch; locally they are noise unless asked for.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  // With the front door's limits lifted, the handlers' own refusal of big results goes too.
  if (process.env.WFO_LIMITS?.trim().toLowerCase() === 'off')
    process.env.WFO_LAMBDA_PAYLOAD_BYTES = String(2 ** 40);
  return loadConfig(process.env);
}

/** `put-workflow` -> `makePutWorkflow`: the factory each handler file exports next to `handler`. */
const factoryName = (file: string): string =>
  `make${file.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase())}`;

/**
 * Every handler of the contract, from its file under `functions/handlers/`:
 * its `handler` export, as Lambda loads it, or, given a wiring, its factory
 * called with that wiring.
 */
export async function loadHandlers(
  wiring?: Wiring,
): Promise<(handler: HandlerDescription) => Promise<LambdaHandler>> {
  const loaded = new Map<string, LambdaHandler>();
  const all = new Set([
    ...routes.map((route) => route.handler),
    ...eventRules.map((rule) => rule.handler),
    ...schedules.map((schedule) => schedule.handler),
    ...streams.map((stream) => stream.handler),
  ]);
  for (const description of all) {
    const url = pathToFileURL(join(projectRoot, 'functions', 'handlers', `${description.file}.ts`)).href;
    const module = (await import(url)) as Record<string, unknown>;
    const name = wiring ? factoryName(description.file) : 'handler';
    const exported = module[name];
    if (typeof exported !== 'function') {
      throw new Error(`functions/handlers/${description.file}.ts does not export a function '${name}'`);
    }
    loaded.set(
      description.file,
      (wiring ? (exported as (wiring: Wiring) => unknown)(wiring) : exported) as LambdaHandler,
    );
  }
  return async (description) => {
    const handler = loaded.get(description.file);
    if (!handler) throw new Error(`no handler loaded for ${description.file}`);
    return handler;
  };
}

/**
 * Reads a request body up to `maxBytes`. Past it, the rest is read and
 * dropped (up to four times the limit, then the socket is closed), so that
 * the caller gets the 413 instead of a reset connection.
 */
async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | { tooLarge: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size <= maxBytes) chunks.push(chunk as Buffer);
    else if (size > maxBytes * 4 + 4 * 1024 * 1024) {
      // A sender that keeps going after 4x the limit is not waiting for an answer.
      request.pause();
      break;
    }
  }
  return size > maxBytes ? { tooLarge: size } : Buffer.concat(chunks);
}

const errorBody = (error: unknown) => {
  const http = httpErrorOf(error);
  return { status: http.statusCode, body: http.body, headers: http.headers };
};

/**
 * Starts the local runtime. One per process: handlers read their settings
 * once, at module load, as they do in Lambda; any number with a `wiring`
 * each.
 *
 * @example
 * const runtime = await startLocalRuntime({ port: 0, inMemory: true });
 * try {
 *   const health = await fetch(`${runtime.baseUrl}/healthz`);
 * } finally {
 *   await runtime.stop();
 * }
 */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const log = options.log ?? ((line: string) => console.log(line));
  const ownWiring = options.wiring;
  const tableName =
    options.tableName ??
    ownWiring?.config.WFO_TABLE_NAME ??
    process.env.WFO_TABLE_NAME ??
    loadConfig({}).WFO_TABLE_NAME;
  // Bad settings fail here, before anything is started.
  const limits = frontDoorLimits();
  const acceptedSources =
    options.acceptedEventSources ?? parseAcceptedEventSources(process.env.WFO_ACCEPTED_EVENT_SOURCES);

  let dynamodb: DynamoDbLocal | undefined;
  let endpoint = options.dynamodbEndpoint ?? ownWiring?.config.DYNAMODB_ENDPOINT;
  // The tables are made where the handlers will look for them, or nowhere.
  if (
    ownWiring &&
    (endpoint === undefined ||
      endpoint !== ownWiring.config.DYNAMODB_ENDPOINT ||
      tableName !== ownWiring.config.WFO_TABLE_NAME)
  ) {
    throw new Error("a runtime on a wiring of its own serves that wiring's DYNAMODB_ENDPOINT and table");
  }
  if (endpoint === undefined) {
    const dataDirectory = options.inMemory
      ? undefined
      : (options.dataDirectory ?? join(projectRoot, '.wfo-data'));
    dynamodb = await startDynamoDbLocal({ dataDirectory });
    endpoint = dynamodb.endpoint;
    log(`DynamoDB Local at ${endpoint} (${dataDirectory ? `data in ${dataDirectory}` : 'in memory'})`);
  } else {
    log(`DynamoDB at ${endpoint}`);
  }
  if (!ownWiring) {
    if (started && (started.endpoint !== endpoint || started.tableName !== tableName)) {
      await dynamodb?.stop();
      throw new Error(
        'one local runtime per process: its handlers already read their settings at module load',
      );
    }
    started = { endpoint, tableName };
  }

  let server: Server | undefined;
  let poller: StreamPoller | undefined;
  let pollerStarting: Promise<void> | undefined;
  const renewTimers = new Map<string, NodeJS.Timeout>();
  let tableTimer: NodeJS.Timeout | undefined;
  const renewing = new Set<Promise<void>>();
  let stopped = false;
  const tableClient = new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    },
    maxAttempts: 2,
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopped = true;
      for (const timer of renewTimers.values()) clearTimeout(timer);
      clearTimeout(tableTimer);
      await pollerStarting?.catch(() => undefined);
      await poller?.stop();
      if (server?.listening) {
        const closed = once(server, 'close');
        server.close();
        server.closeAllConnections();
        await closed;
      }
      await Promise.all(renewing);
      tableClient.destroy();
      await dynamodb?.stop();
    })();
    return stopping;
  };

  try {
    const config = ownWiring?.config ?? prepareEnvironment(endpoint, tableName);
    const versionsTableName = config.WFO_VERSIONS_TABLE_NAME ?? versionTableNameFor(tableName);

    // The tables as the CDK stack defines them. Against our own DynamoDB Local a
    // failure is fatal; against another DynamoDB, keep serving (requests get
    // 503 while it is unreachable) and keep trying in the background.
    let streamArn: string | undefined;
    let onTableReady: (() => void) | undefined;
    const createTable = async (): Promise<void> => {
      ({ streamArn } = await ensureTable(tableClient, tableName, versionsTableName));
      log(`tables '${tableName}' and '${versionsTableName}' ready`);
      onTableReady?.();
    };
    if (dynamodb) {
      await createTable();
    } else {
      const attempt = (delayMs: number) =>
        createTable().catch((error: unknown) => {
          if (stopped) return;
          if (delayMs === 0) {
            log(
              `warning: cannot set up table '${tableName}' at ${endpoint} (${(error as Error).message}); serving anyway, retrying in the background`,
            );
          }
          tableTimer = setTimeout(
            () => void attempt(Math.min(30_000, Math.max(1_000, delayMs * 2))),
            delayMs || 1_000,
          );
          tableTimer.unref();
        });
      await attempt(0);
    }

    // The handlers load once the server listens: the stream handler's
    // publisher is pointed at this runtime's own bus, whose URL the port decides.
    let resolveHandlers: (loader: (handler: HandlerDescription) => Promise<LambdaHandler>) => void = () => {};
    const handlersLoaded = new Promise<(handler: HandlerDescription) => Promise<LambdaHandler>>((resolve) => {
      resolveHandlers = resolve;
    });
    const loadHandler = async (handler: HandlerDescription) => (await handlersLoaded)(handler);
    const compiledRoutes = compileRoutes(routes);
    const region = config.AWS_REGION;
    const maxBytes = config.WFO_MAX_DECOMPRESSED_BODY_BYTES;
    const eventLog = new EventLog();
    const eventOptions = {
      acceptedSources,
      rules: eventRules,
      region,
      loadHandler,
      acceptedWithoutRule: [changeEvent.detailType],
      log: eventLog,
      onDeadLetter: (detailType: string, error: unknown) =>
        log(`event '${detailType}' failed after retries: ${(error as Error)?.message ?? error}`),
    };

    const handle = async (request: IncomingMessage, response: ServerResponse): Promise<number> => {
      const method = request.method ?? 'GET';
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      const body = await readBody(request, limits.requestBytes);
      if (!Buffer.isBuffer(body)) {
        const { status, body: errorJson } = errorBody(requestTooLarge(body.tooLarge, limits));
        sendJson(response, status, errorJson, { connection: 'close' });
        return status;
      }

      if (path === '/' && method === 'POST' && request.headers['x-amz-target'] === 'AWSEvents.PutEvents') {
        // The EventBridge SDK's PutEvents (JSON 1.1), as the stream handler sends it.
        const awsJson = { 'content-type': 'application/x-amz-json-1.1' };
        try {
          const result = await putEvents(JSON.parse(body.toString('utf8')), eventOptions);
          sendJson(response, 200, result, awsJson);
          return 200;
        } catch (error) {
          sendJson(
            response,
            400,
            { __type: 'ValidationException', message: (error as Error).message },
            awsJson,
          );
          return 400;
        }
      }

      if (path === '/local/events') {
        if (method !== 'GET') {
          sendJson(response, 404, { error: 'NotFound', message: `${method} /local/events: use GET` });
          return 404;
        }
        const query = new URL(request.url ?? '/', 'http://localhost').searchParams;
        const after = Number(query.get('after') ?? '0');
        const limit = Number(query.get('limit') ?? '1000');
        if (!Number.isInteger(after) || after < 0 || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
          sendJson(response, 400, {
            error: 'BadRequest',
            message: 'after must be a whole number of at least 0 and limit one from 1 to 1000',
          });
          return 400;
        }
        sendJson(response, 200, eventLog.after(after, query.get('detail-type') ?? undefined, limit));
        return 200;
      }

      if (path === '/events') {
        if (method !== 'POST') {
          sendJson(
            response,
            404,
            { error: 'NotFound', message: `${method} /events: use POST` },
            { allow: 'POST' },
          );
          return 404;
        }
        try {
          const json = await decodeJsonBody(
            {
              body: body.toString('base64'),
              isBase64Encoded: true,
              headers: Object.fromEntries(
                Object.entries(request.headers).map(([name, value]) => [
                  name.toLowerCase(),
                  Array.isArray(value) ? value.join(',') : value,
                ]),
              ),
            },
            { maxBytes },
          );
          const result = await putEvents(json, eventOptions);
          sendJson(response, 200, result);
          return 200;
        } catch (error) {
          const { status, body: errorJson, headers } = errorBody(error);
          sendJson(response, status, errorJson, headers);
          return status;
        }
      }

      const match = matchRoute(compiledRoutes, method, path);
      if (match.kind === 'notFound') {
        sendJson(response, 404, { error: 'NotFound', message: `no route for ${method} ${path}` });
        return 404;
      }
      if (match.kind === 'wrongMethod') {
        const allowed = match.allowedMethods.join(', ');
        sendJson(
          response,
          404,
          { error: 'NotFound', message: `no route for ${method} ${path}; this path allows ${allowed}` },
          { allow: allowed },
        );
        return 404;
      }

      const description = match.route.route.handler;
      const requestId = randomUUID();
      const event = apiGatewayEvent({
        request,
        body,
        routeKey: match.route.routeKey,
        pathParameters: match.pathParameters,
        requestId,
      });
      const eventSize = jsonBytes(event);
      if (eventSize > limits.payloadBytes) {
        const { status, body: errorJson } = errorBody(eventTooLarge(eventSize, limits));
        sendJson(response, status, errorJson);
        return status;
      }
      const lambdaTimeoutMs = settingsOf(description).timeoutSeconds * 1000 + 1000;
      const gatewayTimeoutMs = limits.timeoutSeconds * 1000;
      let result: unknown;
      try {
        const handler = await loadHandler(description);
        result = await invokeWithTimeout(
          handler,
          event,
          handlerContext(description, region),
          Math.min(lambdaTimeoutMs, gatewayTimeoutMs),
        );
      } catch (error) {
        if (gatewayTimeoutMs < lambdaTimeoutMs && /timed out/.test(String((error as Error)?.message))) {
          // What the HTTP API answers when its integration takes longer than 30 s.
          log(`${description.name} took longer than the HTTP API's ${limits.timeoutSeconds} s`);
          sendJson(response, 503, { message: 'Service Unavailable' });
          return 503;
        }
        // The handlers map their own errors; this is a crash or a timeout, as API Gateway would see it.
        log(`${description.name} failed: ${(error as Error)?.stack ?? error}`);
        sendJson(response, 500, {
          error: 'InternalError',
          message: `the service failed to handle this request (correlation id ${requestId})`,
        });
        return 500;
      }
      try {
        const resultSize = jsonBytes(result);
        if (resultSize > limits.payloadBytes) {
          // The handlers refuse such a result themselves (a 413); Lambda would fail one that got through.
          log(`${description.name} returned ${resultSize} bytes, over Lambda's payload limit`);
          sendJson(response, 502, { message: 'Internal Server Error' });
          return 502;
        }
        sendLambdaResult(response, result);
        const statusCode = (result as { statusCode?: number } | undefined)?.statusCode ?? 200;
        return statusCode;
      } catch (error) {
        // A result that cannot be sent as an HTTP response: what API Gateway answers to a malformed one.
        log(`${description.name} returned a result that cannot be sent: ${(error as Error)?.stack ?? error}`);
        sendJson(response, 502, { message: 'Internal Server Error' });
        return 502;
      }
    };

    server = createServer((request, response) => {
      const started = performance.now();
      handle(request, response)
        .then((status) => {
          if (options.accessLog) {
            const ms = Math.round(performance.now() - started);
            log(`${request.method} ${request.url} ${status} ${ms} ms`);
          }
        })
        .catch((error: unknown) => {
          log(`request failed: ${(error as Error)?.stack ?? error}`);
          if (!response.headersSent) {
            sendJson(response, 500, { error: 'InternalError', message: 'the local runtime failed' });
          } else {
            response.destroy();
          }
        });
    });
    // Large workflows take a while to upload and to answer; Node's defaults would cut them off.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    // Longer than a client's pause between the requests of one sync (hashing
    // and compressing a part), so that a kept-alive connection is rarely
    // closed under a request; the client re-sends an idempotent one if it is.
    server.keepAliveTimeout = 65_000;

    const port = options.port ?? 3000;
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) =>
        reject(error.code === 'EADDRINUSE' ? new PortInUseError(port) : error);
      server?.once('error', onError);
      server?.listen(port, host, () => {
        server?.removeListener('error', onError);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
    const baseUrl = `http://${urlHost}:${address.port}`;

    // Change events go to this runtime's bus unless another is named.
    const eventsEndpoint =
      ownWiring?.config.WFO_EVENTS_ENDPOINT ?? process.env.WFO_EVENTS_ENDPOINT ?? baseUrl;
    if (!ownWiring) process.env.WFO_EVENTS_ENDPOINT = eventsEndpoint;
    resolveHandlers(
      await loadHandlers(
        ownWiring && { ...ownWiring, config: { ...ownWiring.config, WFO_EVENTS_ENDPOINT: eventsEndpoint } },
      ),
    );

    const pollStreams = options.streams ?? process.env.WFO_LOCAL_STREAMS?.trim().toLowerCase() !== 'off';
    const startPolling = async () => {
      if (stopped || !pollStreams || streamArn === undefined) return;
      for (const stream of streams) {
        const description = stream.handler;
        poller = await startStreamPoller({
          endpoint,
          region,
          streamArn,
          description,
          handler: await loadHandler(description),
          batchSize: stream.batchSize,
          timeoutMs: settingsOf(description).timeoutSeconds * 1000 + 1000,
          retryAttempts: stream.retryAttempts,
          log,
        });
      }
    };
    if (streamArn !== undefined) {
      // Read from now on, before anyone is told the URL: no change is missed.
      pollerStarting = startPolling();
      await pollerStarting;
      if (pollStreams)
        log(`change events from the records table's stream, listed at ${baseUrl}/local/events`);
    } else {
      onTableReady = () => {
        pollerStarting = startPolling().catch((error: unknown) =>
          log(`cannot poll the records table's stream: ${(error as Error)?.message ?? error}`),
        );
      };
    }

    if (options.renew ?? true) {
      for (const schedule of schedules) {
        const intervalMs = Math.max(
          1_000,
          Math.round(schedule.everyRetentionFraction * config.WFO_RETENTION_SECONDS * 1000),
        );
        const handler = await loadHandler(schedule.handler);
        const run = async () => {
          const event = scheduledEvent({ scheduleName: schedule.name, region });
          try {
            await invokeWithTimeout(
              handler,
              event,
              handlerContext(schedule.handler, region),
              settingsOf(schedule.handler).timeoutSeconds * 1000 + 1000,
            );
          } catch (error) {
            log(`${schedule.name} failed: ${(error as Error)?.message ?? error}`);
          }
        };
        // One run at a time: the next is scheduled when this one ends.
        const scheduleNext = (delayMs: number) => {
          const timer = setTimeout(tick, delayMs);
          timer.unref();
          renewTimers.set(schedule.name, timer);
        };
        const tick = () => {
          const running: Promise<void> = run().finally(() => {
            renewing.delete(running);
            if (!stopped) scheduleNext(intervalMs);
          });
          renewing.add(running);
        };
        scheduleNext(intervalMs);
        log(`${schedule.name} every ${intervalMs / 1000} s`);
      }
    }

    log(`workflow-offload listening on ${baseUrl}`);
    return { baseUrl, dynamodbEndpoint: endpoint, tableName, dynamodbPid: dynamodb?.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
