/**
 * The local stand-in for a Lambda event source mapping on a DynamoDB
 * stream: polls DynamoDB Local's stream of the records table shard by shard
 * and calls the stream's handler with the `DynamoDBStreamEvent` Lambda
 * would build, in order, a batch at a time.
 *
 * As deployed (see the stack): the handler's `batchItemFailures` make the
 * batch start again at the first failed record; a batch that throws is
 * delivered again whole; after `retryAttempts` retries the failed record
 * is reported (deployed, it would go to the dead-letter queue) and the
 * shard moves past it. Shards are read from the moment the poller starts,
 * shards that open later from their start.
 *
 * DynamoDB Local answers GetRecords on a LATEST iterator of a shard that was
 * empty when the iterator was taken with TrimmedDataAccessException once a
 * record arrives; so the poller starts at TRIM_HORIZON and reads past what
 * is already there without delivering it, and after an expired or trimmed
 * iterator it resumes after the last record it read.
 */
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import type { HandlerDescription } from '#contract/api';
import { localEndpoint } from '#store/clients';
import { handlerContext, invokeWithTimeout, type LambdaHandler } from './lambda.ts';
import { dynamoDbStreamEvent } from './lambda-events.ts';

export interface StreamPollerOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly streamArn: string;
  readonly description: HandlerDescription;
  readonly handler: LambdaHandler;
  readonly batchSize: number;
  readonly timeoutMs: number;
  /** Retries of a failing record before it is reported and skipped (the stack's retryAttempts). */
  readonly retryAttempts: number;
  readonly log: (line: string) => void;
  /** Pause between polls of an idle stream. Default 100 ms. */
  readonly idleMs?: number;
}

export interface StreamPoller {
  /** Stops polling, after the batch in flight. Idempotent. */
  stop(): Promise<void>;
}

interface ShardState {
  iterator: string | undefined;
  /** The last record read from the shard, to resume after. */
  lastSequence?: string;
  /** Attempts of the batch starting at `retryFrom`. */
  attempts: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How often the shard list is read again, for shards that opened. */
const describeEveryMs = 5_000;

/** Starts polling; resolves once every open shard has its iterator, so no later change is missed. */
export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  const client = new DynamoDBStreamsClient({
    ...localEndpoint(options.endpoint),
    region: options.region,
    maxAttempts: 2,
  });
  const shards = new Map<string, ShardState>();
  const finished = new Set<string>();
  let stopped = false;

  const iteratorOf = async (
    shardId: string,
    type: 'LATEST' | 'TRIM_HORIZON' | 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER',
    sequenceNumber?: string,
  ) =>
    (
      await client.send(
        new GetShardIteratorCommand({
          StreamArn: options.streamArn,
          ShardId: shardId,
          ShardIteratorType: type,
          ...(sequenceNumber ? { SequenceNumber: sequenceNumber } : {}),
        }),
      )
    ).ShardIterator;

  const discover = async (initial: boolean) => {
    const { StreamDescription } = await client.send(
      new DescribeStreamCommand({ StreamArn: options.streamArn }),
    );
    for (const shard of StreamDescription?.Shards ?? []) {
      const id = shard.ShardId;
      if (!id || shards.has(id) || finished.has(id)) continue;
      const open = shard.SequenceNumberRange?.EndingSequenceNumber === undefined;
      if (initial && !open) continue;
      const state: ShardState = { iterator: await iteratorOf(id, 'TRIM_HORIZON'), attempts: 0 };
      if (initial) await skipToEnd(state);
      shards.set(id, state);
    }
  };

  /** Reads past the records a shard holds now, delivering none: what LATEST would do. */
  const skipToEnd = async (state: ShardState) => {
    while (state.iterator) {
      const { Records = [], NextShardIterator } = await client.send(
        new GetRecordsCommand({ ShardIterator: state.iterator, Limit: 1000 }),
      );
      state.iterator = NextShardIterator;
      const last = Records.at(-1)?.dynamodb?.SequenceNumber;
      if (last) state.lastSequence = last;
      if (Records.length === 0) return;
    }
  };

  /** Delivers one batch; returns where to read on from. */
  const deliver = async (shardId: string, state: ShardState, records: StreamRecord[], next?: string) => {
    const event = dynamoDbStreamEvent(records, { streamArn: options.streamArn, region: options.region });
    let failedAt: string | undefined;
    try {
      const response = (await invokeWithTimeout(
        options.handler,
        event,
        handlerContext(options.description, options.region),
        options.timeoutMs,
      )) as DynamoDBBatchResponse | undefined;
      failedAt = response?.batchItemFailures?.[0]?.itemIdentifier;
    } catch (error) {
      options.log(`${options.description.name} failed: ${(error as Error)?.message ?? error}`);
      failedAt = records[0]?.dynamodb?.SequenceNumber;
    }
    if (failedAt === undefined) {
      state.attempts = 0;
      state.iterator = next;
      state.lastSequence = records.at(-1)?.dynamodb?.SequenceNumber ?? state.lastSequence;
      return;
    }
    state.attempts++;
    if (state.attempts > options.retryAttempts) {
      options.log(
        `${options.description.name}: stream record ${failedAt} failed ${state.attempts} times; deployed, it would go to the dead-letter queue`,
      );
      state.attempts = 0;
      state.lastSequence = failedAt;
      state.iterator = await iteratorOf(shardId, 'AFTER_SEQUENCE_NUMBER', failedAt);
      return;
    }
    await sleep(Math.min(2_000, 100 * 2 ** state.attempts));
    state.iterator = await iteratorOf(shardId, 'AT_SEQUENCE_NUMBER', failedAt);
  };

  await discover(true);
  let lastDescribe = Date.now();

  const loop = (async () => {
    while (!stopped) {
      let busy = false;
      try {
        if (Date.now() - lastDescribe > describeEveryMs) {
          lastDescribe = Date.now();
          await discover(false);
        }
        for (const [shardId, state] of shards) {
          if (stopped) break;
          if (state.iterator === undefined) {
            // A closed shard, read to its end.
            shards.delete(shardId);
            finished.add(shardId);
            continue;
          }
          let page: { Records?: StreamRecord[]; NextShardIterator?: string };
          try {
            page = await client.send(
              new GetRecordsCommand({ ShardIterator: state.iterator, Limit: options.batchSize }),
            );
          } catch (error) {
            const name = (error as Error)?.name;
            if (name !== 'ExpiredIteratorException' && name !== 'TrimmedDataAccessException') throw error;
            state.iterator = state.lastSequence
              ? await iteratorOf(shardId, 'AFTER_SEQUENCE_NUMBER', state.lastSequence)
              : await iteratorOf(shardId, 'TRIM_HORIZON');
            continue;
          }
          const { Records = [], NextShardIterator } = page;
          if (Records.length === 0) {
            state.iterator = NextShardIterator;
            continue;
          }
          busy = true;
          await deliver(shardId, state, Records, NextShardIterator);
        }
      } catch (error) {
        if (stopped) break;
        options.log(`stream poll failed: ${(error as Error)?.message ?? error}`);
        await sleep(1_000);
      }
      if (!busy) await sleep(options.idleMs ?? 100);
    }
  })();

  let stopping: Promise<void> | undefined;
  return {
    stop: () => {
      stopping ??= (async () => {
        stopped = true;
        await loop;
        client.destroy();
      })();
      return stopping;
    },
  };
}
