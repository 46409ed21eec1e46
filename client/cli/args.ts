/**
 * What every `wfo` command shares: the exit codes, the usage text, the
 * option table and its parser, the command and context shapes, and the
 * checks and readers of arguments and input files. A command's file imports
 * from here and from `output.ts`; `main.ts` puts them together.
 */
import { readFile } from 'node:fs/promises';
import { text as readStream } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { type NodePhase, nodePhases, type WfoClient } from '../wfo-client.ts';

/** The process exit codes of `wfo`, as the usage text lists them. */
export const exitCodes = { ok: 0, failure: 1, usage: 2, notFound: 3, conflict: 4 } as const;

/** The service `wfo` talks to without `--url` or `$WFO_URL`: the local runtime (`npm start`). */
export const defaultBaseUrl = 'http://localhost:3000';

/** The client methods the CLI calls; tests pass a fake. */
export type CliClient = Pick<
  WfoClient,
  | 'health'
  | 'putWorkflow'
  | 'patchNodes'
  | 'getWorkflow'
  | 'listVersions'
  | 'getVersion'
  | 'stopWorkflow'
  | 'deleteWorkflow'
  | 'listWorkflows'
  | 'iterateWorkflows'
  | 'diff'
  | 'readNodes'
>;

/** What `main` reads and writes instead of the process's own streams and environment. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Read by `-f -`. Default: `process.stdin`. */
  readonly stdin?: AsyncIterable<string | Uint8Array>;
  /** A client, or a factory given the resolved base URL. Default: a {@link WfoClient}. */
  readonly client?: CliClient | ((baseUrl: string) => CliClient);
  /** How `watch` waits between reads; tests make it instant. */
  readonly sleep?: (milliseconds: number) => Promise<void>;
}

/** `wfo --help`; also printed on standard error when no command is given. */
export const usage = `wfo: read and write workflow node status stored by workflow-offload

Usage: wfo [--url URL] [--json] <command> [arguments] [options]

Commands:
  get <uid> [--nodes | --tree [--phase P,..] [--depth N] [--node ID] [--all]]
                                           show a workflow: metadata and node counts by phase;
                                           --tree prints the node tree as 'argo get' does
  put <uid> -f FILE [--if-match RV] [--create] [--reapply --base-version V]
                                           persist a whole workflow; FILE holds
                                           {namespace, name, phase?, message?, nodes}
  patch <uid> [-f FILE] [--set-phase ID=PHASE ...] [--remove ID ...] [--if-match RV]
                                           change some nodes; FILE holds {set?, remove?, phase?, message?}
  versions <uid>                           list the stored versions of a workflow, newest first,
                                           with the nodes each changed and its phase counts
  diff <uid> [FROM [TO]]                   what changed between two versions (default: the
                                           previous one and the current one), node by node
  watch <uid> [--interval S]               follow a workflow until it completes, printing node
                                           phase changes; exit 0 if it Succeeded, 1 otherwise
  version <uid> <version> [--nodes]        show one version, current or superseded
  stop <uid> [--strategy Stop|Terminate] [--message TEXT]
                                           stop a workflow: fail its unfinished nodes
  delete <uid>                             delete a workflow (its stored versions expire later)
  list <namespace> [--limit N] [--next TOKEN | --all]
                                           list the workflows of a namespace, one page or all
  health                                   check that the service answers

The race harness is not a wfo command: run 'npm run race' in the repository.

Options:
  --url URL           service base URL (default: $WFO_URL, else ${defaultBaseUrl})
  --json              print the server's JSON response instead of a summary
  -f, --file FILE     JSON input; '-' reads standard input
  --if-match RV       write only if the workflow's resourceVersion is still RV
  --create            write only if the workflow does not exist yet
  --reapply           on a conflict, re-apply this change on top of the current state
                      (needs --if-match and --base-version)
  --base-version V    the nodeStatusVersion the node map in FILE was derived from
  --set-phase ID=PHASE
                      set one node's phase, one of
                      ${nodePhases.join(', ')};
                      reads the node and writes it back whole, guarded by the
                      resourceVersion it read unless --if-match is given
  --remove ID         remove a node
  --strategy S        Stop (default) or Terminate
  --message TEXT      message recorded by the stop
  --limit N           page size of list
  --next TOKEN        continue a listing where the previous page ended
  --all               follow every page of the listing
  --nodes             also print every node (id, phase, name, message)
  --tree              print the node tree (STEP, TEMPLATE, PODNAME, DURATION, MESSAGE)
  --phase P,...       with --tree: only nodes of these phases get a line
  --depth N           with --tree: print N levels below the root at most
  --node ID           with --tree: print the subtree of this node
  --all               with --tree: never shorten long runs of siblings
  --interval S        seconds between reads of watch (default 2)
  -h, --help          show this help

Exit codes:
  0  success
  1  failure: server error, service unavailable, network error
  2  usage error: bad arguments or unreadable input file
  3  not found: workflow, version or node
  4  conflict: resourceVersion changed (--if-match), workflow exists (--create),
     or workflow already completed (stop)
`;

