/**
 * Fault: DynamoDB throttles. Injected into the handlers' own DynamoDB client
 * (the module singleton) inside the SDK's retry loop, so the SDK's retry with
 * backoff (4 attempts, `maxAttempts` in functions/store/clients.ts) and the
 * store's retry of unprocessed batch items run as they would against AWS.
 * Throttling that outlasts the retries is a 503 with Retry-After; a burst
 * that does not is invisible to the caller; and nothing is ever lost.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NodeMap } from '#domain/nodes';
import { createTestTable } from '#testkit/table';
import { type FaultInjector, injectFaults } from './fault-injection.ts';
import { type Harness, loadHandlers } from './handler-harness.ts';

let harness: Harness;
let faults: FaultInjector;

beforeAll(async () => {
  // Offloaded, so that a write is several batch writes of chunks and a read several batch gets.
  harness = await loadHandlers(await createTestTable('fault-throttle'), { WFO_ALWAYS_OFFLOAD: 'true' });
  faults = injectFaults(harness.wiring.documentClient);
});

const injected = { throttled: 0, unprocessed: 0, attempts: 0 };

beforeEach(() => {
  faults.decide = () => 'pass';
  faults.attempts.length = 0;
});

afterEach(() => {
  injected.attempts += faults.attempts.length;
  injected.throttled += faults.attempts.filter((attempt) => attempt.fault === 'throttle').length;
  injected.unprocessed += faults.attempts.filter((attempt) => attempt.fault === 'unprocessed').length;
});

afterAll(() => {
  console.info(
    `throttling: ${injected.throttled} attempts throttled and ${injected.unprocessed} batches left unprocessed, of ${injected.attempts} DynamoDB calls`,
  );
});

const nodes = (phase: string, count = 500): NodeMap => {
  const map: NodeMap = {};
  for (let index = 0; index < count; index++) {
    map[`pod-${index}`] = { id: `pod-${index}`, phase, templateName: 'work', detail: `item ${index}` };
  }
  return map;
};

const put = (uid: string, body: unknown) =>
  harness.http('put-workflow', 'PUT', { pathParameters: { uid }, body });
const get = (uid: string) => harness.http('get-workflow', 'GET', { pathParameters: { uid } });

/** The 503 of the contract: its error JSON and a Retry-After in whole seconds. */
function expectServiceUnavailable(response: Awaited<ReturnType<typeof get>>) {
  expect(response.statusCode).toBe(503);
  expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  expect(response.json).toEqual({ error: 'ServiceUnavailable', message: expect.any(String) });
  expect(JSON.stringify(response.json)).not.toMatch(/Provisioned|injected|stack/i);
}

