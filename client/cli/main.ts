/**
 * `wfo`: the command line for the workflow-offload HTTP API. A thin shell
 * over {@link WfoClient}: parse arguments, call one method, print a short
 * summary (or the server's JSON with `--json`), map errors to exit codes.
 * Each command lives in its own file; `args.ts` holds what they share and
 * `output.ts` how they print.
 *
 * `main` takes its streams, environment and client as arguments so tests run
 * it without spawning a process or opening a socket.
 */
import { defaultCacheDirectory, NodeCache } from '../cache.ts';
import { SyncClient, type SyncProgressEvent } from '../sync.ts';
import {
  ConflictError,
  NotFoundError,
  type PutWorkflowBody,
  type PutWorkflowOptions,
  WfoApiError,
  WfoClient,
} from '../wfo-client.ts';
import {
  type CliClient,
  type CliIo,
  type Command,
  checkCommandLine,
  describeParseError,
  exitCodes,
  parse,
  resolveBaseUrl,
  UsageError,
  usage,
} from './args.ts';
import { deleteCommand } from './delete.ts';
import { diffCommand } from './diff.ts';
import { getCommand } from './get.ts';
import { healthCommand } from './health.ts';
import { listCommand } from './list.ts';
import { describeApiError, oneLine } from './output.ts';
import { patchCommand } from './patch.ts';
import { putCommand } from './put.ts';
import { stopCommand } from './stop.ts';
import { versionCommand } from './version.ts';
import { versionsCommand } from './versions.ts';
import { WorkflowEndedError, watchCommand } from './watch.ts';

const commands: Readonly<Record<string, Command>> = {
  get: getCommand,
  put: putCommand,
  patch: patchCommand,
  versions: versionsCommand,
  version: versionCommand,
  stop: stopCommand,
  delete: deleteCommand,
  list: listCommand,
  health: healthCommand,
  diff: diffCommand,
  watch: watchCommand,
};

/**
 * `get` and `put` through the sync protocol (docs/protocol.md): the change
 * since the cached version, deltas and staged uploads, so that no map size
 * meets the front door's limits, with a hash-verified cache in
 * `WFO_CACHE_DIR` (default `$XDG_CACHE_HOME/wfo` or `~/.cache/wfo`).
 */
function synced(client: WfoClient, io: CliIo, onProgress: (event: SyncProgressEvent) => void): CliClient {
  const maxBytes = io.env.WFO_CACHE_MAX_BYTES ? Number(io.env.WFO_CACHE_MAX_BYTES) : undefined;
  if (maxBytes !== undefined && !(Number.isInteger(maxBytes) && maxBytes > 0)) {
    throw new UsageError(
      `WFO_CACHE_MAX_BYTES '${io.env.WFO_CACHE_MAX_BYTES}' is not a positive whole number`,
    );
  }
  const cache = new NodeCache({
    baseUrl: client.baseUrl,
    directory: defaultCacheDirectory(io.env),
    ...(maxBytes === undefined ? {} : { maxBytes }),
  });
  const sync = new SyncClient(client, { cache, onProgress });
  return Object.assign(Object.create(client) as WfoClient, {
    getWorkflow: (uid: string) => sync.getWorkflow(uid),
    putWorkflow: (uid: string, body: PutWorkflowBody, options?: PutWorkflowOptions) =>
      sync.putWorkflow(uid, body, options),
  });
}

/** Progress of long transfers on standard error, only on a terminal and never with --json. */
function progressLine(io: CliIo, json: boolean) {
  const terminal = !json && (io.stderr as { isTTY?: boolean }).isTTY === true;
  let shown = false;
  return {
    report: (event: SyncProgressEvent) => {
      if (!terminal) return;
      const of = event.total === undefined ? '' : ` of ${event.total}`;
      io.stderr.write(
        `\r${event.action === 'reading' ? 'reading page' : 'uploading part'} ${event.done}${of}`,
      );
      shown = true;
    },
    end: () => {
      if (shown) io.stderr.write('\n');
    },
  };
}

/**
 * Commands `wfo` no longer has, and where they went. The race harness was one:
 * it needs the benchmark code and DynamoDB Local, while the CLI and its client
 * depend on Node built-ins only.
 */
const movedCommands: Readonly<Record<string, string>> = {
  race: "the race harness is 'npm run race' in the repository (it starts its own DynamoDB Local)",
};

/** An unknown command that used to exist: a usage error that says where it went. */
function unknownIfMoved(name: string): void {
  const movedTo = Object.hasOwn(movedCommands, name) ? movedCommands[name] : undefined;
  if (movedTo !== undefined) throw new UsageError(`unknown command '${name}': ${movedTo}`);
}

/**
 * Runs one `wfo` command. Returns the exit code (see {@link exitCodes})
 * instead of exiting, so it can be called from tests.
 *
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
 * ```
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const fail = (message: string, code: number): number => {
    io.stderr.write(`wfo: ${oneLine(message)}\n`);
    return code;
  };
  try {
    // Checked before parsing: the old `wfo race --workflows N` would otherwise fail on the
    // harness's options, and the message would not say where the harness went.
    if (argv[0] !== undefined) unknownIfMoved(argv[0]);
    let parsed: ReturnType<typeof parse>;
    try {
      parsed = parse([...argv]);
    } catch (error) {
      throw new UsageError(describeParseError(error));
    }
    const { values, positionals } = parsed;
    const [name, ...rest] = positionals;
    if (values.help || name === 'help') {
      io.stdout.write(usage);
      return exitCodes.ok;
    }
    if (name === undefined) {
      io.stderr.write(usage);
      return exitCodes.usage;
    }
    const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (command === undefined) {
      unknownIfMoved(name);
      throw new UsageError(`unknown command '${name}'`);
    }
    checkCommandLine(name, command, values, rest);

    const baseUrl = resolveBaseUrl(values.url, io.env);
    const given =
      typeof io.client === 'function' ? io.client(baseUrl) : (io.client ?? new WfoClient({ baseUrl }));
    const progress = progressLine(io, values.json === true);
    const client = given instanceof WfoClient ? synced(given, io, progress.report) : given;
    await command.run(
      {
        client,
        values,
        io,
        baseUrl,
        print: (text) => io.stdout.write(`${text}\n`),
        printJson: (value) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
      },
      rest,
    );
    progress.end();
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof UsageError) return fail(`${error.message} (see 'wfo --help')`, exitCodes.usage);
    if (error instanceof NotFoundError) return fail(describeApiError(error), exitCodes.notFound);
    if (error instanceof ConflictError) return fail(describeApiError(error), exitCodes.conflict);
    if (error instanceof WfoApiError) return fail(describeApiError(error), exitCodes.failure);
    if (error instanceof WorkflowEndedError) return fail(error.message, exitCodes.failure);
    return fail(error instanceof Error ? error.message : String(error), exitCodes.failure);
  }
}
