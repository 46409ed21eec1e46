/**
 * The anchors of the benchmark: Argo's offload as it stores node status,
 * ported to DynamoDB. Every save writes the whole node map as a new version
 * and then deletes the workflow's older versions (Argo's `Save` before its
 * fix, with `OFFLOAD_NODE_STATUS_TTL` = 0 so every older version goes at once).
 *
 * - (A) `compression: 'none'`: the JSON text as Argo writes it.
 * - (B) `compression: 'gzip'`: the same JSON gzip-compressed.
 *
 * A DynamoDB item holds at most 400 KB, so a version larger than that cannot
 * be one item: it is split into parts of at most `maxPartBytes` (Argo's SQL
 * row has no such limit; this split is the least DynamoDB forces on it).
 * The pointer to the current version lives on the workflow object in
 * Kubernetes in Argo, not in the database, so it costs nothing here: callers
 * keep the {@link BlobVersion} a save returns.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { NodeMap } from '#domain/nodes';

export interface WholeBlobOptions {
  readonly compression: 'none' | 'gzip';
  /** zlib level of the gzip variant (Go's gzip default is 6, like Node's). */
  readonly gzipLevel?: number;
  /** Largest data attribute of one item: 400 KB less room for keys and attributes. */
  readonly maxPartBytes?: number;
  /** Delete the workflow's older versions on every save, as Argo did before its fix. */
  readonly deleteOldVersions?: boolean;
  /** Give every item an `expiresAt` (epoch seconds) this far ahead, for DynamoDB's TTL to remove it. */
  readonly expiresAfterSeconds?: number;
}

/** What the workflow object would keep: the version id and how many parts hold it. */
export interface BlobVersion {
  readonly uid: string;
  readonly version: string;
  readonly parts: number;
  readonly rawBytes: number;
  readonly storedBytes: number;
}

type Item = Record<string, unknown>;

const partKey = (version: BlobVersion, part: number) => ({
  pk: `WF#${version.uid}`,
  sk: `B#${version.version}#${String(part).padStart(4, '0')}`,
});

export class WholeBlobStore {
  private readonly maxPartBytes: number;
  /** The versions each workflow has in the table, oldest first (Argo finds them with a WHERE clause). */
  private readonly live = new Map<string, BlobVersion[]>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: WholeBlobOptions,
  ) {
    this.maxPartBytes = options.maxPartBytes ?? 399_000;
  }

  /** Writes the whole node map as a new version, then deletes the older ones. */
  async save(uid: string, nodes: NodeMap): Promise<BlobVersion> {
    const json = Buffer.from(JSON.stringify(nodes), 'utf8');
    const data =
      this.options.compression === 'gzip' ? gzipSync(json, { level: this.options.gzipLevel ?? 6 }) : json;
    const version: BlobVersion = {
      uid,
      version: createHash('sha256').update(json).digest('hex').slice(0, 32),
      parts: Math.max(1, Math.ceil(data.length / this.maxPartBytes)),
      rawBytes: json.length,
      storedBytes: data.length,
    };
    const createdAt = new Date().toISOString();
    const items: Item[] = [];
    for (let part = 0; part < version.parts; part++) {
      items.push({
        ...partKey(version, part),
        createdAt,
        ...(this.options.expiresAfterSeconds === undefined
          ? {}
          : { expiresAt: Math.floor(Date.now() / 1000) + this.options.expiresAfterSeconds }),
        data: data.subarray(part * this.maxPartBytes, (part + 1) * this.maxPartBytes),
      });
    }
    await this.batchWrite(items.map((Item) => ({ PutRequest: { Item } })));

    const older = (this.live.get(uid) ?? []).filter((live) => live.version !== version.version);
    if (this.options.deleteOldVersions ?? true) {
      const keys = older.flatMap((old) => Array.from({ length: old.parts }, (_, part) => partKey(old, part)));
      await this.batchWrite(keys.map((Key) => ({ DeleteRequest: { Key } })));
      this.live.set(uid, [version]);
    } else {
      this.live.set(uid, [...older, version]);
    }
    return version;
  }

  /** Reads every part of a version and decodes the node map. */
  async hydrate(version: BlobVersion): Promise<NodeMap> {
    const keys = Array.from({ length: version.parts }, (_, part) => partKey(version, part));
    const found = new Map<string, Uint8Array>();
    // 16 MB per BatchGetItem response: 400 KB parts go 30 at a time.
    const groups: Item[][] = [];
    for (let index = 0; index < keys.length; index += 30) groups.push(keys.slice(index, index + 30));
    await Promise.all(
      groups.map(async (group) => {
        let pending = group;
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt > 8) throw new Error('BatchGetItem kept returning unprocessed keys');
          const output = await this.client.send(
            new BatchGetCommand({
              RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
            }),
          );
          for (const item of output.Responses?.[this.tableName] ?? [])
            found.set(item.sk as string, item.data as Uint8Array);
          pending = (output.UnprocessedKeys?.[this.tableName]?.Keys as Item[] | undefined) ?? [];
        }
      }),
    );
    const parts = keys.map((key) => {
      const part = found.get(key.sk);
      if (!part) throw new Error(`version ${version.version} of ${version.uid} lacks ${key.sk}`);
      return part;
    });
    const data = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
    const json = this.options.compression === 'gzip' ? gunzipSync(data) : data;
    return JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8')) as NodeMap;
  }

  /** BatchWriteItem, 25 requests a call, at most 8 calls in flight (as the project's store does). */
  private async batchWrite(requests: readonly Item[]): Promise<void> {
    const groups: Item[][] = [];
    for (let index = 0; index < requests.length; index += 25) groups.push(requests.slice(index, index + 25));
    let next = 0;
    const worker = async () => {
      while (next < groups.length) {
        let pending = groups[next++] as Item[];
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt > 8) throw new Error('BatchWriteItem kept returning unprocessed items');
          const output = await this.client.send(
            new BatchWriteCommand({ RequestItems: { [this.tableName]: pending as never } }),
          );
          pending = (output.UnprocessedItems?.[this.tableName] as Item[] | undefined) ?? [];
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, groups.length) }, worker));
  }
}
