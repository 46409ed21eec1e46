/**
 * An in-memory adapter of the storage port, for fast domain tests and for
 * trying the service without a database. It keeps the same contract as the
 * DynamoDB adapter (the port contract suite runs on both): a conditional
 * commit on the record, immutable content-addressed chunks whose lease only
 * ever grows, manifests whole or as a delta of a full base, history entries
 * newest first, the namespace listing and the lease index with page tokens.
 *
 * Items carry `expiresAt` as in DynamoDB, and nothing is removed until
 * {@link MemoryStore.expire} plays DynamoDB's TTL sweep. Write costs follow
 * DynamoDB's rule of one write unit per started KB, from the stored bytes
 * plus an allowance for keys and attributes; they are estimates, not the
 * byte-exact figures of the DynamoDB adapter.
 */
import { ValidationError } from './errors.ts';
import type {
  ChunkRef,
  EntryKey,
  FetchedChunk,
  LeaseEntry,
  LogEntry,
  LogVersionRef,
  Manifest,
  ManifestChunk,
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
} from './store.ts';

/** Keys and attribute names of an item, roughly as DynamoDB counts them. */
const itemOverheadBytes = 100;

const costOf = (payloadBytes: readonly number[]): WriteCost => ({
  items: payloadBytes.length,
  bytes: payloadBytes.reduce((sum, bytes) => sum + bytes + itemOverheadBytes, 0),
  writeUnits: payloadBytes.reduce(
    (sum, bytes) => sum + Math.max(1, Math.ceil((bytes + itemOverheadBytes) / 1024)),
    0,
  ),
});

const nothing: WriteCost = { items: 0, bytes: 0, writeUnits: 0 };

type ManifestFields = Omit<Manifest, 'chunks' | 'base' | 'parentVersion'>;

type ManifestItem =
  | {
      readonly kind: 'full';
      readonly fields: ManifestFields;
      readonly chunks: readonly ManifestChunk[];
      expiresAt: number;
    }
  | {
      readonly kind: 'delta';
      readonly fields: ManifestFields;
      readonly base: string;
      readonly changed: ReadonlyMap<number, ManifestChunk>;
      expiresAt: number;
    };

interface HistoryItem {
  readonly summary: VersionSummary;
  expiresAt: number;
}

interface ChunkItem {
  readonly codec: string;
  readonly data: Uint8Array;
  expiresAt: number;
}

interface LogItem {
  readonly entry: LogEntry;
  expiresAt: number;
}

/** Key order of log entries, as the DynamoDB sort key (zero-padded sequence number, then tag) orders them. */
const entryOrder = (a: EntryKey, b: EntryKey): number =>
  a.seq - b.seq || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0);
const entryId = (key: EntryKey): string => `${key.seq}#${key.tag}`;

interface Workflow {
  /** Log entries by `seq#tag`. */
  readonly log: Map<string, LogItem>;
  readonly manifests: Map<string, ManifestItem>;
  /** By `createdAt#version`, as the DynamoDB history sort key orders them. */
  readonly history: Map<string, HistoryItem>;
  /** By `chunkId` or `chunkId#part`. */
  readonly chunks: Map<string, ChunkItem>;
  readonly uploads: Map<string, Upload & { expiresAt: number }>;
  /** By upload id, then part number. */
  readonly uploadParts: Map<string, Map<number, UploadPart & { expiresAt: number }>>;
}

const chunkKeys = (ref: ChunkRef): string[] =>
  ref.parts <= 1 ? [ref.chunkId] : Array.from({ length: ref.parts }, (_, part) => `${ref.chunkId}#${part}`);

const encodeToken = (value: unknown): string =>
  Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

function decodeToken<T>(token: string, valid: (value: unknown) => value is T): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!valid(parsed)) {
    throw new ValidationError('the `next` token is not one this service issued; start from the first page');
  }
  return parsed;
}

const isNamespaceToken = (value: unknown): value is { namespace: string; after: string } =>
  value !== null &&
  typeof value === 'object' &&
  typeof (value as { namespace?: unknown }).namespace === 'string' &&
  typeof (value as { after?: unknown }).after === 'string' &&
  Object.keys(value).length === 2;

