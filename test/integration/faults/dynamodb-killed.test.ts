/**
 * Fault: DynamoDB Local is killed (SIGKILL) in the middle of a persist. The
 * caller gets a 503 with Retry-After; after a restart on the same data folder
 * and port, the workflow is exactly at its last committed version, with no
 * trace of the interrupted write in what a caller can see.
 *
 * The runtime is `npm start`'s, in this process, on a DynamoDB Local of this
 * file's own (with a data folder: the shared one is in memory). The kill
 * points are exact: a middleware on the handlers' DynamoDB client kills the
 * database just before a chosen call goes out.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeMap, ServiceUnavailableError, WfoClient } from '#client/wfo-client';
import type { DynamoDbWiring as Wiring } from '#lambda/wiring';
import { type DynamoDbLocal, findFreePort, startDynamoDbLocal } from '#local/dynamodb-local';
import { type LocalRuntime, startLocalRuntime } from '#local/runtime';

let dataDirectory: string;
let port: number;
let dynamodb: DynamoDbLocal;
let runtime: LocalRuntime;
let wiring: Wiring;
let client: WfoClient;
const kills: { at: string; restartMs: number }[] = [];

/** Kill just before the call that `when` picks, or just after it returned (`after`). */
let killPoint: ((command: string) => 'before' | 'after' | undefined) | undefined;

beforeAll(async () => {
  dataDirectory = mkdtempSync(join(tmpdir(), 'wfo-killed-'));
  port = await findFreePort();
  dynamodb = await startDynamoDbLocal({ dataDirectory, port });
  process.env.WFO_ALWAYS_OFFLOAD = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  runtime = await startLocalRuntime({
    port: 0,
    dynamodbEndpoint: dynamodb.endpoint,
    tableName: 'killed',
    renew: false,
    log: () => {},
  });
  // The handlers' own client: the runtime loaded them in this process.
  wiring = (await import('#lambda/wiring')).wiring();
  wiring.documentClient.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName);
      const when = killPoint?.(command);
      if (when === 'before') await kill(command);
      const result = await next(args);
      if (when === 'after') await kill(command);
      return result;
    },
    { step: 'initialize', name: 'killDynamoDb' },
  );
  client = new WfoClient({ baseUrl: runtime.baseUrl });
});

afterAll(async () => {
  await runtime?.stop();
  await dynamodb?.stop();
  if (dataDirectory) rmSync(dataDirectory, { recursive: true, force: true });
});

async function kill(at: string): Promise<void> {
  killPoint = undefined;
  process.kill(dynamodb.pid as number, 'SIGKILL');
  await dynamodb.stop();
  kills.push({ at, restartMs: 0 });
}

/** Same folder, same port: the runtime's endpoint setting does not change. */
async function restart(): Promise<void> {
  const started = performance.now();
  dynamodb = await startDynamoDbLocal({ dataDirectory, port });
  const last = kills.at(-1);
  if (last) last.restartMs = Math.round(performance.now() - started);
}

/**
 * Every node of the map changes with the phase, and by an incompressible
 * field: too much change for a delta on the log chain, so a write of the
 * other phase stores a whole snapshot, its pages in batches, then its entry.
 */
const nodes = (phase: string, count = 2000): NodeMap => {
  const map: NodeMap = {};
  for (let index = 0; index < count; index++) {
    map[`pod-${index}`] = {
      id: `pod-${index}`,
      phase,
      templateName: 'process-item',
      inputs: { parameters: [{ name: 'item', value: `item-${index}` }] },
      digest: createHash('sha256').update(`${phase}-${index}`).digest('hex'),
    };
  }
  return map;
};

/** What a caller sees: the workflow (exact bytes) and its version list. */
async function visible(uid: string) {
  const workflow = await fetch(`${runtime.baseUrl}/v1/workflows/${uid}`);
  const versions = await client.listVersions(uid);
  return {
    status: workflow.status,
    etag: workflow.headers.get('etag'),
    body: await workflow.text(),
    versions: versions.items.map((item) => `${item.nodeStatusVersion}${item.current ? ' (current)' : ''}`),
  };
}