describe('throttling', () => {
  it('answers 503 with Retry-After once the SDK has retried with backoff; the stored workflow is untouched', async () => {
    const uid = 'throttled-everywhere';
    const first = { namespace: 'argo', name: uid, nodes: nodes('Running') };
    expect((await put(uid, first)).statusCode).toBe(201);
    const before = await get(uid);
    faults.attempts.length = 0;
    faults.decide = () => 'throttle';

    const write = await put(uid, { ...first, nodes: nodes('Succeeded') });
    const read = await get(uid);

    expectServiceUnavailable(write);
    expectServiceUnavailable(read);
    // Each request failed on its first command, after all four attempts of it.
    expect(faults.attempts.map((attempt) => `${attempt.command}#${attempt.attempt}`)).toEqual([
      'GetItemCommand#1',
      'GetItemCommand#2',
      'GetItemCommand#3',
      'GetItemCommand#4',
      'GetItemCommand#1',
      'GetItemCommand#2',
      'GetItemCommand#3',
      'GetItemCommand#4',
    ]);
    faults.decide = () => 'pass';
    const after = await get(uid);
    expect(after.statusCode).toBe(200);
    expect(after.text).toBe(before.text);
  });

  it('rides out a burst: every command throttled on its first two attempts, the write and the read succeed whole', async () => {
    const uid = 'throttled-burst';
    faults.decide = (_command, attempt) => (attempt <= 2 ? 'throttle' : 'pass');

    const write = await put(uid, { namespace: 'argo', name: uid, nodes: nodes('Running') });
    const read = await get(uid);

    expect(write.statusCode).toBe(201);
    expect(read.statusCode).toBe(200);
    expect((read.json as { nodes: NodeMap }).nodes).toStrictEqual(nodes('Running'));
    const throttled = faults.attempts.filter((attempt) => attempt.fault === 'throttle');
    const commands = new Set(faults.attempts.map((attempt) => attempt.command));
    // The read of a log-layout version queries its chain: that Query rides out the burst too.
    expect(commands).toEqual(
      new Set([
        'GetItemCommand',
        'BatchWriteItemCommand',
        'PutItemCommand',
        'BatchGetItemCommand',
        'QueryCommand',
      ]),
    );
    expect(throttled.length).toBe(faults.attempts.length - throttled.length / 2);
  });

  it('answers 503 when only the commit is throttled; the retried PUT commits and nothing is half-visible', async () => {
    const uid = 'throttled-commit';
    const body = { namespace: 'argo', name: uid, nodes: nodes('Running') };
    expect((await put(uid, body)).statusCode).toBe(201);
    const before = await get(uid);
    const update = { ...body, nodes: nodes('Succeeded') };
    faults.decide = (command) => (command === 'PutItemCommand' ? 'throttle' : 'pass');

    const refused = await put(uid, update);
    expectServiceUnavailable(refused);
    expect((await get(uid)).text).toBe(before.text);
    const versions = await harness.http('list-versions', 'GET', { pathParameters: { uid } });
    expect((versions.json as { items: unknown[] }).items).toHaveLength(1);
    faults.decide = () => 'pass';
    const retried = await put(uid, update);

    expect(retried.statusCode).toBe(200);
    expect(((await get(uid)).json as { nodes: NodeMap }).nodes).toStrictEqual(nodes('Succeeded'));
    // The create, the refused commit's four attempts, the retry's commit.
    expect(faults.attempts.filter((attempt) => attempt.command === 'PutItemCommand')).toHaveLength(6);
  });

  it('retries batch items DynamoDB left unprocessed, and answers 503 when they never get through', async () => {
    const uid = 'unprocessed';
    let deferred = 0;
    faults.decide = (command) => (command.startsWith('Batch') && deferred++ < 3 ? 'unprocessed' : 'pass');

    const write = await put(uid, { namespace: 'argo', name: uid, nodes: nodes('Running') });
    deferred = 0;
    const read = await get(uid);

    expect(write.statusCode).toBe(201);
    expect(read.statusCode).toBe(200);
    expect((read.json as { nodes: NodeMap }).nodes).toStrictEqual(nodes('Running'));

    faults.decide = (command) => (command.startsWith('Batch') ? 'unprocessed' : 'pass');
    expectServiceUnavailable(await put(uid, { namespace: 'argo', name: uid, nodes: nodes('Failed') }));
    expectServiceUnavailable(await get(uid));
    faults.decide = () => 'pass';
    expect((await get(uid)).text).toBe(read.text);
  });

  it('makes an event handler throw under throttling, so EventBridge redelivers it, and applies it once', async () => {
    const uid = 'throttled-event';
    expect((await put(uid, { namespace: 'argo', name: uid, nodes: nodes('Running', 40) })).statusCode).toBe(
      201,
    );
    const delta = { uid, set: { 'pod-1': { id: 'pod-1', phase: 'Succeeded' } } };
    faults.decide = () => 'throttle';

    await expect(harness.event('on-nodes-updated', 'Workflow Nodes Updated', delta)).rejects.toThrow();
    faults.decide = () => 'pass';
    const redelivered = await harness.event('on-nodes-updated', 'Workflow Nodes Updated', delta);
    const again = await harness.event('on-nodes-updated', 'Workflow Nodes Updated', delta);

    expect(redelivered).toEqual({ outcome: 'applied' });
    expect(again).toEqual({ outcome: 'unchanged' });
    const workflow = (await get(uid)).json as { nodes: NodeMap; resourceVersion: string };
    expect(workflow.nodes['pod-1']).toEqual({ id: 'pod-1', phase: 'Succeeded' });
    expect(workflow.resourceVersion).toBe('2');
  });
});