/** Every option of every command, for `node:util`'s `parseArgs`; each command says which it takes. */
export const options = {
  url: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  file: { type: 'string', short: 'f' },
  'if-match': { type: 'string' },
  create: { type: 'boolean' },
  reapply: { type: 'boolean' },
  'base-version': { type: 'string' },
  'set-phase': { type: 'string', multiple: true },
  remove: { type: 'string', multiple: true },
  strategy: { type: 'string' },
  message: { type: 'string' },
  limit: { type: 'string' },
  next: { type: 'string' },
  all: { type: 'boolean' },
  nodes: { type: 'boolean' },
  tree: { type: 'boolean' },
  phase: { type: 'string' },
  depth: { type: 'string' },
  node: { type: 'string' },
  interval: { type: 'string' },
} as const;

/** The long name of an option, without `--`. */
export type OptionName = keyof typeof options;

/** The parsed option values of one command line. */
export type Values = ReturnType<typeof parse>['values'];

/** Parses a command line strictly: an unknown option throws (see {@link describeParseError}). */
export const parse = (args: string[]) => parseArgs({ args, options, allowPositionals: true, strict: true });

/** One `wfo` command: what it takes, and what it does with it. */
export interface Command {
  /** Names of the positional arguments, all required, in order. */
  readonly arguments: readonly string[];
  /** Names of positional arguments that may follow them, in order. */
  readonly optionalArguments?: readonly string[];
  /** The options it takes besides the {@link globalOptions}. */
  readonly options: readonly OptionName[];
  run(context: Context, positionals: readonly string[]): Promise<void>;
}

/** What a command runs with: the client, the parsed options and where to print. */
export interface Context {
  readonly client: CliClient;
  readonly values: Values;
  readonly io: CliIo;
  readonly baseUrl: string;
  print(text: string): void;
  printJson(value: unknown): void;
}

/** Bad arguments or input: exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The options every command takes. */
export const globalOptions: readonly OptionName[] = ['url', 'json', 'help'];

/** Throws a {@link UsageError} unless the options and positionals fit `command`. */
export function checkCommandLine(
  name: string,
  command: Command,
  values: Values,
  positionals: readonly string[],
): void {
  for (const option of Object.keys(values) as OptionName[]) {
    if (!globalOptions.includes(option) && !command.options.includes(option)) {
      throw new UsageError(`${name} does not take --${option}`);
    }
  }
  const most = command.arguments.length + (command.optionalArguments?.length ?? 0);
  if (positionals.length < command.arguments.length || positionals.length > most) {
    const expected = [
      ...command.arguments.map((argument) => `<${argument}>`),
      ...(command.optionalArguments ?? []).map((argument) => `[${argument}]`),
    ].join(' ');
    throw new UsageError(
      `usage: wfo ${name}${expected === '' ? '' : ` ${expected}`} (got ${positionals.length} arguments)`,
    );
  }
  for (const [index, value] of positionals.entries()) {
    const argument =
      command.arguments[index] ?? command.optionalArguments?.[index - command.arguments.length];
    if (value === '') throw new UsageError(`<${argument}> must not be empty`);
  }
}

/** Node's message for an unknown option goes on to explain `--`; its first sentence is enough. */
export function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? (message.split('. ')[0] ?? message) : message;
}

/** `--url`, else `$WFO_URL`, else the local runtime's default. */
export function resolveBaseUrl(url: string | undefined, env: CliIo['env']): string {
  const chosen = url ?? (env.WFO_URL === undefined || env.WFO_URL === '' ? defaultBaseUrl : env.WFO_URL);
  if (!URL.canParse(chosen) || !/^https?:$/.test(new URL(chosen).protocol)) {
    throw new UsageError(`'${chosen}' is not an http(s) URL`);
  }
  return chosen;
}

/** Reads `-f FILE` (`-` is standard input); anything but a JSON object is a {@link UsageError}. */
export async function readJsonObject(file: string, io: CliIo): Promise<Record<string, unknown>> {
  const source = file === '-' ? 'standard input' : file;
  let text: string;
  try {
    text = file === '-' ? await readStream(io.stdin ?? process.stdin) : await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${source}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `${source} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${source} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** `--set-phase ID=PHASE`; the id may itself contain `=`, the phase may not. */
export function parsePhaseChange(argument: string): { nodeId: string; phase: NodePhase } {
  const separator = argument.lastIndexOf('=');
  if (separator <= 0) throw new UsageError(`--set-phase wants ID=PHASE, got '${argument}'`);
  return {
    nodeId: argument.slice(0, separator),
    phase: oneOf(argument.slice(separator + 1), nodePhases, '--set-phase'),
  };
}

/** Case-insensitive match against a closed list, returned in its canonical spelling. */
export function oneOf<T extends string>(value: string, allowed: readonly T[], option: string): T {
  const match = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
  if (match === undefined) throw new UsageError(`${option}: '${value}' is not one of ${allowed.join(', ')}`);
  return match;
}

/** A decimal integer of at least 1, as `--limit` takes it. */
export function positiveInteger(value: string, option: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`${option} wants a positive integer, got '${value}'`);
  return Number(value);
}
