/**
 * The DynamoDB adapter of the domain's `WorkflowStore` port. Two tables:
 *
 * | table    | item     | pk         | sk                          |
 * |----------|----------|------------|-----------------------------|
 * | records  | record   | `WF#<uid>` | `RECORD`                    |
 * | versions | manifest | `WF#<uid>` | `V#<nodeStatusVersion>`     |
 * | versions | history  | `WF#<uid>` | `T#<createdAt>#<version>`   |
 * | versions | chunk    | `WF#<uid>` | `C#<chunkId>` (`#<part>` when split) |
 *
 * Records have no TTL and carry the index keys; everything in the versions
 * table is immutable and expires by TTL.
 *
 * Every value from a caller travels in ExpressionAttributeValues; expression
 * strings are constants of this file.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { leaseShardCount, table, versionTableNameFor } from '#contract/tables';
import type { StopStrategy } from '#contract/workflow';
import { StoreUnavailableError, ValidationError, VersionMissingError } from '#domain/errors';
import type {
  ChunkRef,
  FetchedChunk,
  LeaseEntry,
  Manifest,
  ManifestChunk,
  Page,
  StoredChunk,
  VersionSummary,
  WorkflowRecord,
  WorkflowStore,
  WorkflowSummary,
  WriteCost,
} from '#domain/store';
import { itemSize, writeUnitsFor } from './item-size.ts';

const RECORD_SK = 'RECORD';
const workflowKey = (uid: string) => `WF#${uid}`;
const manifestKey = (version: string) => `V#${version}`;
const chunkKeys = (ref: ChunkRef): string[] =>
  ref.parts <= 1
    ? [`C#${ref.chunkId}`]
    : Array.from({ length: ref.parts }, (_, part) => `C#${ref.chunkId}#${part}`);

/** Spreads the lease index over partitions by a stable hash of the uid. */
export const leaseShardOf = (uid: string): string => {
  let hash = 0;
  for (let index = 0; index < uid.length; index++) hash = (Math.imul(hash, 31) + uid.charCodeAt(index)) >>> 0;
  return `LEASE#${hash % leaseShardCount}`;
};

export interface DynamoDbStoreOptions {
  /** The records table. */
  readonly tableName: string;
  /** The versions table; default `<tableName>-versions`. */
  readonly versionsTableName?: string;
  /** Parallel requests per batched read or write. */
  readonly concurrency?: number;
  /** Attempts for unprocessed batch items before reporting the store unavailable. */
  readonly batchAttempts?: number;
  readonly sleep?: (milliseconds: number) => Promise<void>;
}

const throttlingNames = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
]);

const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

/** Throttling and unreachable endpoints become a retryable StoreUnavailableError; the rest passes through. */
export function translateStoreError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const named = error as { name?: string; code?: string; cause?: { code?: string }; $metadata?: unknown };
  const code = named.code ?? named.cause?.code;
  if (
    (named.name && throttlingNames.has(named.name)) ||
    (code && unreachableCodes.has(code)) ||
    named.name === 'TimeoutError' ||
    named.name === 'AbortError'
  ) {
    return new StoreUnavailableError('the database is busy or unreachable; retry shortly', 2, {
      cause: error,
    });
  }
  return error;
}

async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw translateStoreError(error);
  }
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function forEachLimited<T>(
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

const encodeCursor = (key: Record<string, unknown>): string =>
  Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');

function decodeCursor(cursor: string, expectedKeys: readonly string[]): Record<string, string | number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const valid =
    parsed !== null &&
    typeof parsed === 'object' &&
    !Array.isArray(parsed) &&
    Object.keys(parsed).length === expectedKeys.length &&
    expectedKeys.every((key) => {
      const value = (parsed as Record<string, unknown>)[key];
      return typeof value === 'string' || typeof value === 'number';
    });
  if (!valid)
    throw new ValidationError('the `next` token is not one this service issued; start from the first page');
  return parsed as Record<string, string | number>;
}