const isLeaseToken = (value: unknown): value is { lease: number; uid: string } =>
  value !== null &&
  typeof value === 'object' &&
  typeof (value as { lease?: unknown }).lease === 'number' &&
  typeof (value as { uid?: unknown }).uid === 'string' &&
  Object.keys(value).length === 2;

const summaryOf = (record: WorkflowRecord): WorkflowSummary => {
  const {
    inline: _inline,
    leaseExpiresAt: _lease,
    codec: _codec,
    previousNodeStatusVersion: _previous,
    log: _log,
    ...summary
  } = record;
  return summary;
};

export class MemoryStore implements WorkflowStore {
  private readonly records = new Map<string, WorkflowRecord>();
  private readonly workflows = new Map<string, Workflow>();

  private workflow(uid: string): Workflow {
    let found = this.workflows.get(uid);
    if (!found) {
      found = {
        log: new Map(),
        manifests: new Map(),
        history: new Map(),
        chunks: new Map(),
        uploads: new Map(),
        uploadParts: new Map(),
      };
      this.workflows.set(uid, found);
    }
    return found;
  }

  /**
   * Plays DynamoDB's TTL: removes every item of the versions side whose
   * `expiresAt` is before `nowSeconds`. Records have no TTL. Returns how many
   * items went.
   */
  expire(nowSeconds: number): number {
    let removed = 0;
    for (const workflow of this.workflows.values()) {
      for (const items of [workflow.manifests, workflow.history, workflow.chunks, workflow.log] as Map<
        string,
        { expiresAt: number }
      >[]) {
        for (const [key, item] of items) {
          if (item.expiresAt < nowSeconds) {
            items.delete(key);
            removed++;
          }
        }
      }
      for (const [uploadId, upload] of workflow.uploads) {
        if (upload.expiresAt < nowSeconds) {
          workflow.uploads.delete(uploadId);
          removed++;
        }
      }
      for (const parts of workflow.uploadParts.values()) {
        for (const [number, part] of parts) {
          if (part.expiresAt < nowSeconds) {
            parts.delete(number);
            removed++;
          }
        }
      }
    }
    return removed;
  }

  async getRecord(uid: string): Promise<WorkflowRecord | undefined> {
    const record = this.records.get(uid);
    return record ? structuredClone(record) : undefined;
  }

  async commitRecord(
    record: WorkflowRecord,
    expectedResourceVersion: number | undefined,
  ): Promise<WriteCost | 'conflict'> {
    const current = this.records.get(record.uid);
    if (
      expectedResourceVersion === undefined
        ? current !== undefined
        : current?.resourceVersion !== expectedResourceVersion
    ) {
      return 'conflict';
    }
    this.records.set(record.uid, structuredClone(record));
    return costOf([
      JSON.stringify(summaryOf(record)).length + (record.inline ?? []).reduce((sum, b) => sum + b.length, 0),
    ]);
  }

  async deleteRecord(uid: string): Promise<boolean> {
    return this.records.delete(uid);
  }

  async renewRecordLease(uid: string, nodeStatusVersion: string, leaseExpiresAt: number): Promise<boolean> {
    const record = this.records.get(uid);
    if (
      !record ||
      record.nodeStatusVersion !== nodeStatusVersion ||
      !(record.leaseExpiresAt < leaseExpiresAt)
    ) {
      return false;
    }
    this.records.set(uid, { ...record, leaseExpiresAt });
    return true;
  }

  async getManifest(uid: string, nodeStatusVersion: string): Promise<Manifest | undefined> {
    const item = this.workflows.get(uid)?.manifests.get(nodeStatusVersion);
    if (!item) return undefined;
    if (item.kind === 'full') return this.fullManifest(item);
    const baseItem = this.workflows.get(uid)?.manifests.get(item.base);
    // A base is always a full manifest (a delta is never stored over one).
    if (baseItem?.kind !== 'full') return undefined;
    const base = this.fullManifest(baseItem);
    const chunks = [...base.chunks];
    for (const [index, chunk] of item.changed) chunks[index] = { ...chunk };
    return { ...structuredClone(item.fields), expiresAt: item.expiresAt, chunks, base };
  }

