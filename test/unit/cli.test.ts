import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CliClient, type CliIo, defaultBaseUrl, exitCodes, usage } from '#client/cli/args';
import { main } from '#client/cli/main';
import {
  ConflictError,
  ConnectionError,
  NotFoundError,
  ServiceUnavailableError,
  type WithEtag,
  type WorkflowResponse,
  type WorkflowSummary,
  type WriteResponse,
} from '#client/wfo-client';

const workflow: WithEtag<WorkflowResponse> = {
  uid: 'wf-1',
  namespace: 'argo',
  name: 'hello',
  phase: 'Running',
  resourceVersion: '7',
  nodeStatusVersion: 'v-abc',
  nodeCount: 3,
  createdAt: '2025-01-01T00:00:00Z',
  updatedAt: '2025-01-01T00:05:00Z',
  nodes: {
    'wf-1': { id: 'wf-1', phase: 'Running', displayName: 'hello', children: ['wf-1-a', 'wf-1-b'] },
    'wf-1-a': { id: 'wf-1-a', phase: 'Succeeded', displayName: 'step-a', outputs: { exitCode: '0' } },
    'wf-1-b': { id: 'wf-1-b', phase: 'Running', displayName: 'step-b', message: 'waiting\nfor pod' },
  },
  etag: '7',
};

const { nodes: _nodes, etag: _etag, ...metadata } = workflow;

const writeResponse = (resourceVersion: string): WithEtag<WriteResponse> => ({
  ...metadata,
  resourceVersion,
  nodeStatusVersion: 'v-new',
  write: { chunksWritten: 2, chunksReused: 14, bytesWritten: 4300, writeUnits: 6 },
  etag: resourceVersion,
});

/** A client whose every method fails unless the test provides it. */
function fakeClient(methods: Partial<CliClient> = {}): CliClient {
  const unexpected = (name: string) => () => {
    throw new Error(`unexpected call to ${name}`);
  };
  return {
    health: unexpected('health'),
    putWorkflow: unexpected('putWorkflow'),
    patchNodes: unexpected('patchNodes'),
    getWorkflow: unexpected('getWorkflow'),
    listVersions: unexpected('listVersions'),
    getVersion: unexpected('getVersion'),
    stopWorkflow: unexpected('stopWorkflow'),
    deleteWorkflow: unexpected('deleteWorkflow'),
    listWorkflows: unexpected('listWorkflows'),
    iterateWorkflows: unexpected('iterateWorkflows'),
    diff: unexpected('diff'),
    readNodes: unexpected('readNodes'),
    ...methods,
  };
}

interface RunOptions {
  readonly client?: CliIo['client'];
  readonly env?: CliIo['env'];
  readonly stdin?: string;
}

async function run(argv: string[], options: RunOptions = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: options.env ?? {},
    client: options.client ?? fakeClient(),
    stdin: options.stdin === undefined ? Readable.from([]) : Readable.from([options.stdin]),
  });
  return { code, stdout, stderr };
}

/** One line on stderr, starting with `wfo: `. */
const oneErrorLine = /^wfo: [^\n]+\n$/;

