/**
 * The DynamoDB adapter of the domain's `WorkflowStore` port, composed of one
 * small store per concern, each with its own items and conditions:
 *
 * - `records.ts`: the record, its commit point (a conditional put), deletion, its lease;
 * - `chunks.ts`: chunk items, read in batches (eventually consistent first), put, renewed;
 * - `manifests.ts`: manifests (whole or delta) and history entries;
 * - `log.ts`: log-layout entries;
 * - `indexes.ts`: the namespace listing and the lease index;
 * - `uploads.ts`: staged uploads and their parts.
 *
 * Keys are in `keys.ts` (table and index names from `contract/tables.ts`),
 * item mapping in `items.ts`, the batch retry loop in `batch.ts`, the
 * conditional-write handling in `conditional.ts`. Every value from a caller
 * travels in ExpressionAttributeValues; expression strings are constants of
 * these files. Policy (when a manifest is a delta, when to renew) is the
 * domain's, not the adapter's.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { versionTableNameFor } from '#contract/tables';
import type {
  ChunkRef,
  EntryKey,
  FetchedChunk,
  LeaseEntry,
  LogEntry,
  LogVersionRef,
  Manifest,
  ManifestDelta,
  Page,
  StoredChunk,
  Upload,
  UploadPart,
  VersionSummary,
  WorkflowRecord,
  WorkflowStore,
  WorkflowSummary,
  WriteCost,
} from '#domain/store';
import { ChunkStore } from './chunks.ts';
import type { StoreContext } from './context.ts';
import { IndexStore } from './indexes.ts';
import { LogStore } from './log.ts';
import { ManifestStore } from './manifests.ts';
import { RecordStore } from './records.ts';
import { UploadStore } from './uploads.ts';

export { translateStoreError } from './errors.ts';
export { leaseShardOf } from './keys.ts';

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

export class DynamoDbStore implements WorkflowStore {
  protected readonly tableName: string;
  protected readonly versionsTableName: string;
  private readonly records: RecordStore;
  private readonly chunks: ChunkStore;
  private readonly manifests: ManifestStore;
  private readonly indexes: IndexStore;
  private readonly uploads: UploadStore;
  private readonly log: LogStore;

  constructor(
    protected readonly client: DynamoDBDocumentClient,
    options: DynamoDbStoreOptions,
  ) {
    this.tableName = options.tableName;
    this.versionsTableName = options.versionsTableName ?? versionTableNameFor(options.tableName);
    const context: StoreContext = {
      client,
      recordsTable: this.tableName,
      versionsTable: this.versionsTableName,
      batch: {
        concurrency: options.concurrency ?? 8,
        attempts: options.batchAttempts ?? 8,
        sleep:
          options.sleep ?? ((milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds))),
      },
    };
    this.records = new RecordStore(context);
    this.chunks = new ChunkStore(context);
    this.manifests = new ManifestStore(context);
    this.indexes = new IndexStore(context);
    this.uploads = new UploadStore(context);
    this.log = new LogStore(context);
  }

  getRecord(uid: string): Promise<WorkflowRecord | undefined> {
    return this.records.getRecord(uid);
  }

  commitRecord(
    record: WorkflowRecord,
    expectedResourceVersion: number | undefined,
  ): Promise<WriteCost | 'conflict'> {
    return this.records.commitRecord(record, expectedResourceVersion);
  }

  deleteRecord(uid: string): Promise<boolean> {
    return this.records.deleteRecord(uid);
  }

  renewRecordLease(uid: string, nodeStatusVersion: string, leaseExpiresAt: number): Promise<boolean> {
    return this.records.renewRecordLease(uid, nodeStatusVersion, leaseExpiresAt);
  }

  getManifest(uid: string, nodeStatusVersion: string): Promise<Manifest | undefined> {
    return this.manifests.getManifest(uid, nodeStatusVersion);
  }

  putManifest(manifest: Manifest, delta?: ManifestDelta): Promise<WriteCost & { stored: boolean }> {
    return this.manifests.putManifest(manifest, delta);
  }

  extendManifestLease(
    uid: string,
    nodeStatusVersion: string,
    expiresAt: number,
  ): Promise<WriteCost | undefined> {
    return this.manifests.extendManifestLease(uid, nodeStatusVersion, expiresAt);
  }

  renewManifest(manifest: Manifest, expiresAt: number): Promise<WriteCost | undefined> {
    return this.manifests.renewManifest(manifest, expiresAt);
  }

  listVersions(uid: string, limit: number): Promise<VersionSummary[]> {
    return this.manifests.listVersions(uid, limit);
  }

  getChunks(
    uid: string,
    refs: readonly ChunkRef[],
  ): Promise<{ found: Map<string, FetchedChunk>; missing: string[] }> {
    return this.chunks.getChunks(uid, refs);
  }

  putChunks(uid: string, chunks: readonly StoredChunk[], expiresAt: number): Promise<WriteCost> {
    return this.chunks.putChunks(uid, chunks, expiresAt);
  }

  renewChunks(
    uid: string,
    refs: readonly ChunkRef[],
    expiresAt: number,
  ): Promise<WriteCost & { missing: string[] }> {
    return this.chunks.renewChunks(uid, refs, expiresAt);
  }

  listRecords(namespace: string, limit: number, cursor?: string): Promise<Page<WorkflowSummary>> {
    return this.indexes.listRecords(namespace, limit, cursor);
  }

  findShortLeases(before: number, limit: number, cursor?: string): Promise<Page<LeaseEntry>> {
    return this.indexes.findShortLeases(before, limit, cursor);
  }

  putUpload(upload: Upload): Promise<WriteCost> {
    return this.uploads.putUpload(upload);
  }

  getUpload(uid: string, uploadId: string): Promise<Upload | undefined> {
    return this.uploads.getUpload(uid, uploadId);
  }

  putUploadPart(uid: string, uploadId: string, part: UploadPart): Promise<WriteCost> {
    return this.uploads.putUploadPart(uid, uploadId, part);
  }

  listUploadParts(uid: string, uploadId: string): Promise<UploadPart[]> {
    return this.uploads.listUploadParts(uid, uploadId);
  }

  minimumLease(): Promise<number | undefined> {
    return this.indexes.minimumLease();
  }

  putLogEntry(entry: LogEntry): Promise<WriteCost> {
    return this.log.putLogEntry(entry);
  }

  getLogEntries(uid: string, chainStart: number, head: EntryKey, consistent: boolean): Promise<LogEntry[]> {
    return this.log.getLogEntries(uid, chainStart, head, consistent);
  }

  findLogVersion(uid: string, nodeStatusVersion: string): Promise<LogVersionRef[]> {
    return this.log.findLogVersion(uid, nodeStatusVersion);
  }

  listLogVersions(uid: string, limit: number): Promise<VersionSummary[]> {
    return this.log.listLogVersions(uid, limit);
  }

  renewLogItems(
    uid: string,
    entries: readonly EntryKey[],
    expiresAt: number,
  ): Promise<WriteCost & { missing: number }> {
    return this.log.renewLogItems(uid, entries, expiresAt);
  }
}