  private fullManifest(item: ManifestItem & { kind: 'full' }): Manifest {
    return {
      ...structuredClone(item.fields),
      expiresAt: item.expiresAt,
      chunks: item.chunks.map((chunk) => ({ ...chunk })),
    };
  }

  async putManifest(manifest: Manifest, delta?: ManifestDelta): Promise<WriteCost & { stored: boolean }> {
    const workflow = this.workflow(manifest.uid);
    const { chunks, base: _base, parentVersion, ...fields } = structuredClone(manifest);
    workflow.history.set(`${manifest.createdAt}#${manifest.nodeStatusVersion}`, {
      summary: {
        nodeStatusVersion: manifest.nodeStatusVersion,
        createdAt: manifest.createdAt,
        expiresAt: manifest.expiresAt,
        nodeCount: manifest.nodeCount,
        storedBytes: manifest.storedBytes,
        ...(manifest.phaseCounts === undefined ? {} : { phaseCounts: manifest.phaseCounts }),
        ...(parentVersion === undefined ? {} : { parentVersion }),
      },
      expiresAt: manifest.expiresAt,
    });
    const historyBytes = 150;
    const inlineBytes = (manifest.inline ?? []).reduce((sum, part) => sum + part.length, 0);
    if (!delta) {
      workflow.manifests.set(manifest.nodeStatusVersion, {
        kind: 'full',
        fields,
        chunks,
        expiresAt: manifest.expiresAt,
      });
      return { ...costOf([historyBytes, chunks.length * 44 + inlineBytes]), stored: true };
    }
    const existing = workflow.manifests.get(manifest.nodeStatusVersion);
    if (existing?.kind === 'full') return { ...costOf([historyBytes]), stored: false };
    workflow.manifests.set(manifest.nodeStatusVersion, {
      kind: 'delta',
      fields,
      base: delta.base.nodeStatusVersion,
      changed: new Map(delta.changedIndexes.map((index) => [index, { ...(chunks[index] as ManifestChunk) }])),
      expiresAt: manifest.expiresAt,
    });
    return { ...costOf([historyBytes, delta.changedIndexes.length * 48 + inlineBytes]), stored: true };
  }

  async extendManifestLease(
    uid: string,
    nodeStatusVersion: string,
    expiresAt: number,
  ): Promise<WriteCost | undefined> {
    const item = this.workflows.get(uid)?.manifests.get(nodeStatusVersion);
    if (!item) return undefined;
    return this.extend(item, expiresAt, 200);
  }

  async renewManifest(manifest: Manifest, expiresAt: number): Promise<WriteCost | undefined> {
    const costs: WriteCost[] = [];
    if (manifest.base) {
      const base = await this.extendManifestLease(manifest.uid, manifest.base.nodeStatusVersion, expiresAt);
      if (!base) return undefined;
      costs.push(base);
    }
    const own = await this.extendManifestLease(manifest.uid, manifest.nodeStatusVersion, expiresAt);
    if (!own) return undefined;
    costs.push(own);
    const history = this.workflows
      .get(manifest.uid)
      ?.history.get(`${manifest.createdAt}#${manifest.nodeStatusVersion}`);
    if (history) costs.push(this.extend(history, expiresAt, 150));
    return costs.reduce(
      (sum, cost) => ({
        items: sum.items + cost.items,
        bytes: sum.bytes + cost.bytes,
        writeUnits: sum.writeUnits + cost.writeUnits,
      }),
      nothing,
    );
  }

  /** Raises a lease, never lowers it. */
  private extend(item: { expiresAt: number }, expiresAt: number, bytes: number): WriteCost {
    if (!(item.expiresAt < expiresAt)) return nothing;
    item.expiresAt = expiresAt;
    return costOf([bytes]);
  }

