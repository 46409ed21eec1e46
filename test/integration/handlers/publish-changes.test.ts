/**
 * The change-event handler on the real stream of a records table on
 * DynamoDB Local: the stream records a create, a patch, a stop, a re-apply
 * and a delete leave are read with the DynamoDB Streams API, turned into
 * the event Lambda would receive, and handed to the handler, whose events
 * are caught by a publisher of the test's own. Checked against a
 * brute-force diff of the two versions each event compares; a duplicate
 * delivery gives the same events with the same ids; a failure to publish
 * is reported for the stream to deliver again.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { handlers } from '#contract/api';
import type { WorkflowChangeEvent } from '#domain/change-events';
import type { NodeMap } from '#domain/nodes';
import { makePublishChanges } from '#handlers/publish-changes';
import { settingsOf } from '#infrastructure/handler-settings';
import type { ChangePublisher } from '#lambda/event-publisher';
import type { DynamoDbWiring } from '#lambda/wiring';
import { generateNodes } from '#testkit/argo-generator';
import { recordCommands } from '#testkit/command-log';
import { dynamoDbStreamEvent, testContext } from '#testkit/lambda';
import { createTestTable, type TestTable } from '#testkit/table';
import { tableWiring } from '#testkit/wiring';

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;

/** Every record of the table's stream so far, in order. */
async function readStream(table: TestTable): Promise<StreamRecord[]> {
  const { Table } = await table.client.send(new DescribeTableCommand({ TableName: table.tableName }));
  const streams = new DynamoDBStreamsClient({
    endpoint: table.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const { StreamDescription } = await streams.send(
    new DescribeStreamCommand({ StreamArn: Table?.LatestStreamArn }),
  );
  const records: StreamRecord[] = [];
  for (const shard of StreamDescription?.Shards ?? []) {
    let { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: Table?.LatestStreamArn,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    while (ShardIterator) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator }));
      records.push(...(page.Records ?? []));
      if ((page.Records ?? []).length === 0) break;
      ShardIterator = page.NextShardIterator;
    }
  }
  streams.destroy();
  return records;
}

const streamEvent = (records: readonly StreamRecord[]) =>
  dynamoDbStreamEvent(records, {
    streamArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/1',
    region: 'us-east-1',
  });

function capturingPublisher() {
  const published: WorkflowChangeEvent[] = [];
  let failuresLeft = 0;
  const publisher: ChangePublisher = {
    publish: async (events) => {
      if (failuresLeft > 0) {
        failuresLeft--;
        throw new Error('the bus is unreachable');
      }
      published.push(...structuredClone(events));
    },
  };
  return { published, publisher, failNext: (times = 1) => (failuresLeft = times) };
}