let directory: string;
const file = (name: string) => join(directory, name);

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'wfo-cli-'));
  await writeFile(
    file('workflow.json'),
    JSON.stringify({ namespace: 'argo', name: 'hello', nodes: workflow.nodes }),
  );
  await writeFile(
    file('delta.json'),
    JSON.stringify({ set: { n9: { id: 'n9', phase: 'Pending' } }, remove: ['n0'] }),
  );
  await writeFile(file('broken.json'), '{"namespace": ');
  await writeFile(file('array.json'), '[]');
  await writeFile(file('bad-delta.json'), JSON.stringify({ remove: 'n1' }));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('wfo argument parsing', () => {
  it('prints the usage with the exit codes on --help and exits 0', async () => {
    const result = await run(['--help']);

    expect(result.code).toBe(exitCodes.ok);
    expect(result.stdout).toBe(usage);
    expect(result.stdout).toMatch(
      /Exit codes:\n {2}0 {2}success\n {2}1 {2}failure.*\n {2}2 {2}usage error.*\n {2}3 {2}not found.*\n {2}4 {2}conflict/,
    );
  });

  it('prints the usage on stderr and exits 2 without a command', async () => {
    const result = await run([]);

    expect(result.code).toBe(exitCodes.usage);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(usage);
  });

  it.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['toString'], /unknown command 'toString'/],
    [['get', 'wf-1', '--bogus'], /Unknown option '--bogus'/],
    [['get', 'wf-1', '--limit', '3'], /get does not take --limit/],
    [['get'], /usage: wfo get <uid> \(got 0 arguments\)/],
    [['version', 'wf-1'], /usage: wfo version <uid> <version>/],
    [['health', 'extra'], /usage: wfo health \(got 1 arguments\)/],
    [['get', ''], /<uid> must not be empty/],
    [['put', 'wf-1'], /put needs -f FILE/],
    [['list', 'argo', '--limit', '0'], /--limit wants a positive integer, got '0'/],
    [['list', 'argo', '--all', '--next', 'abc'], /--all and --next exclude each other/],
    [['stop', 'wf-1', '--strategy', 'Pause'], /--strategy: 'Pause' is not one of Stop, Terminate/],
    [['patch', 'wf-1'], /nothing to patch/],
    [['patch', 'wf-1', '--set-phase', 'n1'], /--set-phase wants ID=PHASE, got 'n1'/],
    [['patch', 'wf-1', '--set-phase', 'n1=Done'], /--set-phase: 'Done' is not one of Pending, Running/],
    [['--url', 'ftp://example.com', 'health'], /'ftp:\/\/example.com' is not an http\(s\) URL/],
  ])('rejects %j with exit 2 and one line on stderr', async (argv, message) => {
    const result = await run(argv);

    expect(result.code).toBe(exitCodes.usage);
    expect(result.stderr).toMatch(oneErrorLine);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it.each([
    [['race']],
    [['race', '--workflows', '3', '--duration', '5']],
    [['race', '--help']],
    [['--json', 'race']],
  ])('rejects %j as an unknown command with exit 2, pointing to npm run race', async (argv) => {
    const result = await run(argv);

    expect(result.code).toBe(exitCodes.usage);
    expect(result.stderr).toMatch(oneErrorLine);
    expect(result.stderr).toMatch(/unknown command 'race': the race harness is 'npm run race'/);
    expect(result.stdout).toBe('');
  });

  it('lists no race command in the usage and says the harness is npm run race', () => {
    const commandList = usage.slice(usage.indexOf('Commands:'), usage.indexOf('Options:'));

    expect(commandList).not.toMatch(/^ {2}race\b/m);
    expect(commandList).toMatch(/run 'npm run race'/);
  });

  it('rejects --create with --if-match, and --reapply without --if-match or --base-version', async () => {
    const workflowFile = file('workflow.json');

    const both = await run(['put', 'wf-1', '-f', workflowFile, '--create', '--if-match', '7']);
    const noIfMatch = await run(['put', 'wf-1', '-f', workflowFile, '--reapply', '--base-version', 'v-1']);
    const noBase = await run(['put', 'wf-1', '-f', workflowFile, '--reapply', '--if-match', '7']);

    expect([both.code, noIfMatch.code, noBase.code]).toEqual([2, 2, 2]);
    expect(both.stderr).toMatch(/--create and --if-match exclude each other/);
    expect(noIfMatch.stderr).toMatch(/--reapply needs --if-match/);
    expect(noBase.stderr).toMatch(/--reapply needs --base-version/);
  });

  it.each([
    ['missing.json', /cannot read .*missing\.json/],
    ['broken.json', /broken\.json is not valid JSON/],
    ['array.json', /array\.json must hold a JSON object/],
  ])('exits 2 when the input file is %s', async (name, message) => {
    const result = await run(['put', 'wf-1', '-f', file(name)]);

    expect(result.code).toBe(exitCodes.usage);
    expect(result.stderr).toMatch(message);
  });

  it('exits 2 when a delta file has a remove that is not a list', async () => {
    const result = await run(['patch', 'wf-1', '-f', file('bad-delta.json')]);

    expect(result.code).toBe(exitCodes.usage);
    expect(result.stderr).toMatch(/the delta's remove must be an array of node ids/);
  });

  it('takes the base URL from --url, then $WFO_URL, then the default', async () => {
    const seen: string[] = [];
    const client = (baseUrl: string) => {
      seen.push(baseUrl);
      return fakeClient({ health: async () => ({ status: 'ok' }) });
    };
    const env = { WFO_URL: 'http://from-env:4000' };

    await run(['--url', 'http://from-flag:5000', 'health'], { client, env });
    await run(['health'], { client, env });
    await run(['health'], { client, env: {} });

    expect(seen).toEqual(['http://from-flag:5000', 'http://from-env:4000', defaultBaseUrl]);
  });

  it('sends put with the compare-and-set and re-apply options', async () => {
    const putWorkflow = vi.fn(async () => ({ ...writeResponse('8'), created: false }));
    const client = fakeClient({ putWorkflow });

    const result = await run(
      ['put', 'wf-1', '-f', file('workflow.json'), '--if-match', '7', '--reapply', '--base-version', 'v-abc'],
      { client },
    );

    expect(result.code).toBe(exitCodes.ok);
    expect(putWorkflow).toHaveBeenCalledWith(
      'wf-1',
      { namespace: 'argo', name: 'hello', nodes: workflow.nodes, baseVersion: 'v-abc' },
      { ifMatch: '7', ifNoneMatch: undefined, onConflict: 'reapply' },
    );
  });

  it('sends put --create as If-None-Match: * and reads -f - from standard input', async () => {
    const putWorkflow = vi.fn(async () => ({ ...writeResponse('1'), created: true }));
    const body = { namespace: 'argo', name: 'from-stdin', nodes: {} };

    const result = await run(['put', 'wf-2', '-f', '-', '--create'], {
      client: fakeClient({ putWorkflow }),
      stdin: JSON.stringify(body),
    });

    expect(result.code).toBe(exitCodes.ok);
    expect(putWorkflow).toHaveBeenCalledWith('wf-2', body, {
      ifMatch: undefined,
      ifNoneMatch: '*',
      onConflict: undefined,
    });
  });

  it('patches a phase by sending the whole stored node, guarded by the resourceVersion it read', async () => {
    const getWorkflow = vi.fn(async () => workflow);
    const patchNodes = vi.fn(async () => writeResponse('8'));

    const result = await run(
      ['patch', 'wf-1', '--set-phase', 'wf-1-b=succeeded', '--remove', 'old-1', '--remove', 'old-2'],
      { client: fakeClient({ getWorkflow, patchNodes }) },
    );

    expect(result.code).toBe(exitCodes.ok);
    expect(patchNodes).toHaveBeenCalledWith(
      'wf-1',
      {
        set: {
          'wf-1-b': { id: 'wf-1-b', phase: 'Succeeded', displayName: 'step-b', message: 'waiting\nfor pod' },
        },
        remove: ['old-1', 'old-2'],
      },
      { ifMatch: '7' },
    );
  });

  it('merges a delta file with --set-phase and --remove, keeping an explicit --if-match', async () => {
    const patchNodes = vi.fn(async () => writeResponse('9'));
    const client = fakeClient({ getWorkflow: async () => workflow, patchNodes });

    await run(
      [
        'patch',
        'wf-1',
        '-f',
        file('delta.json'),
        '--set-phase',
        'n9=Running',
        '--remove',
        'n1',
        '--if-match',
        '5',
      ],
      { client },
    );

    expect(patchNodes).toHaveBeenCalledWith(
      'wf-1',
      { set: { n9: { id: 'n9', phase: 'Running' } }, remove: ['n0', 'n1'] },
      { ifMatch: '5' },
    );
  });

  it('sends only --remove without reading the workflow first', async () => {
    const patchNodes = vi.fn(async () => writeResponse('8'));

    await run(['patch', 'wf-1', '--remove', 'n1'], { client: fakeClient({ patchNodes }) });

    expect(patchNodes).toHaveBeenCalledWith(
      'wf-1',
      { set: undefined, remove: ['n1'] },
      { ifMatch: undefined },
    );
  });

  it('stops with strategy Stop by default and normalises the spelling of --strategy', async () => {
    const stopWorkflow = vi.fn(async () => ({
      ...metadata,
      phase: 'Failed',
      shutdown: 'Stop' as const,
      etag: '8',
    }));
    const client = fakeClient({ stopWorkflow });

    await run(['stop', 'wf-1'], { client });
    await run(['stop', 'wf-1', '--strategy', 'terminate', '--message', 'by hand'], { client });

    expect(stopWorkflow.mock.calls).toEqual([
      ['wf-1', { strategy: 'Stop' }],
      ['wf-1', { strategy: 'Terminate', message: 'by hand' }],
    ]);
  });
});

describe('wfo output', () => {
  it('prints a workflow as aligned key: value lines with node counts by phase, not the nodes', async () => {
    const result = await run(['get', 'wf-1'], { client: fakeClient({ getWorkflow: async () => workflow }) });

    expect(result.code).toBe(exitCodes.ok);
    expect(result.stdout).toBe(
      [
        'uid:               wf-1',
        'namespace:         argo',
        'name:              hello',
        'phase:             Running',
        'resourceVersion:   7',
        'nodeStatusVersion: v-abc',
        'nodes:             3 (Running 2, Succeeded 1)',
        'createdAt:         2025-01-01T00:00:00Z',
        'updatedAt:         2025-01-01T00:05:00Z',
        '',
      ].join('\n'),
    );
    expect(result.stdout).not.toContain('step-a');
  });

  it('lists the nodes in a table with get --nodes, one line per node', async () => {
    const result = await run(['get', 'wf-1', '--nodes'], {
      client: fakeClient({ getWorkflow: async () => workflow }),
    });

    expect(result.stdout).toContain(
      [
        'ID      PHASE      NAME    MESSAGE',
        'wf-1    Running    hello   -',
        'wf-1-a  Succeeded  step-a  -',
        'wf-1-b  Running    step-b  waiting for pod',
      ].join('\n'),
    );
  });

  it('prints the server JSON with --json, without the fields the client adds', async () => {
    const result = await run(['--json', 'get', 'wf-1'], {
      client: fakeClient({ getWorkflow: async () => workflow }),
    });

    const { etag: _ignored, ...serverBody } = workflow;
    expect(JSON.parse(result.stdout)).toEqual(serverBody);
  });

  it('prints whether put created or updated and what the write cost', async () => {
    const client = fakeClient({ putWorkflow: async () => ({ ...writeResponse('1'), created: true }) });

    const result = await run(['put', 'wf-1', '-f', file('workflow.json'), '--create'], { client });

    expect(result.stdout).toMatch(/^result: {12}created$/m);
    expect(result.stdout).toMatch(/^resourceVersion: {3}1$/m);
    expect(result.stdout).toMatch(
      /^write: {13}2 chunk\(s\) written, 14 reused, 4\.2 KiB, 6 write unit\(s\)$/m,
    );
  });

  it('prints versions as a table, newest first, marking the current one', async () => {
    const client = fakeClient({
      listVersions: async () => ({
        items: [
          {
            nodeStatusVersion: 'v-new',
            createdAt: '2025-01-02T00:00:00Z',
            expiresAt: '2025-01-06T00:00:00Z',
            nodeCount: 1200,
            storedBytes: 48_000,
            phaseCounts: { Running: 200, Succeeded: 1000 },
            current: true,
          },
          {
            nodeStatusVersion: 'v-old',
            createdAt: '2025-01-01T00:00:00Z',
            expiresAt: '2025-01-05T00:00:00Z',
            nodeCount: 12,
            storedBytes: 900,
            current: false,
          },
        ],
      }),
      diff: async (_uid, options) => ({
        uid: 'wf-1',
        from: options?.from ?? '',
        to: options?.to ?? '',
        added: 1188,
        removed: 0,
        changed: 3,
        nodes: [],
      }),
    });

    const result = await run(['versions', 'wf-1'], { client });

    expect(result.stdout).toBe(
      [
        'VERSION  CREATED               EXPIRES               NODES  CHANGED  STORED    CURRENT  PHASES',
        'v-new    2025-01-02T00:00:00Z  2025-01-06T00:00:00Z  1200   1191     46.9 KiB  *        Running 200, Succeeded 1000',
        'v-old    2025-01-01T00:00:00Z  2025-01-05T00:00:00Z  12     first    900 B              -',
        '',
      ].join('\n'),
    );
  });

  it('prints one page of workflows and how to get the next one', async () => {
    const listWorkflows = vi.fn(async () => ({
      items: [
        {
          uid: 'wf-1',
          namespace: 'argo',
          name: 'hello',
          phase: 'Running',
          nodeCount: 3,
          phaseCounts: { Running: 1, Succeeded: 1, Failed: 1 },
        },
      ],
      next: 'cursor-2',
    }));

    const result = await run(['list', 'argo', '--limit', '1'], { client: fakeClient({ listWorkflows }) });

    expect(listWorkflows).toHaveBeenCalledWith('argo', { limit: 1, next: undefined });
    expect(result.stdout).toBe(
      [
        'UID   NAME   PHASE    NODES  PROGRESS        UPDATED',
        'wf-1  hello  Running  3      2/3 (1 failed)  -',
        'more: wfo list argo --next cursor-2',
        '',
      ].join('\n'),
    );
  });

  it('follows every page with list --all and prints them as one JSON list with --json', async () => {
    const summaries: WorkflowSummary[] = [
      { uid: 'a', namespace: 'argo', name: 'a', phase: 'Succeeded' },
      { uid: 'b', namespace: 'argo', name: 'b', phase: 'Running' },
    ];
    const iterateWorkflows = vi.fn(async function* () {
      yield* summaries;
    });

    const result = await run(['list', 'argo', '--all', '--json', '--limit', '50'], {
      client: fakeClient({ iterateWorkflows }),
    });

    expect(iterateWorkflows).toHaveBeenCalledWith('argo', { limit: 50 });
    expect(JSON.parse(result.stdout)).toEqual({ items: summaries });
  });

  it('prints the stopped workflow with its shutdown strategy', async () => {
    const client = fakeClient({
      stopWorkflow: async () => ({ ...metadata, phase: 'Failed', shutdown: 'Terminate' as const, etag: '8' }),
    });

    const result = await run(['stop', 'wf-1', '--strategy', 'Terminate'], { client });

    expect(result.stdout).toMatch(/^phase: {13}Failed$/m);
    expect(result.stdout).toMatch(/^shutdown: {10}Terminate$/m);
  });

  it('confirms a delete, and prints nothing for delete --json (204 has no body)', async () => {
    const client = fakeClient({ deleteWorkflow: async () => undefined });

    const readable = await run(['delete', 'wf-1'], { client });
    const json = await run(['delete', 'wf-1', '--json'], { client });

    expect(readable.stdout).toBe('deleted workflow wf-1\n');
    expect(json).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('prints the health status and the URL it asked', async () => {
    const result = await run(['health'], { client: fakeClient({ health: async () => ({ status: 'ok' }) }) });

    expect(result.stdout).toBe(`url:    ${defaultBaseUrl}\nstatus: ok\n`);
  });
});

describe('wfo exit codes', () => {
  it.each([
    [
      new NotFoundError("workflow 'wf-1' does not exist"),
      3,
      "wfo: NotFound: workflow 'wf-1' does not exist\n",
    ],
    [
      new ConflictError('resourceVersion 7 is stale', { resourceVersion: '9', nodeStatusVersion: 'v-9' }),
      4,
      'wfo: Conflict: resourceVersion 7 is stale (current resourceVersion 9, nodeStatusVersion v-9)\n',
    ],
    [
      new ServiceUnavailableError('table is throttling', 3),
      1,
      'wfo: ServiceUnavailable: table is throttling (retry after 3s)\n',
    ],
    [
      new ConnectionError('cannot reach http://localhost:3000: connect ECONNREFUSED 127.0.0.1:3000'),
      1,
      'wfo: ConnectionFailed: cannot reach http://localhost:3000: connect ECONNREFUSED 127.0.0.1:3000\n',
    ],
    [new Error('something\nbroke'), 1, 'wfo: something broke\n'],
  ])('maps %s to exit %i with one line on stderr', async (error, code, stderr) => {
    const client = fakeClient({
      getWorkflow: async () => {
        throw error;
      },
    });

    const result = await run(['get', 'wf-1'], { client });

    expect(result).toEqual({ code, stdout: '', stderr });
  });

  it('exits 3 when --set-phase names a node the workflow does not have', async () => {
    const patchNodes = vi.fn();

    const result = await run(['patch', 'wf-1', '--set-phase', 'ghost=Failed'], {
      client: fakeClient({ getWorkflow: async () => workflow, patchNodes }),
    });

    expect(result.code).toBe(exitCodes.notFound);
    expect(result.stderr).toBe("wfo: NotFound: node 'ghost' is not in workflow 'wf-1'\n");
    expect(patchNodes).not.toHaveBeenCalled();
  });
});