  async listVersions(uid: string, limit: number): Promise<VersionSummary[]> {
    const history = this.workflows.get(uid)?.history;
    if (!history) return [];
    return [...history.entries()]
      .sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0))
      .slice(0, limit)
      .map(([, item]) => ({ ...item.summary, expiresAt: item.expiresAt }));
  }

  async getChunks(
    uid: string,
    refs: readonly ChunkRef[],
  ): Promise<{ found: Map<string, FetchedChunk>; missing: string[] }> {
    const chunks = this.workflows.get(uid)?.chunks;
    const found = new Map<string, FetchedChunk>();
    const missing: string[] = [];
    for (const ref of refs) {
      const parts = chunkKeys(ref).map((key) => chunks?.get(key));
      if (parts.some((part) => part === undefined)) {
        missing.push(ref.chunkId);
        continue;
      }
      const items = parts as ChunkItem[];
      found.set(ref.chunkId, {
        codec: (items[0] as ChunkItem).codec,
        data:
          items.length === 1 ? (items[0] as ChunkItem).data : Buffer.concat(items.map((item) => item.data)),
      });
    }
    return { found, missing };
  }

  async putChunks(uid: string, chunks: readonly StoredChunk[], expiresAt: number): Promise<WriteCost> {
    const stored = this.workflow(uid).chunks;
    const sizes: number[] = [];
    for (const chunk of chunks) {
      chunkKeys({ chunkId: chunk.chunkId, parts: chunk.parts.length }).forEach((key, part) => {
        const data = chunk.parts[part] as Uint8Array;
        // Immutable content: putting it again only sets its lease, as a DynamoDB put of the same item does.
        stored.set(key, { codec: chunk.codec, data: Uint8Array.from(data), expiresAt });
        sizes.push(data.length);
      });
    }
    return costOf(sizes);
  }

  async renewChunks(
    uid: string,
    refs: readonly ChunkRef[],
    expiresAt: number,
  ): Promise<WriteCost & { missing: string[] }> {
    const chunks = this.workflows.get(uid)?.chunks;
    const missing = new Set<string>();
    let cost = nothing;
    for (const ref of refs) {
      for (const key of chunkKeys(ref)) {
        const item = chunks?.get(key);
        if (!item) {
          missing.add(ref.chunkId);
          continue;
        }
        const extended = this.extend(item, expiresAt, item.data.length);
        cost = {
          items: cost.items + extended.items,
          bytes: cost.bytes + extended.bytes,
          writeUnits: cost.writeUnits + extended.writeUnits,
        };
      }
    }
    return { ...cost, missing: [...missing] };
  }

  async listRecords(namespace: string, limit: number, cursor?: string): Promise<Page<WorkflowSummary>> {
    const after = cursor === undefined ? undefined : decodeToken(cursor, isNamespaceToken);
    if (after && after.namespace !== namespace) {
      throw new ValidationError('the `next` token belongs to another namespace; start from the first page');
    }
    const sortKey = (record: WorkflowRecord) => `${record.name}#${record.uid}`;
    const all = [...this.records.values()]
      .filter((record) => record.namespace === namespace)
      .sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0))
      .filter((record) => after === undefined || sortKey(record) > after.after);
    const page = all.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((record) => structuredClone(summaryOf(record))),
      ...(all.length > limit && last ? { next: encodeToken({ namespace, after: sortKey(last) }) } : {}),
    };
  }

  async findShortLeases(before: number, limit: number, cursor?: string): Promise<Page<LeaseEntry>> {
    const after = cursor === undefined ? undefined : decodeToken(cursor, isLeaseToken);
    const ordered = (a: LeaseEntry, b: LeaseEntry) =>
      a.leaseExpiresAt - b.leaseExpiresAt || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0);
    const all = [...this.records.values()]
      .filter((record) => record.leaseExpiresAt < before)
      .map((record) => ({ uid: record.uid, leaseExpiresAt: record.leaseExpiresAt }))
      .sort(ordered)
      .filter(
        (entry) => after === undefined || ordered(entry, { uid: after.uid, leaseExpiresAt: after.lease }) > 0,
      );
    const page = all.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page,
      ...(all.length > limit && last
        ? { next: encodeToken({ lease: last.leaseExpiresAt, uid: last.uid }) }
        : {}),
    };
  }

  async putUpload(upload: Upload): Promise<WriteCost> {
    this.workflow(upload.uid).uploads.set(upload.uploadId, structuredClone(upload));
    return costOf([200]);
  }

  async getUpload(uid: string, uploadId: string): Promise<Upload | undefined> {
    const upload = this.workflows.get(uid)?.uploads.get(uploadId);
    return upload ? structuredClone(upload) : undefined;
  }

  async putUploadPart(uid: string, uploadId: string, part: UploadPart): Promise<WriteCost> {
    const all = this.workflow(uid).uploadParts;
    let parts = all.get(uploadId);
    if (!parts) {
      parts = new Map();
      all.set(uploadId, parts);
    }
    parts.set(part.partNumber, structuredClone(part));
    return costOf([part.buckets.length * 56]);
  }

  async listUploadParts(uid: string, uploadId: string): Promise<UploadPart[]> {
    const parts = this.workflows.get(uid)?.uploadParts.get(uploadId);
    return [...(parts?.values() ?? [])]
      .sort((a, b) => a.partNumber - b.partNumber)
      .map((part) => structuredClone(part));
  }

  async putLogEntry(entry: LogEntry): Promise<WriteCost> {
    const workflow = this.workflow(entry.uid);
    workflow.log.set(entryId(entry.key), {
      entry: { ...entry, data: Uint8Array.from(entry.data) },
      expiresAt: entry.expiresAt,
    });
    return costOf([entry.data.length + 200]);
  }

  async getLogEntries(
    uid: string,
    chainStart: number,
    head: EntryKey,
    _consistent = true,
  ): Promise<LogEntry[]> {
    const log = this.workflows.get(uid)?.log;
    return [...(log?.values() ?? [])]
      .filter(({ entry }) => entry.key.seq >= chainStart && entryOrder(entry.key, head) <= 0)
      .sort((a, b) => entryOrder(a.entry.key, b.entry.key))
      .map(({ entry, expiresAt }) => ({ ...entry, expiresAt, data: Uint8Array.from(entry.data) }));
  }

  async findLogVersion(uid: string, nodeStatusVersion: string): Promise<LogVersionRef[]> {
    const log = this.workflows.get(uid)?.log;
    return [...(log?.values() ?? [])]
      .filter(({ entry }) => entry.nodeStatusVersion === nodeStatusVersion)
      .sort((a, b) => entryOrder(b.entry.key, a.entry.key))
      .map(({ entry, expiresAt }) => ({
        nodeStatusVersion,
        key: { ...entry.key },
        chainStart: entry.chainStart,
        expiresAt,
      }));
  }

  async listLogVersions(uid: string, limit: number): Promise<VersionSummary[]> {
    const log = this.workflows.get(uid)?.log;
    return [...(log?.values() ?? [])]
      .sort((a, b) => entryOrder(b.entry.key, a.entry.key))
      .slice(0, limit)
      .map(({ entry, expiresAt }) => ({
        nodeStatusVersion: entry.nodeStatusVersion,
        createdAt: entry.createdAt,
        expiresAt,
        nodeCount: entry.nodeCount,
        storedBytes: entry.storedBytes,
        ...(entry.phaseCounts === undefined ? {} : { phaseCounts: entry.phaseCounts }),
        ...(entry.parentVersion === undefined ? {} : { parentVersion: entry.parentVersion }),
      }));
  }

  async renewLogItems(
    uid: string,
    entries: readonly EntryKey[],
    expiresAt: number,
  ): Promise<WriteCost & { missing: number }> {
    const workflow = this.workflows.get(uid);
    let missing = 0;
    const costs: WriteCost[] = [];
    for (const key of entries) {
      const item = workflow?.log.get(entryId(key));
      if (item) costs.push(this.extend(item, expiresAt, item.entry.data.length + 200));
      else missing++;
    }
    return {
      items: costs.reduce((sum, cost) => sum + cost.items, 0),
      bytes: costs.reduce((sum, cost) => sum + cost.bytes, 0),
      writeUnits: costs.reduce((sum, cost) => sum + cost.writeUnits, 0),
      missing,
    };
  }

  async minimumLease(): Promise<number | undefined> {
    let minimum: number | undefined;
    for (const record of this.records.values()) {
      if (minimum === undefined || record.leaseExpiresAt < minimum) minimum = record.leaseExpiresAt;
    }
    return minimum;
  }
}
