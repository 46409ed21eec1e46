/**
 * A store that behaves as Argo's SQL offload did before its fix: on every
 * save it inserts the new version and deletes the workflow's other versions
 * older than a short TTL (`OFFLOAD_NODE_STATUS_TTL`). Used by the race test
 * and the race harness to show that the seed failure is real and that the
 * interleaving reproduces it. Its versions are kept whole, one manifest
 * each, as Argo's rows are: it is used with the chunk layout.
 */

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { WorkflowRecord, WriteCost } from '#domain/store';
import { DynamoDbStore, type DynamoDbStoreOptions } from '#store/dynamodb-store';

export class ArgoStyleStore extends DynamoDbStore {
  constructor(
    client: DynamoDBDocumentClient,
    options: DynamoDbStoreOptions & { readonly versionTtlSeconds?: number },
    private readonly versionTtlSeconds = options.versionTtlSeconds ?? 0,
  ) {
    super(client, options);
  }

  override async commitRecord(
    record: WorkflowRecord,
    expectedResourceVersion: number | undefined,
  ): Promise<WriteCost | 'conflict'> {
    const outcome = await super.commitRecord(record, expectedResourceVersion);
    if (outcome !== 'conflict') await this.deleteOldVersions(record.uid, record.nodeStatusVersion);
    return outcome;
  }

  /** Argo's `Save`: delete every other version older than the TTL, with its data. */
  private async deleteOldVersions(uid: string, keep: string): Promise<void> {
    const cutoff = Date.now() - this.versionTtlSeconds * 1000;
    const output = await this.client.send(
      new QueryCommand({
        TableName: this.versionsTableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :manifest)',
        ExpressionAttributeValues: { ':pk': `WF#${uid}`, ':manifest': 'V#' },
      }),
    );
    const kept = await this.getManifest(uid, keep);
    const keptChunks = new Set((kept?.chunks ?? []).map((chunk) => chunk.chunkId));
    for (const item of output.Items ?? []) {
      const version = item.nodeStatusVersion as string;
      // The kept version's own data (a delta's base) stays: only older versions go.
      if (version === keep || version === kept?.base?.nodeStatusVersion) continue;
      if (Date.parse(item.createdAt as string) > cutoff) continue;
      const manifest = await this.getManifest(uid, version);
      for (const chunk of manifest?.chunks ?? []) {
        if (keptChunks.has(chunk.chunkId)) continue;
        await this.client.send(
          new DeleteCommand({
            TableName: this.versionsTableName,
            Key: { pk: `WF#${uid}`, sk: `C#${chunk.chunkId}` },
          }),
        );
      }
      await this.client.send(
        new DeleteCommand({ TableName: this.versionsTableName, Key: { pk: `WF#${uid}`, sk: item.sk } }),
      );
    }
  }
}