/** A PUT whose failure is returned, not thrown. */
const putWorkflow = (uid: string, phase: string, count?: number) =>
  client.putWorkflow(uid, { namespace: 'argo', name: uid, nodes: nodes(phase, count) }).then(
    (response) => ({ ok: true as const, response }),
    (error: unknown) => ({ ok: false as const, error }),
  );

function expectServiceUnavailable(outcome: Awaited<ReturnType<typeof putWorkflow>>) {
  expect(outcome.ok).toBe(false);
  const error = (outcome as { error: unknown }).error;
  expect(error).toBeInstanceOf(ServiceUnavailableError);
  expect((error as ServiceUnavailableError).status).toBe(503);
  expect((error as ServiceUnavailableError).code).toBe('ServiceUnavailable');
  expect((error as ServiceUnavailableError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
}

describe('DynamoDB Local killed in the middle of a persist', () => {
  it.each([
    ['between two chunk batches', 'BatchWriteItemCommand', 2],
    ['just before the commit', 'PutItemCommand', 1],
  ] as const)(
    '%s: 503 with Retry-After, then exactly the last committed version after a restart',
    async (_label, command, nth) => {
      const uid = `killed-${command}`;
      expect((await putWorkflow(uid, 'Running')).ok).toBe(true);
      const before = await visible(uid);
      let seen = 0;
      killPoint = (name) => (name === command && ++seen === nth ? 'before' : undefined);

      const interrupted = await putWorkflow(uid, 'Succeeded');
      // The kill point was reached (else the database still runs: nothing to restart).
      const killed = killPoint === undefined;
      killPoint = undefined;
      expect(killed).toBe(true);
      const whileDown = await fetch(`${runtime.baseUrl}/v1/workflows/${uid}`);
      await restart();
      const after = await visible(uid);

      expectServiceUnavailable(interrupted);
      expect(kills.at(-1)?.at).toBe(command);
      expect(whileDown.status).toBe(503);
      expect(whileDown.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await whileDown.json()).toEqual({ error: 'ServiceUnavailable', message: expect.any(String) });
      expect(after).toStrictEqual(before);
      // The caller retries as told, and the write goes through whole.
      const retried = await putWorkflow(uid, 'Succeeded');
      expect(retried.ok).toBe(true);
      expect((await client.getWorkflow(uid)).nodes).toStrictEqual(nodes('Succeeded'));
    },
  );

  it('keeps a write acknowledged just before the kill', async () => {
    const uid = 'killed-after-commit';
    expect((await putWorkflow(uid, 'Running')).ok).toBe(true);
    killPoint = (name) => (name === 'PutItemCommand' ? 'after' : undefined);

    const acknowledged = await putWorkflow(uid, 'Succeeded');
    await restart();

    expect(acknowledged.ok).toBe(true);
    expect(kills.at(-1)?.at).toBe('PutItemCommand');
    const workflow = await client.getWorkflow(uid);
    expect(workflow.nodes).toStrictEqual(nodes('Succeeded'));
    expect(workflow.resourceVersion).toBe('2');
    expect((await client.listVersions(uid)).items).toHaveLength(2);
  });

  it('at the sixth DynamoDB call of a large write, whatever it is: the workflow is whole, old or new, and new if acknowledged', async () => {
    const uid = 'killed-anytime';
    expect((await putWorkflow(uid, 'Running', 6000)).ok).toBe(true);
    const before = await visible(uid);
    let calls = 0;
    // The 6th DynamoDB call of the write, whatever it is.
    killPoint = () => (++calls === 6 ? 'before' : undefined);

    const outcome = await putWorkflow(uid, 'Succeeded', 6000);
    await restart();
    const after = await visible(uid);

    const workflow = await client.getWorkflow(uid);
    if (outcome.ok) {
      expect(workflow.nodes).toStrictEqual(nodes('Succeeded', 6000));
    } else {
      expectServiceUnavailable(outcome);
      expect(after).toStrictEqual(before);
    }
    for (const item of (await client.listVersions(uid)).items) {
      expect(Object.keys((await client.getVersion(uid, item.nodeStatusVersion)).nodes)).toHaveLength(6000);
    }
    console.info(
      `the large write ${outcome.ok ? 'was acknowledged' : 'got a 503'}; DynamoDB Local killed ${kills.length} times (${kills.map((entry) => `${entry.at}, restarted in ${entry.restartMs} ms`).join('; ')})`,
    );
  });
});
