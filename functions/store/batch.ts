/**
 * Batched reads and writes, with the one retry loop for what DynamoDB
 * leaves unprocessed: requests go in groups (100 keys a BatchGetItem, 25
 * items a BatchWriteItem), a few groups in flight at once, and what comes
 * back unprocessed is sent again after a jittered, growing pause, until the
 * attempts run out (then the store is reported unavailable: a 503).
 */
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { StoreUnavailableError } from '#domain/errors';
import { guarded } from './errors.ts';

export type Item = Record<string, unknown>;

export interface BatchOptions {
  /** Parallel requests per batched read or write. */
  readonly concurrency: number;
  /** Attempts for unprocessed items before reporting the store unavailable. */
  readonly attempts: number;
  readonly sleep: (milliseconds: number) => Promise<void>;
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}

const chunked = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let index = 0; index < items.length; index += size) out.push(items.slice(index, index + size));
  return out;
};

/**
 * Sends `requests` in groups of `groupSize`; `send` returns what DynamoDB
 * left unprocessed of a group, which is sent again until nothing is left.
 */
async function sendUntilProcessed<R>(
  requests: readonly R[],
  groupSize: number,
  options: BatchOptions,
  deferred: string,
  send: (group: R[]) => Promise<R[]>,
): Promise<void> {
  await forEachLimited(chunked(requests, groupSize), options.concurrency, async (group) => {
    let pending = group;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= options.attempts) {
        throw new StoreUnavailableError(`the database kept deferring ${deferred}; retry shortly`, 2);
      }
      if (attempt > 0) await options.sleep(Math.min(1000, 20 * 2 ** attempt) * Math.random());
      pending = await send(pending);
    }
  });
}

/** BatchGetItem of `keys` in `tableName`; found items go into `into`, by sort key unless `keyOf` says otherwise. */
export async function batchGet(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Item[],
  consistent: boolean,
  into: Map<string, Item>,
  options: BatchOptions,
  keyOf: (item: Item) => string = (item) => item.sk as string,
): Promise<void> {
  await sendUntilProcessed(keys, 100, options, 'reads', async (group) => {
    const output: BatchGetCommandOutput = await guarded(() =>
      client.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: group, ConsistentRead: consistent } } }),
      ),
    );
    for (const item of output.Responses?.[tableName] ?? []) into.set(keyOf(item), item);
    return (output.UnprocessedKeys?.[tableName]?.Keys as Item[] | undefined) ?? [];
  });
}

/** BatchWriteItem of write requests (`{PutRequest}` or `{DeleteRequest}`) to `tableName`. */
export async function batchWriteRequests(
  client: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly Item[],
  options: BatchOptions,
): Promise<void> {
  await sendUntilProcessed(requests, 25, options, 'writes', async (group) => {
    const output = await guarded(() =>
      client.send(new BatchWriteCommand({ RequestItems: { [tableName]: group as never } })),
    );
    return (output.UnprocessedItems?.[tableName] as Item[] | undefined) ?? [];
  });
}

/** Puts `items` into `tableName` with BatchWriteItem. */
export const batchPut = (
  client: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Item[],
  options: BatchOptions,
): Promise<void> =>
  batchWriteRequests(
    client,
    tableName,
    items.map((Item) => ({ PutRequest: { Item } })),
    options,
  );
