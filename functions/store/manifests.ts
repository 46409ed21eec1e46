/**
 * Manifest and history items of the versions table. A manifest is stored
 * whole, or as a delta naming a full base (when is the domain's policy,
 * `functions/domain/manifest-policy.ts`); reading a delta reads its base too.
 * History entries list the committed versions (`GET .../versions`).
 */
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Manifest, ManifestChunk, ManifestDelta, VersionSummary, WriteCost } from '#domain/store';
import { batchPut, type Item } from './batch.ts';
import { conditionalWrite } from './conditional.ts';
import { extendExpiry, type StoreContext } from './context.ts';
import { guarded } from './errors.ts';
import {
  costOf,
  packManifestChunks,
  sumCosts,
  toManifest,
  toVersionSummary,
  unpackManifestChunks,
} from './items.ts';
import { historyKey, historyPrefix, manifestKey, workflowKey } from './keys.ts';

export class ManifestStore {
  constructor(private readonly context: StoreContext) {}

  async getManifest(uid: string, nodeStatusVersion: string, depth = 0): Promise<Manifest | undefined> {
    const item = await this.getManifestItem(uid, nodeStatusVersion);
    if (!item) return undefined;
    if (typeof item.base !== 'string') return toManifest(uid, item);
    // A delta: the full base, with the changed buckets replaced. A base is
    // always a full manifest (see putDelta); the bound only guards against
    // corrupt data.
    if (depth >= 2) return undefined;
    const base = await this.getManifest(uid, item.base, depth + 1);
    if (!base) return undefined;
    const chunks = [...base.chunks];
    const changes = unpackManifestChunks(
      item.chunkIds as Uint8Array,
      item.chunkNumbers as Uint8Array,
      item.chunkMasks as Uint8Array | undefined,
    );
    const indexes = Buffer.from(item.changedIndexes as Uint8Array);
    changes.forEach((chunk, position) => {
      chunks[indexes.readUInt32BE(position * 4)] = chunk;
    });
    return { ...toManifest(uid, item), chunks, base };
  }

  private async getManifestItem(uid: string, nodeStatusVersion: string): Promise<Item | undefined> {
    // Strongly consistent: a manifest written just before a commit must be visible right after it.
    const { Item } = await guarded(() =>
      this.context.client.send(
        new GetCommand({
          TableName: this.context.versionsTable,
          Key: { pk: workflowKey(uid), sk: manifestKey(nodeStatusVersion) },
          ConsistentRead: true,
        }),
      ),
    );
    return Item;
  }

  async putManifest(manifest: Manifest, delta?: ManifestDelta): Promise<WriteCost & { stored: boolean }> {
    const pk = workflowKey(manifest.uid);
    const common = {
      nodeStatusVersion: manifest.nodeStatusVersion,
      createdAt: manifest.createdAt,
      nodeCount: manifest.nodeCount,
      storedBytes: manifest.storedBytes,
      expiresAt: manifest.expiresAt,
      ...(manifest.phaseCounts === undefined ? {} : { phaseCounts: manifest.phaseCounts }),
    };
    let body: Item;
    if (delta) {
      const indexes = Buffer.alloc(delta.changedIndexes.length * 4);
      delta.changedIndexes.forEach((index, position) => {
        indexes.writeUInt32BE(index, position * 4);
      });
      body = {
        base: delta.base.nodeStatusVersion,
        changedIndexes: indexes,
        ...packManifestChunks(delta.changedIndexes.map((index) => manifest.chunks[index] as ManifestChunk)),
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
      sk: historyKey(manifest.createdAt, manifest.nodeStatusVersion),
      ...common,
      ...(manifest.parentVersion === undefined ? {} : { parentVersion: manifest.parentVersion }),
    };
    if (!delta) {
      // A full manifest is self-contained: putting it over any earlier form of the same version is safe.
      await batchPut(
        this.context.client,
        this.context.versionsTable,
        [manifestItem, historyItem],
        this.context.batch,
      );
      return { ...costOf([manifestItem, historyItem]), stored: true };
    }
    await batchPut(this.context.client, this.context.versionsTable, [historyItem], this.context.batch);
    const stored = await this.putDelta(manifestItem);
    return { ...costOf(stored ? [historyItem, manifestItem] : [historyItem]), stored };
  }

  /**
   * Puts a delta manifest unless a full manifest of the same version exists.
   * Deltas name a full manifest as their base; turning that base into a
   * delta would break them:
   *
   *   t0  version A is written full; B and C are written as deltas of A
   *   t1  A recurs and would be written as a delta of C's root: refused, A stays full
   */
  private async putDelta(item: Item): Promise<boolean> {
    const outcome = await conditionalWrite(() =>
      this.context.client.send(
        new PutCommand({
          TableName: this.context.versionsTable,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk) OR attribute_exists(#base)',
          ExpressionAttributeNames: { '#base': 'base' },
        }),
      ),
    );
    return outcome.kind === 'written';
  }

  extendManifestLease(
    uid: string,
    nodeStatusVersion: string,
    expiresAt: number,
  ): Promise<WriteCost | undefined> {
    return extendExpiry(
      this.context,
      { pk: workflowKey(uid), sk: manifestKey(nodeStatusVersion) },
      expiresAt,
    );
  }

  async renewManifest(manifest: Manifest, expiresAt: number): Promise<WriteCost | undefined> {
    const costs: WriteCost[] = [];
    if (manifest.base) {
      const base = await this.extendManifestLease(manifest.uid, manifest.base.nodeStatusVersion, expiresAt);
      if (base === undefined) return undefined;
      costs.push(base);
    }
    const outcome = await this.extendManifestLease(manifest.uid, manifest.nodeStatusVersion, expiresAt);
    if (outcome === undefined) return undefined;
    costs.push(outcome);
    // The history entry is what lists the version (GET .../versions): it must
    // live as long as the manifest, or a current version drops out of the list.
    const history = await extendExpiry(
      this.context,
      { pk: workflowKey(manifest.uid), sk: historyKey(manifest.createdAt, manifest.nodeStatusVersion) },
      expiresAt,
    );
    if (history !== undefined) costs.push(history);
    return sumCosts(costs);
  }

  /** History entries, newest first. */
  async listVersions(uid: string, limit: number): Promise<VersionSummary[]> {
    const output = await guarded(() =>
      this.context.client.send(
        new QueryCommand({
          TableName: this.context.versionsTable,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :history)',
          ExpressionAttributeValues: { ':pk': workflowKey(uid), ':history': historyPrefix },
          ScanIndexForward: false,
          Limit: limit,
        }),
      ),
    );
    return (output.Items ?? []).map(toVersionSummary);
  }
}
