/**
 * Chunk reads are eventually consistent first (half the read units), then
 * strongly consistent for what the first pass missed. DynamoDB Local is
 * always consistent, so the stale first pass is simulated here.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbStore } from '#store/dynamodb-store';

interface SentBatchGet {
  readonly consistent: boolean;
  readonly keys: string[];
}

/** A client whose eventually consistent reads have not yet seen `lagging` keys. */
function fakeClient(lagging: ReadonlySet<string>, existing: ReadonlySet<string>) {
  const sent: SentBatchGet[] = [];
  const client = {
    send: async (command: {
      input: { RequestItems: Record<string, { Keys: { sk: string }[]; ConsistentRead: boolean }> };
    }) => {
      const [table, request] = Object.entries(command.input.RequestItems)[0] as [
        string,
        { Keys: { pk?: string; sk: string }[]; ConsistentRead: boolean },
      ];
      sent.push({ consistent: request.ConsistentRead, keys: request.Keys.map((key) => key.sk) });
      const visible = request.Keys.filter(
        (key) => existing.has(key.sk) && (request.ConsistentRead || !lagging.has(key.sk)),
      );
      return {
        Responses: { [table]: visible.map((key) => ({ ...key, codec: 'c', data: new Uint8Array([1]) })) },
      };
    },
  };
  return { client: client as unknown as DynamoDBDocumentClient, sent };
}

describe('chunk reads', () => {
  it('read eventually consistently, then re-read strongly only what the first pass missed', async () => {
    const { client, sent } = fakeClient(new Set(['C#b']), new Set(['C#a', 'C#b']));
    const store = new DynamoDbStore(client, { tableName: 'records' });

    const { found, missing } = await store.getChunks('wf', [
      { chunkId: 'a', parts: 1 },
      { chunkId: 'b', parts: 1 },
    ]);

    expect([...found.keys()].sort()).toEqual(['a', 'b']);
    expect(missing).toEqual([]);
    expect(sent).toEqual([
      { consistent: false, keys: ['C#a', 'C#b'] },
      { consistent: true, keys: ['C#b'] },
    ]);
  });

  it('call a chunk missing only when the strongly consistent read does not find it either', async () => {
    const { client, sent } = fakeClient(new Set(), new Set(['C#a']));
    const store = new DynamoDbStore(client, { tableName: 'records' });

    const { missing } = await store.getChunks('wf', [
      { chunkId: 'a', parts: 1 },
      { chunkId: 'gone', parts: 1 },
    ]);

    expect(missing).toEqual(['gone']);
    expect(sent.map((request) => request.consistent)).toEqual([false, true]);
  });
});
