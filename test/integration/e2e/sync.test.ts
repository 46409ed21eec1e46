/**
 * The sync protocol end to end: `npm start`'s runtime as a child process
 * with the deployed front-door limits on (the default), driven over HTTP by
 * SyncClient and the wfo CLI. What crosses the wire follows the change, no
 * map size meets a limit through the client, a plain request over a limit
 * is a 4xx JSON, the cache is verified, and uploads are invisible until they
 * commit and expire when they never do.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeCache } from '#client/cache';
import { SyncClient } from '#client/sync';
import { bucketize, versionIdOf } from '#client/version-id';
import { ConflictError, GoneError, type NodeMap, NotFoundError, WfoClient } from '#client/wfo-client';
import { generateNodes, mutateNodes } from '#testkit/argo-generator';
import { scanTable } from '#testkit/command-log';
import { projectRoot, type RuntimeProcess, spawnRuntime } from '#testkit/runtime-process';
import { createTtlTestTable, dynamodbEndpoint } from '#testkit/table';

const run = promisify(execFile);

/** Bytes each way on the wire, counted from what fetch sends and the content-length it receives. */
function countingFetch() {
  const counts = { sent: 0, received: 0, requests: 0 };
  const counted: typeof fetch = async (input, init) => {
    counts.requests++;
    const body = init?.body;
    if (typeof body === 'string') counts.sent += Buffer.byteLength(body);
    else if (body instanceof Uint8Array) counts.sent += body.length;
    const response = await fetch(input, init);
    counts.received += Number(response.headers.get('content-length') ?? 0);
    return response;
  };
  return { counts, fetch: counted };
}

const running = (id: string, extra: Record<string, unknown> = {}) => ({ id, phase: 'Running', ...extra });

async function temporaryDirectory(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'wfo-cache-'));
}

