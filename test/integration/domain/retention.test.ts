/**
 * Retention for real: DynamoDB Local's TTL deletes expired items, with a
 * short R. Timing is asserted with generous bounds, by polling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CodecOptions, defaultCodecOptions } from '#domain/codec';
import { VersionNotFoundError } from '#domain/errors';
import type { NodeMap } from '#domain/nodes';
import { WorkflowService } from '#domain/workflow-service';
import { DynamoDbStore } from '#store/dynamodb-store';
import { recordCommands, scanTable } from '#testkit/command-log';
import { type DynamoDbLocal, startDynamoDbLocal } from '#testkit/dynamodb-local';
import { createTestTable, type TestTable } from '#testkit/table';

const retentionSeconds = 8;
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

const nodes = (phase: string): NodeMap => {
  const map: NodeMap = {};
  for (let index = 0; index < 200; index++)
    map[`n${index}`] = { id: `n${index}`, phase, detail: `node ${index}` };
  return map;
};

let renewed: TestTable;
let unrenewed: TestTable;
let dynamodb: DynamoDbLocal;

// A DynamoDB Local of its own: its TTL job sweeps every table at 20 items per
// 10 s, so on the shared instance the big tables of other suites delay ours.
beforeAll(async () => {
  dynamodb = await startDynamoDbLocal();
  [renewed, unrenewed] = await Promise.all([
    createTestTable('retention', dynamodb.endpoint),
    createTestTable('retention-control', dynamodb.endpoint),
  ]);
});

afterAll(async () => {
  await dynamodb?.stop();
});

const serviceOn = (table: TestTable, codec?: CodecOptions) =>
  new WorkflowService(new DynamoDbStore(table.documentClient, { tableName: table.tableName }), {
    retentionSeconds,
    alwaysOffload: true,
    ...(codec ? { codec } : {}),
  });

// Every write a snapshot: a superseded version's items are its own. (A version
// under a delta of the current chain is part of the current version, kept with it.)
const snapshotsOnly: CodecOptions = { ...defaultCodecOptions, maxChainFraction: 0 };

const itemsOf = async (table: TestTable, uid: string) =>
  [...(await scanTable(table.documentClient, table.tableName)).keys()].filter((key) =>
    key.startsWith(`WF#${uid}|`),
  );

describe('retention', () => {
  it(
    'keeps a superseded version readable for R, lets TTL remove it later with no delete, and renews the current one',
    async () => {
      const service = serviceOn(renewed, snapshotsOnly);
      const control = serviceOn(unrenewed);
      const sent = recordCommands(renewed.documentClient);

      const v1 = await service.persist({
        uid: 'superseded',
        namespace: 'argo',
        name: 's',
        nodes: nodes('Running'),
      });
      await service.persist({ uid: 'idle', namespace: 'argo', name: 'i', nodes: nodes('Succeeded') });
      await control.persist({ uid: 'idle', namespace: 'argo', name: 'i', nodes: nodes('Succeeded') });
      const supersededAt = Date.now();
      await service.persist({ uid: 'superseded', namespace: 'argo', name: 's', nodes: nodes('Succeeded') });

      // The renewer runs every R/4 in production; here every second.
      let supersededGoneAt: number | undefined;
      let controlGoneAt: number | undefined;
      // Run for at least four lease periods (2R each), and until both have expired.
      const minimumRun = supersededAt + 8 * retentionSeconds * 1000;
      const deadline = supersededAt + 16 * retentionSeconds * 1000;
      while (
        Date.now() < deadline &&
        (Date.now() < minimumRun || supersededGoneAt === undefined || controlGoneAt === undefined)
      ) {
        await service.renew();
        const elapsed = Date.now() - supersededAt;
        if (supersededGoneAt === undefined) {
          try {
            await service.getVersion('superseded', v1.workflow.nodeStatusVersion);
          } catch (error) {
            expect(error).toBeInstanceOf(VersionNotFoundError);
            supersededGoneAt = elapsed;
          }
        }
        if (
          controlGoneAt === undefined &&
          (await control.getWorkflow('idle').catch(() => undefined)) === undefined
        ) {
          controlGoneAt = elapsed;
        }
        // The idle workflow that is renewed stays whole throughout.
        expect((await service.getWorkflow('idle')).nodes).toEqual(nodes('Succeeded'));
        await sleep(1000);
      }

      console.info(
        `R=${retentionSeconds}s: superseded version gone after ${supersededGoneAt} ms; unrenewed idle workflow gone after ${controlGoneAt} ms`,
      );
      expect(supersededGoneAt).toBeDefined();
      expect(supersededGoneAt).toBeGreaterThanOrEqual(retentionSeconds * 1000);
      // Without the renewer the same idle workflow expires: the check above can fail.
      expect(controlGoneAt).toBeDefined();
      expect(Date.now() - supersededAt).toBeGreaterThan(8 * retentionSeconds * 1000);
      expect((await service.getWorkflow('idle')).nodes).toEqual(nodes('Succeeded'));
      expect(await itemsOf(renewed, 'superseded')).not.toContain(
        `WF#superseded|V#${v1.workflow.nodeStatusVersion}`,
      );
      // Removed by TTL: the service never sent a delete.
      expect(
        sent.filter((command) => command.name === 'DeleteItemCommand' || command.name === 'DeleteCommand'),
      ).toEqual([]);
      const batchDeletes = sent.filter(
        (command) =>
          command.name.startsWith('BatchWrite') && JSON.stringify(command.input).includes('DeleteRequest'),
      );
      expect(batchDeletes).toEqual([]);
    },
    { timeout: 300_000 },
  );
});
