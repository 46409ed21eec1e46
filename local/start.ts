/**
 * `npm start`: the local runtime as a command.
 *
 *   npm start                      DynamoDB Local with data in .wfo-data/, port 3000
 *   npm start -- --in-memory       DynamoDB Local in memory
 *   PORT=0 npm start               a free port (printed)
 *   DYNAMODB_ENDPOINT=http://127.0.0.1:8000 npm start   use that DynamoDB instead
 *
 * Ctrl+C (SIGINT) or SIGTERM stops the server and DynamoDB Local.
 */
import { JavaNotFoundError } from './dynamodb-local.ts';
import { type LocalRuntime, PortInUseError, startLocalRuntime } from './runtime.ts';

const usage = `usage: npm start [-- [--in-memory] [--access-log]]

  --in-memory    keep DynamoDB Local's data in memory (default: in .wfo-data/)
  --access-log   print one line per request

environment:
  PORT               port to listen on (default 3000; 0 picks a free one)
  HOST               interface to listen on (default 127.0.0.1)
  DYNAMODB_ENDPOINT  use this DynamoDB instead of starting DynamoDB Local
  WFO_TABLE_NAME     table name (default workflow-offload)
  WFO_DATA_DIR       where DynamoDB Local keeps its data (default .wfo-data/)
  WFO_LOCAL_STREAMS  off: do not poll the records stream into the change events (default on)`;

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 3000;
  if (!/^\d+$/.test(value.trim()) || Number(value) > 65_535) fail(`PORT '${value}' is not a port number`);
  return Number(value);
}

async function main(): Promise<void> {
  const flags = new Set(process.argv.slice(2));
  if (flags.has('--help') || flags.has('-h')) {
    console.log(usage);
    return;
  }
  const known = new Set(['--in-memory', '--access-log']);
  const unknown = [...flags].filter((flag) => !known.has(flag));
  if (unknown.length > 0) fail(`unknown option ${unknown.join(' ')}\n${usage}`);

  const port = parsePort(process.env.PORT);
  let runtime: LocalRuntime | undefined;
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    // A second signal, or one during start-up: leave now. The exit hook kills DynamoDB Local.
    if (stopping || runtime === undefined) process.exit(130);
    stopping = true;
    console.log(`${signal}: stopping`);
    runtime.stop().then(
      () => {
        console.log('stopped');
        process.exit(0);
      },
      (error: unknown) => fail(`error while stopping: ${(error as Error).message}`),
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  try {
    runtime = await startLocalRuntime({
      port,
      host: process.env.HOST || undefined,
      dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT || undefined,
      inMemory: flags.has('--in-memory'),
      dataDirectory: process.env.WFO_DATA_DIR || undefined,
      accessLog: flags.has('--access-log'),
    });
  } catch (error) {
    if (error instanceof JavaNotFoundError || error instanceof PortInUseError) fail(error.message);
    fail(`cannot start: ${(error as Error)?.message ?? error}`);
  }
  console.log('press Ctrl+C to stop');
}

await main();
