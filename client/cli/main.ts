/**
 * `wfo`: the command line for the workflow-offload HTTP API. A thin shell
 * over {@link WfoClient}: parse arguments, call one method, print a short
 * summary (or the server's JSON with `--json`), map errors to exit codes.
 *
 * `main` takes its streams, environment and client as arguments so tests run
 * it without spawning a process or opening a socket.
 */
import { readFile } from 'node:fs/promises';
import { text as readStream } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import {
  ConflictError,
  type NodeDelta,
  type NodeMap,
  type NodePhase,
  type NodeStatus,
  NotFoundError,
  nodePhases,
  type PutWorkflowBody,
  ServiceUnavailableError,
  stopStrategies,
  WfoApiError,
  WfoClient,
  type WorkflowMetadata,
  type WorkflowPage,
  type WriteStats,
} from '../wfo-client.ts';

export const exitCodes = { ok: 0, failure: 1, usage: 2, notFound: 3, conflict: 4 } as const;

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
>;

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Read by `-f -`. Default: `process.stdin`. */
  readonly stdin?: AsyncIterable<string | Uint8Array>;
  /** A client, or a factory given the resolved base URL. Default: a {@link WfoClient}. */
  readonly client?: CliClient | ((baseUrl: string) => CliClient);
}

export const usage = `wfo: read and write workflow node status stored by workflow-offload

Usage: wfo [--url URL] [--json] <command> [arguments] [options]

Commands:
  get <uid> [--nodes]                      show a workflow: metadata and node counts by phase
  put <uid> -f FILE [--if-match RV] [--create] [--reapply --base-version V]
                                           persist a whole workflow; FILE holds
                                           {namespace, name, phase?, message?, nodes}
  patch <uid> [-f FILE] [--set-phase ID=PHASE ...] [--remove ID ...] [--if-match RV]
                                           change some nodes; FILE holds {set?, remove?, phase?, message?}
  versions <uid>                           list the stored versions of a workflow, newest first
  version <uid> <version> [--nodes]        show one version, current or superseded
  stop <uid> [--strategy Stop|Terminate] [--message TEXT]
                                           stop a workflow: fail its unfinished nodes
  delete <uid>                             delete a workflow (its stored versions expire later)
  list <namespace> [--limit N] [--next TOKEN | --all]
                                           list the workflows of a namespace, one page or all
  health                                   check that the service answers
  race [options]                           run the race harness on DynamoDB Local, not on the
                                           service ('wfo race --help'; same as npm run race)

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
  -h, --help          show this help

Exit codes:
  0  success
  1  failure: server error, service unavailable, network error
  2  usage error: bad arguments or unreadable input file
  3  not found: workflow, version or node
  4  conflict: resourceVersion changed (--if-match), workflow exists (--create),
     or workflow already completed (stop)
`;

const options = {
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
} as const;

type OptionName = keyof typeof options;
type Values = ReturnType<typeof parse>['values'];

const parse = (args: string[]) => parseArgs({ args, options, allowPositionals: true, strict: true });

interface Command {
  readonly arguments: readonly string[];
  readonly options: readonly OptionName[];
  run(context: Context, positionals: readonly string[]): Promise<void>;
}

interface Context {
  readonly client: CliClient;
  readonly values: Values;
  readonly io: CliIo;
  readonly baseUrl: string;
  print(text: string): void;
  printJson(value: unknown): void;
}

