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
import { ConflictError, NotFoundError, WfoApiError, WfoClient } from '../wfo-client.ts';
import {
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
import { getCommand } from './get.ts';
import { healthCommand } from './health.ts';
import { listCommand } from './list.ts';
import { describeApiError, oneLine } from './output.ts';
import { patchCommand } from './patch.ts';
import { putCommand } from './put.ts';
import { stopCommand } from './stop.ts';
import { versionCommand } from './version.ts';
import { versionsCommand } from './versions.ts';

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
};

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
    const client =
      typeof io.client === 'function' ? io.client(baseUrl) : (io.client ?? new WfoClient({ baseUrl }));
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
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof UsageError) return fail(`${error.message} (see 'wfo --help')`, exitCodes.usage);
    if (error instanceof NotFoundError) return fail(describeApiError(error), exitCodes.notFound);
    if (error instanceof ConflictError) return fail(describeApiError(error), exitCodes.conflict);
    if (error instanceof WfoApiError) return fail(describeApiError(error), exitCodes.failure);
    return fail(error instanceof Error ? error.message : String(error), exitCodes.failure);
  }
}