function syncClient(baseUrl: string, cacheDirectory: string, fetchImpl?: typeof fetch) {
  const client = new WfoClient({ baseUrl, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  return new SyncClient(client, { cache: new NodeCache({ baseUrl, directory: cacheDirectory }) });
}

describe('sync over the runtime with the deployed limits', () => {
  let runtime: RuntimeProcess;
  const directories: string[] = [];
  const cacheDirectory = async () => {
    const directory = await temporaryDirectory();
    directories.push(directory);
    return directory;
  };

  beforeAll(async () => {
    runtime = await spawnRuntime({
      DYNAMODB_ENDPOINT: dynamodbEndpoint(),
      WFO_TABLE_NAME: `sync-${randomUUID()}`,
    });
  });

  afterAll(async () => {
    expect(await runtime?.stop()).toBe(0);
    for (const directory of directories) await rm(directory, { recursive: true, force: true });
  });

  it('round-trips 100,000 nodes through the client; a plain PUT and a plain GET of them are 413 JSON', {
    timeout: 300_000,
  }, async () => {
    const nodes = generateNodes({ nodeCount: 100_000, seed: 100 }) as NodeMap;
    const uid = 'sync-100k';
    const plain = await fetch(`${runtime.baseUrl}/v1/workflows/${uid}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ namespace: 'argo', name: 'big', nodes })),
    });
    const plainError = await plain.json();
    const writer = syncClient(runtime.baseUrl, await cacheDirectory());

    const written = await writer.putWorkflow(uid, {
      namespace: 'argo',
      name: 'big',
      phase: 'Running',
      nodes,
    });
    const plainGet = await fetch(`${runtime.baseUrl}/v1/workflows/${uid}`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    const plainGetError = await plainGet.json();
    const reader = syncClient(runtime.baseUrl, await cacheDirectory());
    const read = await reader.getWorkflow(uid);

    expect(plain.status).toBe(413);
    expect(plainError).toEqual({
      error: 'PayloadTooLarge',
      message: expect.stringMatching(/limit: send a large map/),
    });
    expect(written).toMatchObject({ created: true, path: 'upload', nodeCount: 100_000 });
    expect(written.nodeStatusVersion).toBe(versionIdOf(nodes));
    expect(plainGet.status).toBe(413);
    expect(plainGetError).toEqual({
      error: 'PayloadTooLarge',
      message: expect.stringMatching(/read the nodes in pages/),
    });
    expect(read.nodes).toEqual(nodes);
  });

  it('sends and receives a small fraction of the map once the cache is warm', {
    timeout: 120_000,
  }, async () => {
    const nodes = generateNodes({ nodeCount: 10_000, seed: 11 }) as NodeMap;
    const uid = 'sync-warm';
    const { counts, fetch: counted } = countingFetch();
    const directory = await cacheDirectory();
    const controller = syncClient(runtime.baseUrl, directory, counted);
    await controller.putWorkflow(uid, { namespace: 'argo', name: 'w', nodes });
    const gzipMapBytes = gzipSync(JSON.stringify(nodes)).length;
    const { set } = mutateNodes(nodes, { count: 10, seed: 4 });
    const next = { ...nodes, ...(set as NodeMap) };

    counts.sent = 0;
    counts.received = 0;
    const saved = await controller.putWorkflow(uid, { namespace: 'argo', name: 'w', nodes: next });
    const sentBySave = counts.sent;
    // Another writer advances 10 more pods; the controller re-reads.
    const { set: later } = mutateNodes(next, { count: 10, seed: 5 });
    await new WfoClient({ baseUrl: runtime.baseUrl }).patchNodes(uid, { set: later as NodeMap });
    counts.received = 0;
    const reread = await controller.getWorkflow(uid);
    const receivedByReread = counts.received;

    expect(saved.path).toBe('delta');
    expect(saved.nodeStatusVersion).toBe(versionIdOf(next));
    expect(reread.nodes).toEqual({ ...next, ...(later as NodeMap) });
    expect(sentBySave).toBeLessThan(gzipMapBytes * 0.02);
    expect(receivedByReread).toBeLessThan(gzipMapBytes * 0.02);
    console.info(
      `10,000 nodes, 10 pods each way: a save sent ${sentBySave} B, a re-read received ${receivedByReread} B; the map's own gzip is ${gzipMapBytes} B`,
    );
  });

  it('reads since a version across a stop and a re-apply', async () => {
    const uid = 'sync-stop';
    const base = { a: running('a'), b: running('b') };
    const controller = syncClient(runtime.baseUrl, await cacheDirectory());
    const plainClient = new WfoClient({ baseUrl: runtime.baseUrl });
    const created = await controller.putWorkflow(uid, { namespace: 'argo', name: 's', nodes: base });
    await plainClient.stopWorkflow(uid, { strategy: 'Stop' });

    const afterStop = await controller.getWorkflow(uid);
    const stale = await controller.putWorkflow(
      uid,
      {
        namespace: 'argo',
        name: 's',
        nodes: { ...base, c: running('c') },
        baseVersion: created.nodeStatusVersion,
      },
      { ifMatch: created.resourceVersion, onConflict: 'reapply' },
    );
    const afterReapply = await controller.getWorkflow(uid);

    expect(afterStop).toMatchObject({
      shutdown: 'Stop',
      nodes: { a: { phase: 'Failed' }, b: { phase: 'Failed' } },
    });
    expect(stale.shutdown).toBe('Stop');
    expect(afterReapply.nodes).toEqual((await plainClient.getWorkflow(uid)).nodes);
    expect(afterReapply.nodes.c?.phase).toBe('Failed');
  });

  it('re-applies a stale map node by node, as a PUT does, though its delta goes field by field', async () => {
    // Nodes large enough that a field change is smaller than the node: the delta merges fields.
    const pod = (id: string, extra: Record<string, unknown> = {}) =>
      running(id, { displayName: `${id}-${'x'.repeat(200)}`, progress: '0/1', ...extra });
    const base = { a: pod('a'), b: pod('b'), c: pod('c') };
    const mine = {
      ...base,
      a: pod('a', { phase: 'Succeeded', finishedAt: '2026-01-01T00:00:00Z', progress: '1/1' }),
      b: pod('b', { progress: '1/2' }),
    };
    const sent: string[] = [];
    const watched: typeof fetch = async (input, init) => {
      if (init?.method === 'PATCH') sent.push(String(input));
      return fetch(input, init);
    };
    const results: NodeMap[] = [];
    for (const via of ['sync', 'put'] as const) {
      const uid = `sync-reapply-${via}`;
      const controller = syncClient(runtime.baseUrl, await cacheDirectory(), watched);
      const plainClient = new WfoClient({ baseUrl: runtime.baseUrl });
      const created = await controller.putWorkflow(uid, { namespace: 'argo', name: 'r', nodes: base });
      await plainClient.stopWorkflow(uid, { strategy: 'Stop' });
      const body = { namespace: 'argo', name: 'r', nodes: mine, baseVersion: created.nodeStatusVersion };
      const options = { ifMatch: created.resourceVersion, onConflict: 'reapply' } as const;
      const written =
        via === 'sync'
          ? await controller.putWorkflow(uid, body, options)
          : await plainClient.putWorkflow(uid, body, options);
      expect(written.shutdown).toBe('Stop');
      results.push((await plainClient.getWorkflow(uid)).nodes);
    }
    const [viaSync, viaPut] = results as [NodeMap, NodeMap];

    // The first PATCH merged fields and met the stop; the second sent the changed nodes whole.
    expect(sent).toHaveLength(2);
    expect(sent[1]).toContain('onConflict=reapply');
    // The same nodes either way, but for the clock of the stop that failed them.
    const stopClockless = (nodes: NodeMap) =>
      Object.fromEntries(
        Object.entries(nodes).map(([id, node]) => [
          id,
          node.phase === 'Failed' ? { ...node, finishedAt: 'the stop' } : node,
        ]),
      );
    expect(stopClockless(viaSync)).toEqual(stopClockless(viaPut));
    // Finished by the map: the map's node whole, without the stop's message.
    expect(viaSync.a).toEqual(mine.a);
    // Failed by the stop, then sent Running: the stopped node stays as the stop left it.
    expect(viaSync.b).toMatchObject({ phase: 'Failed', progress: '0/1' });
    expect(viaPut.b).toMatchObject({ phase: 'Failed', progress: '0/1' });
  });

  it('detects a corrupt cache entry and reads the workflow again instead of serving it', async () => {
    const uid = 'sync-corrupt';
    const nodes = { a: running('a'), b: running('b', { phase: 'Succeeded' }) };
    const directory = await cacheDirectory();
    await syncClient(runtime.baseUrl, directory).putWorkflow(uid, { namespace: 'argo', name: 'c', nodes });
    const [scope] = await readdir(directory);
    const folder = join(directory, scope as string);
    const blob = (await readdir(folder)).find((name) => name.endsWith('.gz')) as string;

    // A flipped byte: the file no longer matches its name.
    const bytes = await readFile(join(folder, blob));
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 0xff;
    await writeFile(join(folder, blob), bytes);
    const afterFlip = await syncClient(runtime.baseUrl, directory).getWorkflow(uid);
    // A well-formed entry with other nodes under the right file name: its version id gives it away.
    const [fresh] = (await readdir(folder)).filter((name) => name.endsWith('.gz'));
    const entry = JSON.parse(gunzipSync(await readFile(join(folder, fresh as string))).toString());
    entry.nodes.a.phase = 'Failed';
    const forged = gzipSync(JSON.stringify(entry));
    const { createHash } = await import('node:crypto');
    const forgedName = `${createHash('sha256').update(forged).digest('hex')}.gz`;
    await writeFile(join(folder, forgedName), forged);
    const ref = (await readdir(folder)).find((name) => name.endsWith('.ref')) as string;
    await writeFile(join(folder, ref), forgedName);
    const afterForgery = await syncClient(runtime.baseUrl, directory).getWorkflow(uid);

    expect(afterFlip.nodes).toEqual(nodes);
    expect(afterForgery.nodes).toEqual(nodes);
  });

  it('serves two clients sharing one cache, each reading what the service holds', {
    timeout: 120_000,
  }, async () => {
    const directory = await cacheDirectory();
    const first = syncClient(runtime.baseUrl, directory);
    const second = syncClient(runtime.baseUrl, directory);
    const plainClient = new WfoClient({ baseUrl: runtime.baseUrl });
    const nodes = generateNodes({ nodeCount: 2_000, seed: 21 }) as NodeMap;
    await first.putWorkflow('sync-shared', { namespace: 'argo', name: 'x', nodes });

    for (let round = 0; round < 5; round++) {
      const { set } = mutateNodes(nodes, { count: 5, seed: round });
      Object.assign(nodes, set);
      const [written, read] = await Promise.all([
        (round % 2 === 0 ? first : second).putWorkflow('sync-shared', {
          namespace: 'argo',
          name: 'x',
          nodes: { ...nodes },
        }),
        (round % 2 === 0 ? second : first).getWorkflow('sync-shared'),
      ]);
      expect(written.nodeStatusVersion).toBe(versionIdOf(nodes));
      expect(versionIdOf(read.nodes)).toBe(read.nodeStatusVersion);
    }
    const truth = await plainClient.getWorkflow('sync-shared');
    expect((await first.getWorkflow('sync-shared')).nodes).toEqual(truth.nodes);
    expect((await second.getWorkflow('sync-shared')).nodes).toEqual(truth.nodes);
  });

  it('loses a staged upload to a stop that commits first, or re-applies it on the stopped state', async () => {
    const client = new WfoClient({ baseUrl: runtime.baseUrl });
    const uid = 'sync-upload-stop';
    const created = await client.putWorkflow(uid, {
      namespace: 'argo',
      name: 'u',
      nodes: { a: running('a') },
    });
    const begun = await client.beginUpload(uid, { namespace: 'argo', name: 'u', nodeCount: 2 });
    const bucketOf = (await import('#client/version-id')).bucketOf;
    const buckets: Record<number, NodeMap> = {};
    for (let index = 0; index < begun.bucketCount; index++) buckets[index] = {};
    for (const [id, node] of Object.entries({ a: running('a', { phase: 'Succeeded' }), b: running('b') })) {
      (buckets[bucketOf(id, begun.bucketCount)] as NodeMap)[id] = node;
    }
    await client.putUploadPart(uid, begun.uploadId, 1, buckets);
    await client.stopWorkflow(uid, { strategy: 'Terminate' });

    const conflict = client.commitUpload(uid, begun.uploadId, {}, { ifMatch: created.etag });
    await expect(conflict).rejects.toBeInstanceOf(ConflictError);
    const reapplied = await client.commitUpload(
      uid,
      begun.uploadId,
      { baseVersion: created.nodeStatusVersion },
      { ifMatch: created.etag, onConflict: 'reapply' },
    );
    const after = await client.getWorkflow(uid);

    expect(reapplied.shutdown).toBe('Terminate');
    expect(after.nodes).toMatchObject({ a: { phase: 'Succeeded' }, b: { phase: 'Failed' } });
  });

  /** `wfo watch` as a child process: its output so far, a wait for a line, and its exit. */
  const startWatch = (uid: string, directory: string) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(projectRoot, 'bin', 'wfo.js'), 'watch', uid, '--interval', '1'],
      { env: { ...process.env, WFO_URL: runtime.baseUrl, WFO_CACHE_DIR: join(directory, 'cache') } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const printed = async (pattern: RegExp) => {
      for (let waited = 0; !pattern.test(stdout); waited += 100) {
        if (waited > 60_000 || child.exitCode !== null) {
          throw new Error(`wfo watch never printed ${pattern}:\n${stdout}\n${stderr}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    return { printed, exited, output: () => ({ stdout, stderr }) };
  };

  it('follows a workflow with wfo watch across a stop: node phase changes, then exit 1', {
    timeout: 120_000,
  }, async () => {
    const client = new WfoClient({ baseUrl: runtime.baseUrl });
    await client.putWorkflow('sync-watch', {
      namespace: 'argo',
      name: 'w',
      phase: 'Running',
      nodes: {
        a: { id: 'a', displayName: 'step-a', phase: 'Running' },
        b: { id: 'b', displayName: 'step-b', phase: 'Running' },
      },
    });
    const watch = startWatch('sync-watch', await cacheDirectory());
    await watch.printed(/sync-watch Running, 2 nodes/);
    await client.patchNodes('sync-watch', {
      set: { a: { id: 'a', displayName: 'step-a', phase: 'Succeeded' } },
    });
    await watch.printed(/step-a: Running -> Succeeded/);
    await client.stopWorkflow('sync-watch', { strategy: 'Stop' });

    const code = await watch.exited;
    const { stdout, stderr } = watch.output();

    expect(code).toBe(1);
    expect(stdout).toMatch(/step-b: Running -> Failed/);
    expect(stdout).toMatch(/sync-watch: Running -> Failed/);
    expect(stdout).not.toMatch(/step-a: Succeeded ->/);
    expect(stderr).toMatch(/workflow 'sync-watch' ended Failed/);
  });

  it('ends wfo watch with exit 0 when the workflow Succeeded', { timeout: 120_000 }, async () => {
    const client = new WfoClient({ baseUrl: runtime.baseUrl });
    await client.putWorkflow('sync-watch-ok', {
      namespace: 'argo',
      name: 'w',
      phase: 'Running',
      nodes: { a: { id: 'a', phase: 'Running' } },
    });
    const watch = startWatch('sync-watch-ok', await cacheDirectory());
    await watch.printed(/sync-watch-ok Running, 1 nodes/);
    await client.patchNodes('sync-watch-ok', {
      set: { a: { id: 'a', phase: 'Succeeded' } },
      phase: 'Succeeded',
    });

    const code = await watch.exited;
    const { stdout } = watch.output();

    expect(code).toBe(0);
    expect(stdout).toMatch(/a: Running -> Succeeded/);
    expect(stdout).toMatch(/sync-watch-ok: Running -> Succeeded/);
  });

  it('drives wfo put and wfo --json get through the protocol, output unchanged', {
    timeout: 120_000,
  }, async () => {
    const directory = await cacheDirectory();
    const file = join(directory, 'workflow.json');
    const nodes = generateNodes({ nodeCount: 30_000, seed: 31 }) as NodeMap;
    await writeFile(file, JSON.stringify({ namespace: 'argo', name: 'cli', phase: 'Running', nodes }));
    const env = { ...process.env, WFO_URL: runtime.baseUrl, WFO_CACHE_DIR: join(directory, 'cache') };
    const wfo = (args: string[]) =>
      run(process.execPath, ['--import', 'tsx', join(projectRoot, 'bin', 'wfo.js'), ...args], {
        env,
        maxBuffer: 256 * 1024 * 1024,
      });

    const put = await wfo(['put', 'sync-cli', '-f', file, '--create']);
    const got = await wfo(['--json', 'get', 'sync-cli']);
    const body = JSON.parse(got.stdout);

    expect(put.stdout).toMatch(/result: +created/);
    expect(got.stderr).not.toMatch(/reading page/);
    expect(Object.keys(body).sort()).toEqual(
      [
        'uid',
        'namespace',
        'name',
        'phase',
        'resourceVersion',
        'nodeStatusVersion',
        'nodeCount',
        'phaseCounts',
        'createdAt',
        'updatedAt',
        'nodes',
      ].sort(),
    );
    expect(body.nodes).toEqual(nodes);
  });
});

describe('sync over a runtime whose retention is seconds (TTL for real)', () => {
  let runtime: RuntimeProcess;
  let tableName: string;
  let documentClient: Awaited<ReturnType<typeof createTtlTestTable>>['documentClient'];
  let directory: string;

  beforeAll(async () => {
    const table = await createTtlTestTable('sync-ttl');
    tableName = table.tableName;
    documentClient = table.documentClient;
    directory = await temporaryDirectory();
    runtime = await spawnRuntime({
      DYNAMODB_ENDPOINT: table.endpoint,
      WFO_TABLE_NAME: tableName,
      WFO_RETENTION_SECONDS: '4',
      WFO_ALWAYS_OFFLOAD: 'true',
    });
  });

  afterAll(async () => {
    expect(await runtime?.stop()).toBe(0);
    await rm(directory, { recursive: true, force: true });
  });

  it('answers 410 for a since-version that expired, and the client falls back to a full read', {
    timeout: 240_000,
  }, async () => {
    const uid = 'ttl-since';
    const client = new WfoClient({ baseUrl: runtime.baseUrl });
    const sync = syncClient(runtime.baseUrl, directory);
    const first = await sync.putWorkflow(uid, { namespace: 'argo', name: 't', nodes: { a: running('a') } });
    await client.patchNodes(uid, { set: { a: running('a', { phase: 'Succeeded' }) } });

    let gone = false;
    const deadline = Date.now() + 200_000;
    while (!gone && Date.now() < deadline) {
      try {
        await client.readNodes(uid, { since: first.nodeStatusVersion });
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      } catch (error) {
        if (!(error instanceof GoneError)) throw error;
        gone = true;
      }
    }
    const read = await sync.getWorkflow(uid);

    expect(gone).toBe(true);
    expect(read.nodes).toEqual({ a: running('a', { phase: 'Succeeded' }) });
  });

  it('leaves nothing visible of an upload that never commits, and its parts expire by TTL', {
    timeout: 240_000,
  }, async () => {
    const uid = 'ttl-upload';
    const client = new WfoClient({ baseUrl: runtime.baseUrl });
    await client.putWorkflow(uid, { namespace: 'argo', name: 'u', nodes: { a: running('a') } });
    const before = await client.getWorkflow(uid);
    const begun = await client.beginUpload(uid, { namespace: 'argo', name: 'u', nodeCount: 1 });
    await client.putUploadPart(uid, begun.uploadId, 1, { 0: { z: running('z') } });
    // The writer crashes here: no commit.
    const stagedChunk = `WF#${uid}|C#${bucketize({ z: running('z') }).chunkIds[0]}`;
    const staged = async () =>
      [...(await scanTable(documentClient, tableName)).keys()].filter(
        (key) => key.startsWith(`WF#${uid}|U#${begun.uploadId}`) || key === stagedChunk,
      );

    expect(await staged()).toHaveLength(3);
    expect(await client.getWorkflow(uid)).toEqual(before);
    const deadline = Date.now() + 200_000;
    while ((await staged()).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    expect(await staged()).toEqual([]);
    await expect(client.commitUpload(uid, begun.uploadId)).rejects.toBeInstanceOf(NotFoundError);
    expect(await client.getWorkflow(uid)).toEqual(before);
  });
});

describe('the front door of a runtime with a 1 MB request limit', () => {
  let runtime: RuntimeProcess;

  beforeAll(async () => {
    runtime = await spawnRuntime({
      DYNAMODB_ENDPOINT: dynamodbEndpoint(),
      WFO_TABLE_NAME: `door-${randomUUID()}`,
      WFO_MAX_REQUEST_BYTES: String(1024 * 1024),
    });
  });

  afterAll(async () => {
    expect(await runtime?.stop()).toBe(0);
  });

  it('answers an 8 MB body with the 413 JSON, read to the end: curl sees the answer, not a reset', async () => {
    const directory = await temporaryDirectory();
    const file = join(directory, 'big.json');
    await writeFile(
      file,
      JSON.stringify({ namespace: 'argo', name: 'x', nodes: {}, pad: 'x'.repeat(8 * 1024 * 1024) }),
    );

    const { stdout } = await run('curl', [
      '-sS',
      '-X',
      'PUT',
      '-H',
      'content-type: application/json',
      '--data-binary',
      `@${file}`,
      '-w',
      '\n%{http_code}',
      `${runtime.baseUrl}/v1/workflows/door`,
    ]);
    await rm(directory, { recursive: true, force: true });
    const [body, status] = stdout.split('\n');

    expect(status).toBe('413');
    expect(JSON.parse(body as string)).toEqual({
      error: 'PayloadTooLarge',
      message: expect.stringMatching(
        /over the HTTP API's 1\.0 MB request limit: send a large map as a staged upload/,
      ),
    });
  });
});