/** Node-level changes between two maps, by brute force: every node of both compared whole. */
function bruteForceDiff(before: NodeMap, after: NodeMap) {
  const out: { id: string; change: string; phaseBefore?: string; phaseAfter?: string }[] = [];
  for (const [id, node] of Object.entries(after)) {
    const old = before[id];
    if (!old) out.push({ id, change: 'added', phaseAfter: node.phase as string });
    else if (JSON.stringify(old) !== JSON.stringify(node))
      out.push({ id, change: 'changed', phaseBefore: old.phase as string, phaseAfter: node.phase as string });
  }
  for (const [id, old] of Object.entries(before))
    if (!after[id]) out.push({ id, change: 'removed', phaseBefore: old.phase as string });
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

const phaseView = (event: WorkflowChangeEvent) =>
  (event.nodes ?? []).map(({ id, change, phaseBefore, phaseAfter }) => ({
    id,
    change,
    ...(phaseBefore === undefined ? {} : { phaseBefore }),
    ...(phaseAfter === undefined ? {} : { phaseAfter }),
  }));

describe('PublishChanges on the records table stream', () => {
  let table: TestTable;
  let wiring: DynamoDbWiring;

  beforeAll(async () => {
    table = await createTestTable('changes');
    wiring = tableWiring(table);
  });

  it('publishes one event per create, patch, stop, re-apply and delete, each the diff between its versions; a renewal is none', async () => {
    const { service } = wiring;
    const uid = 'wf-events';
    const nodes: NodeMap = {
      root: { id: 'root', displayName: 'root', type: 'DAG', phase: 'Running', children: ['a', 'b', 'c'] },
      a: { id: 'a', displayName: 'a', type: 'Pod', phase: 'Running' },
      b: { id: 'b', displayName: 'b', type: 'Pod', phase: 'Pending' },
      c: { id: 'c', displayName: 'c', type: 'Pod', phase: 'Running' },
    };
    const created = await service.persist({
      uid,
      namespace: 'argo',
      name: 'events',
      phase: 'Running',
      nodes,
    });
    const patched = await service.patch({
      uid,
      merge: { a: { set: { phase: 'Succeeded' } }, b: { set: { phase: 'Running' } } },
    });
    // A controller that read the first version saves after the patch: its change is re-applied on top.
    const reapplied = await service.persist(
      {
        uid,
        namespace: 'argo',
        name: 'events',
        phase: 'Running',
        nodes: { ...nodes, d: { id: 'd', displayName: 'd', type: 'Pod', phase: 'Running' } },
        baseVersion: created.workflow.nodeStatusVersion,
      },
      { ifMatch: String(created.workflow.resourceVersion), reapply: true },
    );
    expect(reapplied.reapplied).toBe(true);
    // A lease renewal changes the record but not its resourceVersion: no event.
    const renewed = await wiring.store.renewRecordLease(
      uid,
      reapplied.workflow.nodeStatusVersion,
      Math.floor(Date.now() / 1000) + 30 * 86_400,
    );
    expect(renewed).toBe(true);
    const stopped = await service.stop({ uid, strategy: 'Stop' });
    // The versions as stored, for the brute-force diffs below (before the delete takes the record).
    const versions = new Map<string, NodeMap>();
    for (const result of [created, patched, reapplied, stopped]) {
      const version = result.workflow.nodeStatusVersion;
      versions.set(version, (await service.getVersion(uid, version)).nodes);
    }

    const { published, publisher } = capturingPublisher();
    // A wiring of the handler's own, whose commands are recorded: they must be what its role grants.
    const handlerWiring = tableWiring(table);
    const sent = recordCommands(handlerWiring.documentClient);
    const handler = makePublishChanges(handlerWiring, publisher) as unknown as StreamHandler;
    const beforeDelete = await readStream(table);
    expect((await handler(streamEvent(beforeDelete), testContext())).batchItemFailures).toEqual([]);
    await service.deleteWorkflow(uid);
    const deletion = (await readStream(table)).slice(beforeDelete.length);
    expect((await handler(streamEvent(deletion), testContext())).batchItemFailures).toEqual([]);

    expect(published.map((event) => [event.kind, event.resourceVersion])).toEqual([
      ['created', created.workflow.resourceVersion],
      ['updated', patched.workflow.resourceVersion],
      ['updated', reapplied.workflow.resourceVersion],
      ['updated', stopped.workflow.resourceVersion],
      ['deleted', stopped.workflow.resourceVersion],
    ]);
    const actionsSent = new Set(
      sent.flatMap(({ name, input }) => {
        const action = `${name.replace(/Command$/, '').replace(/^(Get|Put|BatchGet|BatchWrite|Update|Delete)$/, '$1Item')}`;
        const tables = input.TableName
          ? [input.TableName]
          : Object.keys((input.RequestItems ?? {}) as object);
        return tables.map((name) => `${name === table.tableName ? 'records' : 'versions'}:${action}`);
      }),
    );
    const granted = settingsOf(handlers.publishChanges).table;
    const grants = new Set([
      ...(granted.records ?? []).map((action) => `records:${action}`),
      ...(granted.versions ?? []).map((action) => `versions:${action}`),
    ]);
    expect([...actionsSent].filter((action) => !grants.has(action))).toEqual([]);
    expect(actionsSent.size).toBeGreaterThan(0);
    expect(beforeDelete.map((record) => record.eventName)).toEqual([
      'INSERT',
      'MODIFY',
      'MODIFY',
      'MODIFY',
      'MODIFY',
    ]);
    expect(new Set(published.map((event) => event.id)).size).toBe(published.length);
    for (let index = 1; index < published.length; index++) {
      expect(published[index]?.fromVersion).toBe(published[index - 1]?.toVersion);
    }
    const [create, patch, reapply, stop, remove] = published as [
      WorkflowChangeEvent,
      WorkflowChangeEvent,
      WorkflowChangeEvent,
      WorkflowChangeEvent,
      WorkflowChangeEvent,
    ];
    expect(create).toMatchObject({
      id: `${uid}:${created.workflow.resourceVersion}`,
      uid,
      namespace: 'argo',
      name: 'events',
      fromVersion: null,
      toVersion: created.workflow.nodeStatusVersion,
      added: 4,
      removed: 0,
      changed: 0,
    });
    expect(
      patch.nodes?.map(({ id, phaseBefore, phaseAfter, fields }) => ({
        id,
        phaseBefore,
        phaseAfter,
        fields,
      })),
    ).toEqual([
      { id: 'a', phaseBefore: 'Running', phaseAfter: 'Succeeded', fields: ['phase'] },
      { id: 'b', phaseBefore: 'Pending', phaseAfter: 'Running', fields: ['phase'] },
    ]);
    expect(stop.shutdown).toBe('Stop');
    expect(remove).toMatchObject({
      kind: 'deleted',
      toVersion: null,
      id: `${uid}:${stopped.workflow.resourceVersion}:deleted`,
    });
    expect(remove.nodes).toBeUndefined();

    // Every inline diff is what a brute-force comparison of the two stored versions gives.
    for (const event of [create, patch, reapply, stop]) {
      const after = (await service.getVersion(uid, event.toVersion as string).catch(() => undefined))?.nodes;
      if (!after) continue;
      const before =
        event.fromVersion === null
          ? {}
          : ((await service.getVersion(uid, event.fromVersion)).nodes as NodeMap);
      expect(phaseView(event), event.id).toEqual(bruteForceDiff(before, after as NodeMap));
    }
  });

  it('gives the same events with the same ids when the stream delivers a batch again', async () => {
    const { service } = wiring;
    const uid = 'wf-duplicate';
    const nodes = generateNodes({ nodeCount: 60, seed: 3 }) as NodeMap;
    const created = await service.persist({ uid, namespace: 'argo', name: 'duplicate', nodes });
    const [first] = Object.keys(nodes);
    await service.patch({ uid, merge: { [first as string]: { set: { message: 'retrying' } } } });
    const records = (await readStream(table)).filter((record) =>
      JSON.stringify(record.dynamodb?.Keys).includes(uid),
    );
    const { published, publisher } = capturingPublisher();
    const handler = makePublishChanges(wiring, publisher) as unknown as StreamHandler;
    await handler(streamEvent(records), testContext());
    const once = structuredClone(published);
    await handler(streamEvent(records), testContext());
    expect(once.map((event) => event.id)).toEqual([
      `${uid}:${created.workflow.resourceVersion}`,
      `${uid}:${created.workflow.resourceVersion + 1}`,
    ]);
    expect(published).toEqual([...once, ...once]);
  });

  it('reports the first unpublished record for the stream to deliver again, and skips a record that is not a workflow record', async () => {
    const { service } = wiring;
    const uid = 'wf-retry';
    await service.persist({
      uid,
      namespace: 'argo',
      name: 'retry',
      nodes: { n: { id: 'n', phase: 'Running' } },
    });
    await service.patch({ uid, merge: { n: { set: { phase: 'Succeeded' } } } });
    const records = (await readStream(table)).filter((record) =>
      JSON.stringify(record.dynamodb?.Keys).includes(uid),
    );
    const { published, publisher, failNext } = capturingPublisher();
    const handler = makePublishChanges(wiring, publisher) as unknown as StreamHandler;

    failNext();
    const failed = await handler(streamEvent(records), testContext());
    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: records[0]?.dynamodb?.SequenceNumber }]);
    expect(published).toEqual([]);

    const poison: StreamRecord = {
      eventID: 'poison',
      eventName: 'INSERT',
      dynamodb: { NewImage: { pk: { S: 'something-else' } }, SequenceNumber: '1' },
    };
    const retried = await handler(
      { Records: [...streamEvent([poison]).Records, ...streamEvent(records).Records] },
      testContext(),
    );
    expect(retried.batchItemFailures).toEqual([]);
    expect(published.map((event) => event.kind)).toEqual(['created', 'updated']);
  });

  it('leaves the nodes out of an event that would pass the bus limit, with the diff to read instead; a small change of the same workflow goes inline', async () => {
    const { service } = wiring;
    const uid = 'wf-large';
    const nodes = generateNodes({ nodeCount: 5_000, seed: 5 }) as NodeMap;
    const created = await service.persist({ uid, namespace: 'argo', name: 'large', nodes });
    const ids = Object.keys(nodes).slice(0, 10);
    const patched = await service.patch({
      uid,
      merge: Object.fromEntries(ids.map((id) => [id, { set: { message: 'changed' } }])),
    });
    const records = (await readStream(table)).filter((record) =>
      JSON.stringify(record.dynamodb?.Keys).includes(uid),
    );
    const { published, publisher } = capturingPublisher();
    const handler = makePublishChanges(wiring, publisher) as unknown as StreamHandler;
    await handler(streamEvent(records), testContext());

    const [create, patch] = published as [WorkflowChangeEvent, WorkflowChangeEvent];
    expect(create.nodes).toBeUndefined();
    expect(create.nodesOmitted).toEqual({
      reason: 'tooLarge',
      read: `/v1/workflows/${uid}/nodes?version=${encodeURIComponent(created.workflow.nodeStatusVersion)}`,
    });
    expect(patch.nodesOmitted).toBeUndefined();
    expect(patch.changed).toBe(10);
    expect(patch.nodes?.map((entry) => entry.id)).toEqual([...ids].sort());
    expect(patch.toVersion).toBe(patched.workflow.nodeStatusVersion);
    for (const event of published) expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThan(200 * 1024);
  });
});