/** Fixed-width binary columns keep a manifest of hundreds of chunks small. */
function packManifestChunks(chunks: readonly ManifestChunk[]) {
  const ids = Buffer.alloc(chunks.length * 32);
  const numbers = Buffer.alloc(chunks.length * 12);
  chunks.forEach((chunk, index) => {
    ids.write(chunk.chunkId, index * 32, 'hex');
    numbers.writeUInt32BE(chunk.parts, index * 12);
    numbers.writeUInt32BE(chunk.leaseExpiresAt, index * 12 + 4);
    numbers.writeUInt32BE(chunk.storedBytes, index * 12 + 8);
  });
  return { chunkIds: ids, chunkNumbers: numbers };
}

function unpackManifestChunks(ids: Uint8Array | undefined, numbers: Uint8Array | undefined): ManifestChunk[] {
  if (!ids || !numbers) return [];
  const idBuffer = Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength);
  const numberBuffer = Buffer.from(numbers.buffer, numbers.byteOffset, numbers.byteLength);
  const count = idBuffer.length / 32;
  return Array.from({ length: count }, (_, index) => ({
    chunkId: idBuffer.toString('hex', index * 32, index * 32 + 32),
    parts: numberBuffer.readUInt32BE(index * 12),
    leaseExpiresAt: numberBuffer.readUInt32BE(index * 12 + 4),
    storedBytes: numberBuffer.readUInt32BE(index * 12 + 8),
  }));
}

const costOf = (items: readonly Record<string, unknown>[]): WriteCost => {
  let bytes = 0;
  let writeUnits = 0;
  for (const item of items) {
    const size = itemSize(item);
    bytes += size;
    writeUnits += writeUnitsFor(size);
  }
  return { items: items.length, bytes, writeUnits };
};

const sumCosts = (costs: readonly WriteCost[]): WriteCost =>
  costs.reduce(
    (sum, cost) => ({
      items: sum.items + cost.items,
      bytes: sum.bytes + cost.bytes,
      writeUnits: sum.writeUnits + cost.writeUnits,
    }),
    { items: 0, bytes: 0, writeUnits: 0 },
  );

type Item = Record<string, unknown>;

function toRecord(item: Item): WorkflowRecord {
  return {
    uid: item.uid as string,
    namespace: item.namespace as string,
    name: item.name as string,
    phase: item.phase as string,
    ...(item.message !== undefined ? { message: item.message as string } : {}),
    ...(item.shutdown !== undefined ? { shutdown: item.shutdown as StopStrategy } : {}),
    resourceVersion: Number(item.resourceVersion),
    nodeStatusVersion: item.nodeStatusVersion as string,
    ...(typeof item.previousNodeStatusVersion === 'string'
      ? { previousNodeStatusVersion: item.previousNodeStatusVersion }
      : {}),
    nodeCount: Number(item.nodeCount),
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
    leaseExpiresAt: Number(item.leaseExpiresAt),
    codec: item.codec as string,
    ...(item.inline !== undefined ? { inline: item.inline as Uint8Array[] } : {}),
  };
}

function toSummary(item: Item): WorkflowSummary {
  const {
    inline: _inline,
    leaseExpiresAt: _lease,
    codec: _codec,
    previousNodeStatusVersion: _previous,
    ...summary
  } = toRecord({
    ...item,
    leaseExpiresAt: 0,
    codec: '',
  });
  return summary;
}

function toManifest(uid: string, item: Item): Manifest {
  return {
    uid,
    nodeStatusVersion: item.nodeStatusVersion as string,
    codec: item.codec as string,
    bucketCount: Number(item.bucketCount),
    nodeCount: Number(item.nodeCount),
    rawBytes: Number(item.rawBytes),
    storedBytes: Number(item.storedBytes),
    createdAt: item.createdAt as string,
    expiresAt: Number(item.expiresAt),
    chunks: unpackManifestChunks(
      item.chunkIds as Uint8Array | undefined,
      item.chunkNumbers as Uint8Array | undefined,
    ),
    ...(item.inline !== undefined ? { inline: item.inline as Uint8Array[] } : {}),
  };
}