/** Bad arguments or input: exit 2. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

const globalOptions: readonly OptionName[] = ['url', 'json', 'help'];

const commands: Readonly<Record<string, Command>> = {
  get: {
    arguments: ['uid'],
    options: ['nodes'],
    async run(context, [uid = '']) {
      const workflow = await context.client.getWorkflow(uid);
      if (context.values.json) return context.printJson(withoutClientFields(workflow));
      const rows = metadataRows(workflow, `${workflow.nodeCount} (${phaseCounts(workflow.nodes)})`);
      context.print(keyValues(rows));
      if (context.values.nodes) context.print(`\n${nodeTable(workflow.nodes)}`);
    },
  },

  put: {
    arguments: ['uid'],
    options: ['file', 'if-match', 'create', 'reapply', 'base-version'],
    async run(context, [uid = '']) {
      const { values } = context;
      if (values.file === undefined) throw new UsageError('put needs -f FILE (or -f - for standard input)');
      if (values.create && values['if-match'] !== undefined) {
        throw new UsageError('--create and --if-match exclude each other');
      }
      const body = (await readJsonObject(values.file, context.io)) as unknown as PutWorkflowBody;
      const baseVersion = values['base-version'] ?? body.baseVersion;
      if (values.reapply) {
        if (values['if-match'] === undefined) {
          throw new UsageError('--reapply needs --if-match: the resourceVersion the change was made against');
        }
        if (baseVersion === undefined) {
          throw new UsageError(
            '--reapply needs --base-version: the nodeStatusVersion the change was made against',
          );
        }
      }
      const result = await context.client.putWorkflow(
        uid,
        baseVersion === undefined ? body : { ...body, baseVersion },
        {
          ifMatch: values['if-match'],
          ifNoneMatch: values.create ? '*' : undefined,
          onConflict: values.reapply ? 'reapply' : undefined,
        },
      );
      if (values.json) return context.printJson(withoutClientFields(result));
      context.print(
        keyValues([
          ['result', result.created ? 'created' : 'updated'],
          ...metadataRows(result, String(result.nodeCount)),
          ['write', describeWrite(result.write)],
        ]),
      );
    },
  },

  patch: {
    arguments: ['uid'],
    options: ['file', 'set-phase', 'remove', 'if-match'],
    async run(context, [uid = '']) {
      const { values, client } = context;
      const delta = (
        values.file === undefined ? {} : await readJsonObject(values.file, context.io)
      ) as NodeDelta;
      if (
        delta.set !== undefined &&
        (delta.set === null || typeof delta.set !== 'object' || Array.isArray(delta.set))
      ) {
        throw new UsageError("the delta's set must be an object mapping node id to node");
      }
      if (delta.remove !== undefined && !Array.isArray(delta.remove)) {
        throw new UsageError("the delta's remove must be an array of node ids");
      }
      const set: NodeMap = { ...delta.set };
      const remove = [...(delta.remove ?? []), ...(values.remove ?? [])];
      let ifMatch = values['if-match'];

      const phaseChanges = (values['set-phase'] ?? []).map(parsePhaseChange);
      if (phaseChanges.length > 0) {
        // A set node replaces the whole node, so change the phase on the node as
        // stored and guard the write with the version that was read.
        const current = await client.getWorkflow(uid);
        ifMatch ??= current.etag;
        for (const { nodeId, phase } of phaseChanges) {
          const node: NodeStatus | undefined = set[nodeId] ?? current.nodes[nodeId];
          if (node === undefined) throw new NotFoundError(`node '${nodeId}' is not in workflow '${uid}'`);
          set[nodeId] = { ...node, phase };
        }
      }

      const request: NodeDelta = {
        ...delta,
        set: Object.keys(set).length > 0 ? set : undefined,
        remove: remove.length > 0 ? remove : undefined,
      };
      if (
        request.set === undefined &&
        request.remove === undefined &&
        !('phase' in delta || 'message' in delta)
      ) {
        throw new UsageError('nothing to patch: give -f FILE, --set-phase ID=PHASE or --remove ID');
      }
      const result = await client.patchNodes(uid, request, { ifMatch });
      if (values.json) return context.printJson(withoutClientFields(result));
      context.print(
        keyValues([
          ...metadataRows(result, String(result.nodeCount)),
          ['write', describeWrite(result.write)],
        ]),
      );
    },
  },

  versions: {
    arguments: ['uid'],
    options: [],
    async run(context, [uid = '']) {
      const list = await context.client.listVersions(uid);
      if (context.values.json) return context.printJson(list);
      if (list.items.length === 0) return context.print(`no versions of workflow ${uid}`);
      context.print(
        table(
          ['VERSION', 'CREATED', 'EXPIRES', 'NODES', 'STORED', 'CURRENT'],
          list.items.map((item) => [
            item.nodeStatusVersion,
            String(item.createdAt),
            String(item.expiresAt),
            String(item.nodeCount),
            formatBytes(item.storedBytes),
            item.current ? '*' : '',
          ]),
        ),
      );
    },
  },

  version: {
    arguments: ['uid', 'version'],
    options: ['nodes'],
    async run(context, [uid = '', nodeStatusVersion = '']) {
      const version = await context.client.getVersion(uid, nodeStatusVersion);
      if (context.values.json) return context.printJson(version);
      const nodeCount = Object.keys(version.nodes).length;
      context.print(
        keyValues([
          ['uid', version.uid],
          ['nodeStatusVersion', version.nodeStatusVersion],
          ['nodes', `${nodeCount} (${phaseCounts(version.nodes)})`],
        ]),
      );
      if (context.values.nodes) context.print(`\n${nodeTable(version.nodes)}`);
    },
  },

  stop: {
    arguments: ['uid'],
    options: ['strategy', 'message'],
    async run(context, [uid = '']) {
      const strategy = oneOf(context.values.strategy ?? 'Stop', stopStrategies, '--strategy');
      const message = context.values.message;
      const result = await context.client.stopWorkflow(
        uid,
        message === undefined ? { strategy } : { strategy, message },
      );
      if (context.values.json) return context.printJson(withoutClientFields(result));
      const nodes = result.nodes === undefined ? '' : ` (${phaseCounts(result.nodes)})`;
      context.print(keyValues(metadataRows(result, `${result.nodeCount}${nodes}`)));
    },
  },

  delete: {
    arguments: ['uid'],
    options: [],
    async run(context, [uid = '']) {
      await context.client.deleteWorkflow(uid);
      // 204 has no body: --json prints nothing and the exit code says it all.
      if (!context.values.json) context.print(`deleted workflow ${uid}`);
    },
  },

  list: {
    arguments: ['namespace'],
    options: ['limit', 'next', 'all'],
    async run(context, [namespace = '']) {
      const { values, client } = context;
      if (values.all && values.next !== undefined)
        throw new UsageError('--all and --next exclude each other');
      const limit = values.limit === undefined ? undefined : positiveInteger(values.limit, '--limit');
      let page: WorkflowPage;
      if (values.all) {
        const items: WorkflowPage['items'] = [];
        for await (const item of client.iterateWorkflows(namespace, { limit })) items.push(item);
        page = { items };
      } else {
        page = await client.listWorkflows(namespace, { limit, next: values.next });
      }
      if (values.json) return context.printJson(page);
      if (page.items.length === 0) context.print(`no workflows in namespace ${namespace}`);
      else
        context.print(
          table(
            ['UID', 'NAME', 'PHASE', 'NODES', 'UPDATED'],
            page.items.map((item) => [
              item.uid,
              item.name,
              item.phase,
              item.nodeCount === undefined ? '-' : String(item.nodeCount),
              item.updatedAt ?? '-',
            ]),
          ),
        );
      if (page.next !== undefined && page.next !== '') {
        context.print(`more: wfo list ${namespace} --next ${page.next}`);
      }
    },
  },

  health: {
    arguments: [],
    options: [],
    async run(context) {
      const health = await context.client.health();
      if (context.values.json) return context.printJson(health);
      context.print(
        keyValues([
          ['url', context.baseUrl],
          ['status', health.status],
        ]),
      );
    },
  },
};

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
  if (argv[0] === 'race') {
    // The harness has its own options and its own DynamoDB Local; loaded only when asked for.
    const { raceMain } = await import('../../bench/race.ts');
    return raceMain(argv.slice(1), io);
  }
  try {
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
    if (command === undefined) throw new UsageError(`unknown command '${name}'`);
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

function checkCommandLine(
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
  if (positionals.length !== command.arguments.length) {
    const expected = command.arguments.map((argument) => `<${argument}>`).join(' ');
    throw new UsageError(
      `usage: wfo ${name}${expected === '' ? '' : ` ${expected}`} (got ${positionals.length} arguments)`,
    );
  }
  for (const [index, value] of positionals.entries()) {
    if (value === '') throw new UsageError(`<${command.arguments[index]}> must not be empty`);
  }
}

/** Node's message for an unknown option goes on to explain `--`; its first sentence is enough. */
function describeParseError(error: unknown): string {
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

async function readJsonObject(file: string, io: CliIo): Promise<Record<string, unknown>> {
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

function parsePhaseChange(argument: string): { nodeId: string; phase: NodePhase } {
  const separator = argument.lastIndexOf('=');
  if (separator <= 0) throw new UsageError(`--set-phase wants ID=PHASE, got '${argument}'`);
  return {
    nodeId: argument.slice(0, separator),
    phase: oneOf(argument.slice(separator + 1), nodePhases, '--set-phase'),
  };
}

/** Case-insensitive match against a closed list, returned in its canonical spelling. */
function oneOf<T extends string>(value: string, allowed: readonly T[], option: string): T {
  const match = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
  if (match === undefined) throw new UsageError(`${option}: '${value}' is not one of ${allowed.join(', ')}`);
  return match;
}

function positiveInteger(value: string, option: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`${option} wants a positive integer, got '${value}'`);
  return Number(value);
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/** Drops what the client adds to the server's body (`etag`, `created`), so `--json` is the server's JSON. */
function withoutClientFields<T extends object>(value: T): Omit<T, 'etag' | 'created'> {
  const { etag: _etag, created: _created, ...body } = value as T & { etag?: unknown; created?: unknown };
  return body;
}

function metadataRows(workflow: WorkflowMetadata, nodes: string): [string, string][] {
  const rows: [string, string | undefined][] = [
    ['uid', workflow.uid],
    ['namespace', workflow.namespace],
    ['name', workflow.name],
    ['phase', workflow.phase],
    ['message', workflow.message],
    ['shutdown', workflow.shutdown],
    ['resourceVersion', workflow.resourceVersion],
    ['nodeStatusVersion', workflow.nodeStatusVersion],
    ['nodes', nodes],
    ['createdAt', workflow.createdAt],
    ['updatedAt', workflow.updatedAt],
  ];
  return rows.filter((row): row is [string, string] => row[1] !== undefined && row[1] !== '');
}

function describeWrite(write: WriteStats | undefined): string {
  if (write === undefined) return '-';
  return `${write.chunksWritten} chunk(s) written, ${write.chunksReused} reused, ${formatBytes(write.bytesWritten)}, ${write.writeUnits} write unit(s)`;
}

/** `Running 2, Succeeded 25`, in lifecycle order; nodes without a phase count as `none`. */
export function phaseCounts(nodes: NodeMap): string {
  const counts = new Map<string, number>();
  for (const node of Object.values(nodes)) {
    const phase = typeof node.phase === 'string' && node.phase !== '' ? node.phase : 'none';
    counts.set(phase, (counts.get(phase) ?? 0) + 1);
  }
  if (counts.size === 0) return 'none';
  const order = (phase: string): number => {
    const index = (nodePhases as readonly string[]).indexOf(phase);
    return index === -1 ? nodePhases.length : index;
  };
  return [...counts]
    .sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))
    .map(([phase, count]) => `${phase} ${count}`)
    .join(', ');
}

function nodeTable(nodes: NodeMap): string {
  const text = (value: unknown): string => (typeof value === 'string' && value !== '' ? oneLine(value) : '-');
  return table(
    ['ID', 'PHASE', 'NAME', 'MESSAGE'],
    Object.entries(nodes).map(([id, node]) => [
      id,
      text(node.phase),
      text(node.displayName ?? node.name),
      text(node.message),
    ]),
  );
}

/** `key:  value` lines with the values aligned. */
export function keyValues(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([key]) => key.length)) + 2;
  return rows.map(([key, value]) => `${`${key}:`.padEnd(width)}${value}`).join('\n');
}

/** Columns separated by two spaces; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function describeApiError(error: WfoApiError): string {
  let text = `${error.code}: ${error.message}`;
  if (error instanceof ConflictError && error.current !== undefined) {
    text += ` (current resourceVersion ${error.current.resourceVersion}, nodeStatusVersion ${error.current.nodeStatusVersion})`;
  }
  if (error instanceof ServiceUnavailableError && error.retryAfterSeconds !== undefined) {
    text += ` (retry after ${error.retryAfterSeconds}s)`;
  }
  return text;
}

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();
