/**
 * Log-layout items of the versions table: entries (`E#<seq>#<tag>`, a
 * snapshot or a delta, their payload packed by the domain). They are
 * immutable and each writer's tag makes its keys its own, so a put never
 * lands on an item someone else wrote. A chain is read with one Query over
 * a sort-key range, priced by the bytes it returns, not per item.
 */
import { QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { EntryKey, LogEntry, LogVersionRef, VersionSummary, WriteCost } from '#domain/store';
import type { PhaseCounts } from '#domain/summaries';
import { batchPut, forEachLimited, type Item } from './batch.ts';
import { extendExpiry, type StoreContext } from './context.ts';
import { guarded } from './errors.ts';
import { costOf, isObject, sumCosts, toVersionSummary } from './items.ts';
import { entryKey, entryPrefix, parseEntryKey, workflowKey } from './keys.ts';

const keyText = (key: EntryKey): string => `${key.seq}#${key.tag}`;

function parseKeyText(text: unknown): EntryKey | undefined {
  if (typeof text !== 'string') return undefined;
  const at = text.indexOf('#');
  return at < 0 ? undefined : { seq: Number(text.slice(0, at)), tag: text.slice(at + 1) };
}

function entryItem(entry: LogEntry): Item {
  return {
    pk: workflowKey(entry.uid),
    sk: entryKey(entry.key),
    kind: entry.kind,
    nodeStatusVersion: entry.nodeStatusVersion,
    ...(entry.parentVersion === undefined ? {} : { parentVersion: entry.parentVersion }),
    ...(entry.parent === undefined ? {} : { parent: keyText(entry.parent) }),
    ...(entry.base?.kind === 'snapshot' ? { baseEntry: keyText(entry.base.key) } : {}),
    ...(entry.base?.kind === 'manifest' ? { baseVersion: entry.base.nodeStatusVersion } : {}),
    ...(entry.previousChain
      ? {
          previousHead: keyText(entry.previousChain.head),
          previousChainStart: entry.previousChain.chainStart,
        }
      : {}),
    chainStart: entry.chainStart,
    codec: entry.codec,
    bucketCount: entry.bucketCount,
    nodeCount: entry.nodeCount,
    rawBytes: entry.rawBytes,
    storedBytes: entry.storedBytes,
    ...(entry.phaseCounts === undefined ? {} : { phaseCounts: entry.phaseCounts }),
    createdAt: entry.createdAt,
    expiresAt: entry.expiresAt,
    data: entry.data,
  };
}

function toEntry(uid: string, item: Item): LogEntry | undefined {
  const key = parseEntryKey(item.sk as string);
  if (!key) return undefined;
  const parent = parseKeyText(item.parent);
  const baseEntry = parseKeyText(item.baseEntry);
  const previousHead = parseKeyText(item.previousHead);
  return {
    uid,
    key,
    kind: item.kind === 'snapshot' ? 'snapshot' : 'delta',
    nodeStatusVersion: item.nodeStatusVersion as string,
    ...(typeof item.parentVersion === 'string' ? { parentVersion: item.parentVersion } : {}),
    ...(parent ? { parent } : {}),
    ...(baseEntry ? { base: { kind: 'snapshot' as const, key: baseEntry } } : {}),
    ...(typeof item.baseVersion === 'string'
      ? { base: { kind: 'manifest' as const, nodeStatusVersion: item.baseVersion } }
      : {}),
    ...(previousHead
      ? { previousChain: { head: previousHead, chainStart: Number(item.previousChainStart) } }
      : {}),
    chainStart: Number(item.chainStart),
    codec: item.codec as string,
    bucketCount: Number(item.bucketCount),
    nodeCount: Number(item.nodeCount),
    rawBytes: Number(item.rawBytes),
    storedBytes: Number(item.storedBytes),
    ...(isObject(item.phaseCounts) ? { phaseCounts: item.phaseCounts as PhaseCounts } : {}),
    createdAt: item.createdAt as string,
    expiresAt: Number(item.expiresAt),
    data: (item.data as Uint8Array | undefined) ?? new Uint8Array(),
  };
}

export class LogStore {
  constructor(private readonly context: StoreContext) {}

  async putLogEntry(entry: LogEntry): Promise<WriteCost> {
    // Through BatchWriteItem, as every item of a version: the record's PutItem is the commit.
    const items = [entryItem(entry)];
    await batchPut(this.context.client, this.context.versionsTable, items, this.context.batch);
    return costOf(items);
  }

  async getLogEntries(
    uid: string,
    chainStart: number,
    head: EntryKey,
    consistent: boolean,
  ): Promise<LogEntry[]> {
    const items = await this.queryAll(
      (start) =>
        new QueryCommand({
          TableName: this.context.versionsTable,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': workflowKey(uid),
            ':from': entryKey({ seq: chainStart, tag: '' }),
            ':to': entryKey(head),
          },
          ConsistentRead: consistent,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
    );
    return items.flatMap((item) => toEntry(uid, item) ?? []);
  }

  async findLogVersion(uid: string, nodeStatusVersion: string): Promise<LogVersionRef[]> {
    // Every entry of the workflow is read (and priced): the reader looks on the
    // current chain first, so this is the path of a version on an earlier one.
    const items = await this.queryAll(
      (start) =>
        new QueryCommand({
          TableName: this.context.versionsTable,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          FilterExpression: 'nodeStatusVersion = :version',
          ExpressionAttributeValues: {
            ':pk': workflowKey(uid),
            ':prefix': entryPrefix,
            ':version': nodeStatusVersion,
          },
          ProjectionExpression: 'sk, chainStart, expiresAt',
          // An entry is written just before its commit: read what is there now.
          ConsistentRead: true,
          ScanIndexForward: false,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
    );
    return items.flatMap((item) => {
      const key = parseEntryKey(item.sk as string);
      return key
        ? [{ nodeStatusVersion, key, chainStart: Number(item.chainStart), expiresAt: Number(item.expiresAt) }]
        : [];
    });
  }

  async listLogVersions(uid: string, limit: number): Promise<VersionSummary[]> {
    const output = await guarded(() =>
      this.context.client.send(
        new QueryCommand({
          TableName: this.context.versionsTable,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': workflowKey(uid), ':prefix': entryPrefix },
          ProjectionExpression:
            'nodeStatusVersion, createdAt, expiresAt, nodeCount, storedBytes, phaseCounts, parentVersion',
          ScanIndexForward: false,
          Limit: limit,
        }),
      ),
    );
    return (output.Items ?? []).map(toVersionSummary);
  }

  async renewLogItems(
    uid: string,
    entries: readonly EntryKey[],
    expiresAt: number,
  ): Promise<WriteCost & { missing: number }> {
    const pk = workflowKey(uid);
    const costs: WriteCost[] = [];
    let missing = 0;
    await forEachLimited(entries, this.context.batch.concurrency, async (key) => {
      const outcome = await extendExpiry(this.context, { pk, sk: entryKey(key) }, expiresAt);
      if (outcome === undefined) missing++;
      else costs.push(outcome);
    });
    return { ...sumCosts(costs), missing };
  }

  /** Every page of a Query: `page` makes the command that starts after `start`. */
  private async queryAll(page: (start?: Record<string, unknown>) => QueryCommand): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const command = page(start);
      const output: QueryCommandOutput = await guarded(() => this.context.client.send(command));
      items.push(...((output.Items ?? []) as Item[]));
      start = output.LastEvaluatedKey;
    } while (start);
    return items;
  }
}