export class DynamoDbStore implements WorkflowStore {
  protected readonly tableName: string;
  protected readonly versionsTableName: string;
  private readonly concurrency: number;
  private readonly batchAttempts: number;
  private readonly sleep: (milliseconds: number) => Promise<void>;

  constructor(
    protected readonly client: DynamoDBDocumentClient,
    options: DynamoDbStoreOptions,
  ) {
    this.tableName = options.tableName;
    this.versionsTableName = options.versionsTableName ?? versionTableNameFor(options.tableName);
    this.concurrency = options.concurrency ?? 8;
    this.batchAttempts = options.batchAttempts ?? 8;
    this.sleep =
      options.sleep ?? ((milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)));
  }

  async getRecord(uid: string): Promise<WorkflowRecord | undefined> {
    const { Item } = await guarded(() =>
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: workflowKey(uid), sk: RECORD_SK },
          ConsistentRead: true,
        }),
      ),
    );
    return Item ? toRecord(Item) : undefined;
  }

  async getManifest(uid: string, nodeStatusVersion: string, depth = 0): Promise<Manifest | undefined> {
    const item = await this.getManifestItem(uid, nodeStatusVersion);
    if (!item) return undefined;
    if (typeof item.base !== 'string') return toManifest(uid, item);
    // A delta: the full base, with the changed buckets replaced. A base is
    // always a full manifest (see putDeltaManifest); the bound only guards
    // against corrupt data.
    if (depth >= 2) return undefined;
    const base = await this.getManifest(uid, item.base, depth + 1);
    if (!base) return undefined;
    const chunks = [...base.chunks];
    const changes = unpackManifestChunks(item.chunkIds as Uint8Array, item.chunkNumbers as Uint8Array);
    const indexes = Buffer.from(item.changedIndexes as Uint8Array);
    changes.forEach((chunk, position) => {
      chunks[indexes.readUInt32BE(position * 4)] = chunk;
    });
    return { ...toManifest(uid, item), chunks, base };
  }

  private async getManifestItem(uid: string, nodeStatusVersion: string): Promise<Item | undefined> {
    // Strongly consistent: a manifest written just before a commit must be visible right after it.
    const { Item } = await guarded(() =>
      this.client.send(
        new GetCommand({
          TableName: this.versionsTableName,
          Key: { pk: workflowKey(uid), sk: manifestKey(nodeStatusVersion) },
          ConsistentRead: true,
        }),
      ),
    );
    return Item;
  }

  async getChunks(
    uid: string,
    refs: readonly ChunkRef[],
  ): Promise<{ found: Map<string, FetchedChunk>; missing: string[] }> {
    const pk = workflowKey(uid);
    const keys = refs.flatMap((ref) => chunkKeys(ref));
    const items = new Map<string, Item>();
    // Chunks are immutable and named by their content, so an eventually
    // consistent read (half the price) can only miss one, never return a wrong
    // one; the few it misses (written just before a commit) are read again
    // strongly consistently before anything is called missing.
    await this.batchGet(pk, keys, false, items);
    const notYetSeen = keys.filter((sk) => !items.has(sk));
    if (notYetSeen.length > 0) await this.batchGet(pk, notYetSeen, true, items);
    const found = new Map<string, FetchedChunk>();
    const missing: string[] = [];
    for (const ref of refs) {
      const parts = chunkKeys(ref).map((sk) => items.get(sk));
      if (parts.some((part) => part === undefined)) {
        missing.push(ref.chunkId);
        continue;
      }
      const datas = parts.map((part) => (part as Item).data as Uint8Array);
      found.set(ref.chunkId, {
        codec: (parts[0] as Item).codec as string,
        data: datas.length === 1 ? (datas[0] as Uint8Array) : Buffer.concat(datas),
      });
    }
    return { found, missing };
  }

  /** BatchGetItem in parallel groups of 100, retrying unprocessed keys with jittered backoff. */
  private async batchGet(pk: string, keys: readonly string[], consistent: boolean, into: Map<string, Item>) {
    await forEachLimited(chunked(keys, 100), this.concurrency, async (batch) => {
      let pending: Record<string, unknown>[] = batch.map((sk) => ({ pk, sk }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= this.batchAttempts) {
          throw new StoreUnavailableError('the database kept deferring reads; retry shortly', 2);
        }
        if (attempt > 0) await this.sleep(Math.min(1000, 20 * 2 ** attempt) * Math.random());
        const output: BatchGetCommandOutput = await guarded(() =>
          this.client.send(
            new BatchGetCommand({
              RequestItems: { [this.versionsTableName]: { Keys: pending, ConsistentRead: consistent } },
            }),
          ),
        );
        for (const item of output.Responses?.[this.versionsTableName] ?? [])
          into.set(item.sk as string, item);
        pending =
          (output.UnprocessedKeys?.[this.versionsTableName]?.Keys as Record<string, unknown>[] | undefined) ??
          [];
      }
    });
  }

  async putChunks(uid: string, chunks: readonly StoredChunk[], expiresAt: number): Promise<WriteCost> {
    const pk = workflowKey(uid);
    const items: Item[] = chunks.flatMap((chunk) =>
      chunkKeys({ chunkId: chunk.chunkId, parts: chunk.parts.length }).map((sk, part) => ({
        pk,
        sk,
        codec: chunk.codec,
        data: chunk.parts[part],
        expiresAt,
      })),
    );
    await this.batchWrite(items);
    return costOf(items);
  }

  /** BatchWriteItem in parallel groups of 25, retrying unprocessed items with jittered backoff. */
  protected async batchWrite(items: readonly Item[]): Promise<void> {
    await forEachLimited(chunked(items, 25), this.concurrency, async (batch) => {
      let pending: Record<string, unknown>[] = batch.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= this.batchAttempts) {
          throw new StoreUnavailableError('the database kept deferring writes; retry shortly', 2);
        }
        if (attempt > 0) await this.sleep(Math.min(1000, 20 * 2 ** attempt) * Math.random());
        const output = await guarded(() =>
          this.client.send(
            new BatchWriteCommand({ RequestItems: { [this.versionsTableName]: pending as never } }),
          ),
        );
        pending =
          (output.UnprocessedItems?.[this.versionsTableName] as Record<string, unknown>[] | undefined) ?? [];
      }
    });
  }

  async renewChunks(
    uid: string,
    refs: readonly ChunkRef[],
    expiresAt: number,
  ): Promise<WriteCost & { missing: string[] }> {
    const pk = workflowKey(uid);
    const missing = new Set<string>();
    const costs: WriteCost[] = [];
    const work = refs.flatMap((ref) => chunkKeys(ref).map((sk) => ({ ref, sk })));
    await forEachLimited(work, this.concurrency, async ({ ref, sk }) => {
      const outcome = await this.extendLease({ pk, sk }, expiresAt);
      if (outcome === 'missing') missing.add(ref.chunkId);
      else costs.push(outcome);
    });
    return { ...sumCosts(costs), missing: [...missing] };
  }

  /**
   * Raises `expiresAt`, never lowers it, and never creates an item:
   *
   *   t0  writer A (clock ahead) renews chunk to T+2R+skew
   *   t1  writer B (clock behind) renews to T+2R-skew: condition fails, lease kept
   */
  private async extendLease(
    key: { pk: string; sk: string },
    expiresAt: number,
  ): Promise<(WriteCost & { attributes?: Record<string, unknown> }) | 'missing'> {
    try {
      const output = await guarded(() =>
        this.client.send(
          new UpdateCommand({
            TableName: this.versionsTableName,
            Key: key,
            UpdateExpression: 'SET expiresAt = :expiresAt',
            ConditionExpression: 'attribute_exists(pk) AND expiresAt < :expiresAt',
            ExpressionAttributeValues: { ':expiresAt': expiresAt },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return { ...costOf([output.Attributes ?? key]), attributes: output.Attributes };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return error.Item ? { items: 0, bytes: 0, writeUnits: 0 } : 'missing';
      }
      throw error;
    }
  }

  /**
   * Writes the manifest and its history entry. A manifest whose chunks differ
   * from the full manifest at the root of `previous` in at most 1/8 of its
   * buckets is written as a delta of that root: a small change costs a small
   * write, and a read needs at most two manifest items. The root must then
   * live as long as the delta, so a root whose lease ends before
   * `renewBefore` is renewed first.
   */
  async putManifest(
    manifest: Manifest,
    previous?: Manifest,
    renewBefore = 0,
  ): Promise<WriteCost & { leaseExpiresAt: number }> {
    const pk = workflowKey(manifest.uid);
    const common = {
      nodeStatusVersion: manifest.nodeStatusVersion,
      createdAt: manifest.createdAt,
      nodeCount: manifest.nodeCount,
      storedBytes: manifest.storedBytes,
      expiresAt: manifest.expiresAt,
    };
    const root = previous?.base ?? previous;
    const changed =
      root && !root.inline && root.codec === manifest.codec && root.chunks.length === manifest.chunks.length
        ? manifest.chunks.flatMap((chunk, index) =>
            chunk.chunkId === root.chunks[index]?.chunkId &&
            chunk.parts === root.chunks[index]?.parts &&
            // A chunk put again by a writer whose clock is behind the root's writer's can
            // have a shorter lease than the root recorded: keep the shorter one, or the
            // record's lease (which the renewer trusts) would be above the item's.
            chunk.leaseExpiresAt >= (root.chunks[index]?.leaseExpiresAt ?? 0)
              ? []
              : [index],
          )
        : undefined;
    const asDelta =
      root !== undefined &&
      changed !== undefined &&
      manifest.chunks.length > 0 &&
      root.nodeStatusVersion !== manifest.nodeStatusVersion &&
      changed.length <= manifest.chunks.length / 8;

    const costs: WriteCost[] = [];
    let leaseExpiresAt = manifest.expiresAt;
    let body: Item;
    if (asDelta) {
      if (root.expiresAt < renewBefore) {
        const renewed = await this.extendLease(
          { pk, sk: manifestKey(root.nodeStatusVersion) },
          manifest.expiresAt,
        );
        if (renewed === 'missing') throw new VersionMissingError(manifest.uid, root.nodeStatusVersion, []);
        costs.push(renewed);
      } else {
        leaseExpiresAt = Math.min(leaseExpiresAt, root.expiresAt);
      }
      const indexes = Buffer.alloc(changed.length * 4);
      changed.forEach((index, position) => {
        indexes.writeUInt32BE(index, position * 4);
      });
      body = {
        base: root.nodeStatusVersion,
        changedIndexes: indexes,
        ...packManifestChunks(changed.map((index) => manifest.chunks[index] as ManifestChunk)),
      };
    } else {
      body = manifest.chunks.length > 0 ? packManifestChunks(manifest.chunks) : {};
    }
    const manifestItem: Item = {
      pk,
      sk: manifestKey(manifest.nodeStatusVersion),
      ...common,
      codec: manifest.codec,
      bucketCount: manifest.bucketCount,
      rawBytes: manifest.rawBytes,
      ...body,
      ...(manifest.inline ? { inline: manifest.inline } : {}),
    };
    // The parent is a fact of this commit, not of the version: it goes on the history entry only.
    const historyItem: Item = {
      pk,
      sk: `T#${manifest.createdAt}#${manifest.nodeStatusVersion}`,
      ...common,
      ...(manifest.parentVersion === undefined ? {} : { parentVersion: manifest.parentVersion }),
    };
    if (!asDelta) {
      // A full manifest is self-contained: putting it over any earlier form of the same version is safe.
      await this.batchWrite([manifestItem, historyItem]);
      return { ...sumCosts([...costs, costOf([manifestItem, historyItem])]), leaseExpiresAt };
    }
    await this.batchWrite([historyItem]);
    costs.push(costOf([historyItem]));
    if (await this.putDeltaManifest(manifestItem)) {
      costs.push(costOf([manifestItem]));
    } else {
      // The version recurs (A, B, A) and its full manifest exists, maybe as the base of
      // other deltas: keep it, and only make it live as long as this commit needs.
      const kept = await this.extendLease({ pk, sk: manifestItem.sk as string }, manifest.expiresAt);
      if (kept === 'missing') throw new VersionMissingError(manifest.uid, manifest.nodeStatusVersion, []);
      costs.push(kept);
      leaseExpiresAt = manifest.expiresAt;
    }
    return { ...sumCosts(costs), leaseExpiresAt };
  }

  /**
   * Puts a delta manifest unless a full manifest of the same version exists.
   * Deltas name a full manifest as their base; turning that base into a
   * delta would break them:
   *
   *   t0  version A is written full; B and C are written as deltas of A
   *   t1  A recurs and would be written as a delta of C's root: refused, A stays full
   */
  private async putDeltaManifest(item: Item): Promise<boolean> {
    try {
      await guarded(() =>
        this.client.send(
          new PutCommand({
            TableName: this.versionsTableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(pk) OR attribute_exists(#base)',
            ExpressionAttributeNames: { '#base': 'base' },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async renewManifest(manifest: Manifest, expiresAt: number): Promise<WriteCost | undefined> {
    const pk = workflowKey(manifest.uid);
    const costs: WriteCost[] = [];
    if (manifest.base) {
      const base = await this.extendLease(
        { pk, sk: manifestKey(manifest.base.nodeStatusVersion) },
        expiresAt,
      );
      if (base === 'missing') return undefined;
      costs.push(base);
    }
    const outcome = await this.extendLease({ pk, sk: manifestKey(manifest.nodeStatusVersion) }, expiresAt);
    if (outcome === 'missing') return undefined;
    costs.push(outcome);
    // The history entry is what lists the version (GET .../versions): it must
    // live as long as the manifest, or a current version drops out of the list.
    const history = await this.extendLease(
      { pk, sk: `T#${manifest.createdAt}#${manifest.nodeStatusVersion}` },
      expiresAt,
    );
    if (history !== 'missing') costs.push(history);
    return sumCosts(costs);
  }

  /**
   * The commit point. Timeline of the race it closes:
   *
   *   t0  stop reads record at resourceVersion 7
   *   t1  controller commits 7 -> 8
   *   t2  stop's put with `resourceVersion = 7` fails; it reloads 8 and retries
   */
  async commitRecord(
    record: WorkflowRecord,
    expectedResourceVersion: number | undefined,
  ): Promise<WriteCost | 'conflict'> {
    const item: Item = {
      pk: workflowKey(record.uid),
      sk: RECORD_SK,
      ...record,
      namespaceKey: `NS#${record.namespace}`,
      namespaceSort: `${record.name}#${record.uid}`,
      leaseShard: leaseShardOf(record.uid),
    };
    try {
      await guarded(() =>
        this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: item,
            ...(expectedResourceVersion === undefined
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : {
                  ConditionExpression: 'resourceVersion = :expected',
                  ExpressionAttributeValues: { ':expected': expectedResourceVersion },
                }),
          }),
        ),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'conflict';
      throw error;
    }
    return costOf([item]);
  }

  async deleteRecord(uid: string): Promise<boolean> {
    const { Attributes } = await guarded(() =>
      this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: workflowKey(uid), sk: RECORD_SK },
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    return Attributes !== undefined;
  }

  async listRecords(namespace: string, limit: number, cursor?: string): Promise<Page<WorkflowSummary>> {
    const index = table.indexes.byNamespace;
    const startKey = cursor
      ? decodeCursor(cursor, ['pk', 'sk', index.partitionKey, index.sortKey])
      : undefined;
    if (startKey && startKey[index.partitionKey] !== `NS#${namespace}`) {
      throw new ValidationError('the `next` token belongs to another namespace; start from the first page');
    }
    const output = await guarded(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index.indexName,
          KeyConditionExpression: '#namespaceKey = :namespaceKey',
          ExpressionAttributeNames: { '#namespaceKey': index.partitionKey },
          ExpressionAttributeValues: { ':namespaceKey': `NS#${namespace}` },
          Limit: limit,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      ),
    );
    return {
      items: (output.Items ?? []).map(toSummary),
      ...(output.LastEvaluatedKey ? { next: encodeCursor(output.LastEvaluatedKey) } : {}),
    };
  }

  async listVersions(uid: string, limit: number): Promise<VersionSummary[]> {
    const output = await guarded(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.versionsTableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :history)',
          ExpressionAttributeValues: { ':pk': workflowKey(uid), ':history': 'T#' },
          ScanIndexForward: false,
          Limit: limit,
        }),
      ),
    );
    return (output.Items ?? []).map((item) => ({
      nodeStatusVersion: item.nodeStatusVersion as string,
      createdAt: item.createdAt as string,
      expiresAt: Number(item.expiresAt),
      nodeCount: Number(item.nodeCount),
      storedBytes: Number(item.storedBytes),
      ...(typeof item.parentVersion === 'string' ? { parentVersion: item.parentVersion } : {}),
    }));
  }

  async findShortLeases(before: number, limit: number, cursor?: string): Promise<Page<LeaseEntry>> {
    const index = table.indexes.byLease;
    let shard = 0;
    let startKey: Record<string, string | number> | undefined;
    if (cursor) {
      const decoded = decodeCursor(cursor, ['shard', 'key']) as { shard: number; key: string };
      shard = Number(decoded.shard);
      startKey =
        decoded.key === ''
          ? undefined
          : decodeCursor(decoded.key, ['pk', 'sk', index.partitionKey, index.sortKey]);
    }
    while (shard < leaseShardCount) {
      const output = await guarded(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: index.indexName,
            KeyConditionExpression: '#shard = :shard AND #lease < :before',
            ExpressionAttributeNames: { '#shard': index.partitionKey, '#lease': index.sortKey },
            ExpressionAttributeValues: { ':shard': `LEASE#${shard}`, ':before': before },
            Limit: limit,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      const items = (output.Items ?? []).map((item) => ({
        uid: item.uid as string,
        nodeStatusVersion: item.nodeStatusVersion as string,
        leaseExpiresAt: Number(item.leaseExpiresAt),
      }));
      if (output.LastEvaluatedKey) {
        startKey = output.LastEvaluatedKey as Record<string, string | number>;
      } else {
        shard++;
        startKey = undefined;
      }
      if (items.length > 0) {
        const next =
          shard < leaseShardCount
            ? encodeCursor({ shard, key: startKey ? encodeCursor(startKey) : '' })
            : undefined;
        return { items, ...(next ? { next } : {}) };
      }
    }
    return { items: [] };
  }

  async minimumLease(): Promise<number | undefined> {
    const index = table.indexes.byLease;
    const leases = await Promise.all(
      Array.from({ length: leaseShardCount }, async (_, shard) => {
        const output = await guarded(() =>
          this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: index.indexName,
              KeyConditionExpression: '#shard = :shard',
              ExpressionAttributeNames: { '#shard': index.partitionKey },
              ExpressionAttributeValues: { ':shard': `LEASE#${shard}` },
              Limit: 1,
            }),
          ),
        );
        const item = output.Items?.[0];
        return item ? Number(item.leaseExpiresAt) : undefined;
      }),
    );
    const known = leases.filter((lease): lease is number => lease !== undefined);
    return known.length > 0 ? Math.min(...known) : undefined;
  }

  async renewRecordLease(uid: string, nodeStatusVersion: string, leaseExpiresAt: number): Promise<boolean> {
    try {
      await guarded(() =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: workflowKey(uid), sk: RECORD_SK },
            UpdateExpression: 'SET leaseExpiresAt = :lease',
            ConditionExpression: 'nodeStatusVersion = :version AND leaseExpiresAt < :lease',
            ExpressionAttributeValues: { ':version': nodeStatusVersion, ':lease': leaseExpiresAt },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
