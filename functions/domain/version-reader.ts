/**
 * Reading a version: where its buckets live and the decoded buckets, all or
 * some. A version is stored in one of three ways:
 *
 * - inline in the record (and in its manifest), when it is small;
 * - in the chunk layout: a manifest listing one chunk per bucket;
 * - in the log layout: a log entry, its parents back to the base of its
 *   chain (a snapshot of pages, or a chunk-layout version), each delta in
 *   the chain carrying the nodes it changed (`log-codec.ts`).
 *
 * Readers follow the pointer they read and never filter by `expiresAt`
 * (invariant 4); a missing item of a version the record points at is a
 * VersionMissingError, never an empty node map.
 */
import { bucketOf, decodeChunk, inflateWith, pageSlices } from './codec.ts';
import { VersionMissingError, VersionNotFoundError, WorkflowNotFoundError } from './errors.ts';
import {
  applyStoredChangeTo,
  type BucketInfo,
  type PageRef,
  type SnapshotTables,
  unpackDeltaBuckets,
  unpackDeltaChange,
  unpackSnapshot,
} from './log-codec.ts';
import type { NodeChange, NodeMap } from './nodes.ts';
import { epochSeconds } from './retention.ts';
import type {
  ChunkRef,
  EntryKey,
  FetchedChunk,
  LogEntry,
  Manifest,
  ManifestChunk,
  WorkflowRecord,
  WorkflowStore,
} from './store.ts';

export type { BucketInfo };

/** A log-layout version as located: its chain, its base, and each bucket's chunk id. */
export interface LoadedLog {
  readonly head: LogEntry;
  /** The chain's deltas after its base, oldest first (the head last, when it is a delta). */
  readonly deltas: readonly LogEntry[];
  /** The base, when it is a snapshot entry. */
  readonly snapshot?: { readonly entry: LogEntry; readonly tables: SnapshotTables };
  /** The base, when it is a version of the chunk layout. */
  readonly manifestBase?: Manifest;
  /** Stored bytes of the deltas' items: what every read of the chain reads. */
  readonly deltaBytes: number;
  /** Stored bytes of the base (pages or chunks). */
  readonly baseBytes: number;
  /** Each delta's changed buckets, in chain order (what decides whether a read needs its nodes). */
  readonly changedBuckets: ReadonlyMap<LogEntry, ReadonlySet<number>>;
  /** Each delta's node change, decoded once per located version, when a read needed it. */
  readonly changes: Map<LogEntry, NodeChange>;
}

/** A version as located: where its buckets live. */
export interface LoadedVersion {
  /** True when the record points at this version. */
  readonly current: boolean;
  readonly manifest?: Manifest;
  readonly inline?: readonly Uint8Array[];
  readonly log?: LoadedLog;
  readonly codec: string;
  readonly bucketCount: number;
  /** What is known of each bucket without reading it; absent for an inline version. */
  readonly buckets?: readonly BucketInfo[];
}

/** One decoded bucket: a fresh copy the caller may change, with its sizes. */
export interface DecodedBucket {
  readonly nodes: NodeMap;
  readonly rawBytes: number;
  readonly storedBytes: number;
}

export const entryKeyText = (key: EntryKey): string => `${key.seq}#${key.tag}`;

/** A chunk-layout version as located. */
export const manifestVersion = (manifest: Manifest, current: boolean): LoadedVersion => ({
  current,
  manifest,
  ...(manifest.inline ? { inline: manifest.inline } : {}),
  codec: manifest.codec,
  bucketCount: manifest.bucketCount,
  ...(manifest.inline ? {} : { buckets: manifest.chunks }),
});

/** The entries of a version's chain, from `head` back to its base, oldest first; undefined if one is missing. */
function chainOf(entries: readonly LogEntry[], head: EntryKey): LogEntry[] | undefined {
  const byKey = new Map(entries.map((entry) => [entryKeyText(entry.key), entry]));
  const chain: LogEntry[] = [];
  let key: EntryKey | undefined = head;
  while (key) {
    const entry = byKey.get(entryKeyText(key));
    if (!entry) return undefined;
    chain.push(entry);
    if (entry.kind === 'snapshot') break;
    key = entry.parent;
  }
  return chain.reverse();
}

export class VersionReader {
  constructor(
    readonly store: WorkflowStore,
    private readonly now: () => number,
  ) {}

  async requireRecord(uid: string): Promise<WorkflowRecord> {
    const record = await this.store.getRecord(uid);
    if (!record) throw new WorkflowNotFoundError(uid);
    return record;
  }

  /** Where a version's buckets live: inline in the record, behind its manifest, or in a log chain. */
  async locate(record: WorkflowRecord, nodeStatusVersion: string): Promise<LoadedVersion> {
    const current = nodeStatusVersion === record.nodeStatusVersion;
    if (current && record.inline) {
      return { current: true, inline: record.inline, codec: record.codec, bucketCount: record.inline.length };
    }
    if (current && record.log) {
      const loaded = await this.loadLog(record.uid, record.log.head, record.log.chainStart, true);
      if (loaded === 'missing') throw new VersionMissingError(record.uid, nodeStatusVersion, []);
      return loaded;
    }
    if (current) {
      const manifest = await this.store.getManifest(record.uid, nodeStatusVersion);
      // The record points here, so this is data loss, not a bad id.
      if (!manifest) throw new VersionMissingError(record.uid, nodeStatusVersion, []);
      return manifestVersion(manifest, true);
    }
    // An earlier version is most often on the current chain, which a commit on
    // it reads anyway, else on one of the chains before it, walked back one by
    // one; a version behind a change of layout is found among every log entry.
    const [walked, manifest] = await Promise.all([
      record.log ? this.walkChains(record.uid, record.log, nodeStatusVersion) : ('search' as const),
      this.store.getManifest(record.uid, nodeStatusVersion),
    ]);
    if (typeof walked === 'object') return walked;
    if (manifest) return manifestVersion(manifest, false);
    if (walked === 'search') {
      for (const ref of await this.store.findLogVersion(record.uid, nodeStatusVersion)) {
        const loaded = await this.loadLog(record.uid, ref.key, ref.chainStart, false);
        if (loaded !== 'missing') return loaded;
      }
    }
    throw new VersionNotFoundError(record.uid, nodeStatusVersion);
  }

  /**
   * The chain of `head`, oldest first, read eventually consistently first:
   * entries are immutable, so such a read can miss one written just before a
   * commit, never return a wrong one; it is read again consistently then.
   */
  private async chainTo(uid: string, head: EntryKey, chainStart: number): Promise<LogEntry[] | undefined> {
    return (
      chainOf(await this.store.getLogEntries(uid, chainStart, head, false), head) ??
      chainOf(await this.store.getLogEntries(uid, chainStart, head, true), head)
    );
  }

  /**
   * A version on the current chain or on one before it (committed versions,
   * so a version's own chain is a prefix of the one it is found on), walking
   * back through each snapshot's link to the chain it folded. 'gone' when the
   * walk reached the workflow's first version or a chain TTL removed;
   * 'search' when it reached a chain with no link (a change of layout before
   * it), behind which the version may still be.
   */
  private async walkChains(
    uid: string,
    current: NonNullable<WorkflowRecord['log']>,
    nodeStatusVersion: string,
  ): Promise<LoadedVersion | 'gone' | 'search'> {
    let link: NonNullable<LogEntry['previousChain']> | undefined = current;
    while (link) {
      const chain = await this.chainTo(uid, link.head, link.chainStart);
      if (!chain) return 'gone';
      const at = chain.findLastIndex((entry) => entry.nodeStatusVersion === nodeStatusVersion);
      if (at >= 0) {
        const loaded = await this.fromChain(uid, chain.slice(0, at + 1), false);
        return loaded === 'missing' ? 'gone' : loaded;
      }
      const first = chain[0] as LogEntry;
      if (first.kind === 'snapshot' && first.parentVersion === undefined) return 'gone';
      link = first.kind === 'snapshot' ? first.previousChain : undefined;
    }
    return 'search';
  }

  /** A log-layout version from its head entry, or 'missing' when an item of it is gone. */
  private async loadLog(
    uid: string,
    head: EntryKey,
    chainStart: number,
    current: boolean,
  ): Promise<LoadedVersion | 'missing'> {
    const chain = await this.chainTo(uid, head, chainStart);
    return chain ? this.fromChain(uid, chain, current) : 'missing';
  }

  /** A log-layout version from its chain, oldest first; 'missing' when its chunk-layout base is gone. */
  private async fromChain(
    uid: string,
    chain: readonly LogEntry[],
    current: boolean,
  ): Promise<LoadedVersion | 'missing'> {
    const first = chain[0] as LogEntry;
    const headEntry = chain.at(-1) as LogEntry;
    const deltas = chain.filter((entry) => entry.kind === 'delta');
    let buckets: BucketInfo[];
    let snapshot: LoadedLog['snapshot'];
    let manifestBase: Manifest | undefined;
    let baseBytes: number;
    if (first.kind === 'snapshot') {
      const tables = unpackSnapshot(first.data);
      snapshot = { entry: first, tables };
      buckets = [...tables.buckets];
      baseBytes = tables.pages.reduce((sum, page) => sum + page.storedBytes, 0) + first.data.length;
    } else {
      const base = first.base;
      if (base?.kind !== 'manifest') return 'missing';
      manifestBase = await this.store.getManifest(uid, base.nodeStatusVersion);
      if (!manifestBase || manifestBase.inline) return 'missing';
      buckets = [...manifestBase.chunks];
      baseBytes = manifestBase.storedBytes;
    }
    let deltaBytes = 0;
    const changedBuckets = new Map<LogEntry, Set<number>>();
    for (const delta of deltas) {
      deltaBytes += delta.data.length;
      const indexes = new Set<number>();
      for (const changed of unpackDeltaBuckets(delta.data)) {
        const { index, ...info } = changed;
        const estimate = buckets[index]?.storedBytes ?? 0;
        buckets[index] = { ...info, storedBytes: estimate };
        indexes.add(index);
      }
      changedBuckets.set(delta, indexes);
    }
    const log: LoadedLog = {
      head: headEntry,
      deltas,
      ...(snapshot ? { snapshot } : {}),
      ...(manifestBase ? { manifestBase } : {}),
      deltaBytes,
      baseBytes,
      changedBuckets,
      changes: new Map(),
    };
    return { current, log, codec: headEntry.codec, bucketCount: headEntry.bucketCount, buckets };
  }

  /** Decoded buckets of a located version, all or the given indexes. */
  async readBuckets(
    uid: string,
    nodeStatusVersion: string,
    version: LoadedVersion,
    indexes?: readonly number[],
  ): Promise<Map<number, DecodedBucket>> {
    const wanted = indexes ?? Array.from({ length: version.bucketCount }, (_, index) => index);
    const out = new Map<number, DecodedBucket>();
    if (version.inline) {
      for (const index of wanted) {
        const data = version.inline[index] as Uint8Array;
        out.set(index, { ...decodeChunk(version.codec, data), storedBytes: data.length });
      }
      return out;
    }
    if (version.log) return this.readLogBuckets(uid, nodeStatusVersion, version, version.log, wanted);
    const manifest = version.manifest as Manifest;
    const refs = wanted.map((index) => manifest.chunks[index] as ManifestChunk);
    const found = await this.fetchChunks(uid, nodeStatusVersion, version, refs);
    for (const index of wanted) {
      const chunkId = (manifest.chunks[index] as ManifestChunk).chunkId;
      const chunk = found.get(chunkId);
      if (!chunk) throw new VersionMissingError(uid, nodeStatusVersion, [chunkId]);
      // Each bucket gets its own decoded copy: callers modify them.
      out.set(index, { ...decodeChunk(chunk.codec, chunk.data), storedBytes: chunk.data.length });
    }
    return out;
  }

  /** Every node of a version, current or superseded within retention. */
  async readAllNodes(record: WorkflowRecord, nodeStatusVersion: string): Promise<NodeMap> {
    const version = await this.locate(record, nodeStatusVersion);
    if (version.log?.snapshot) return this.readLogMap(record.uid, nodeStatusVersion, version, version.log);
    const buckets = await this.readBuckets(record.uid, nodeStatusVersion, version);
    if (buckets.size === 1) return (buckets.values().next().value as DecodedBucket).nodes;
    const nodes: NodeMap = {};
    for (const bucket of buckets.values()) Object.assign(nodes, bucket.nodes);
    return nodes;
  }

  /** Chunks by id; a missing one is an expired superseded version (404) or data loss. */
  private async fetchChunks(
    uid: string,
    nodeStatusVersion: string,
    version: LoadedVersion,
    refs: readonly ChunkRef[],
  ): Promise<Map<string, FetchedChunk>> {
    const unique = [...new Map(refs.map((ref) => [ref.chunkId, ref])).values()];
    const { found, missing } = await this.store.getChunks(uid, unique);
    if (missing.length > 0) {
      if (!version.current && leaseOf(version) <= epochSeconds(this.now())) {
        throw new VersionNotFoundError(uid, nodeStatusVersion);
      }
      throw new VersionMissingError(uid, nodeStatusVersion, missing);
    }
    return found;
  }

  /** The base's content of the wanted buckets, then every delta of the chain applied in order. */
  private async readLogBuckets(
    uid: string,
    nodeStatusVersion: string,
    version: LoadedVersion,
    log: LoadedLog,
    wanted: readonly number[],
  ): Promise<Map<number, DecodedBucket>> {
    const nodesOf = new Map<number, NodeMap>();
    // A chunk-layout base knows no canonical sizes: its decoded chunks tell them.
    const baseRawBytes = new Map<number, number>();
    if (log.snapshot) {
      const { pages } = log.snapshot.tables;
      const pageOf = (index: number) => findPage(pages, index);
      const needed = [...new Set(wanted.map(pageOf))];
      const found = await this.fetchChunks(uid, nodeStatusVersion, version, needed);
      const wantedSet = new Set(wanted);
      for (const page of needed) {
        const chunk = found.get(page.chunkId) as FetchedChunk;
        const raw = inflateWith(chunk.codec, chunk.data);
        const { slices, pageBytes } = pageSlices(sizesOf(log.snapshot.tables, page));
        if (pageBytes !== raw.length) throw new VersionMissingError(uid, nodeStatusVersion, [page.chunkId]);
        slices.forEach(({ start, end }, position) => {
          const index = page.firstBucket + position;
          if (wantedSet.has(index)) {
            nodesOf.set(index, JSON.parse(`{${raw.toString('utf8', start, end)}}`) as NodeMap);
          }
        });
      }
    } else {
      const manifest = log.manifestBase as Manifest;
      const refs = wanted.map((index) => manifest.chunks[index] as ManifestChunk);
      const found = await this.fetchChunks(uid, nodeStatusVersion, version, refs);
      for (const index of wanted) {
        const chunk = found.get((manifest.chunks[index] as ManifestChunk).chunkId) as FetchedChunk;
        const decoded = decodeChunk(chunk.codec, chunk.data);
        nodesOf.set(index, decoded.nodes);
        baseRawBytes.set(index, decoded.rawBytes);
      }
    }
    // A delta's node change touches only its changed buckets: one that changed none of the
    // wanted ones is not even inflated.
    const { bucketCount } = version;
    for (const delta of log.deltas) {
      const changed = log.changedBuckets.get(delta);
      if (changed && !wanted.some((index) => changed.has(index))) continue;
      applyStoredChangeTo(this.changeOf(log, delta), (id) => nodesOf.get(bucketOf(id, bucketCount)));
    }
    const out = new Map<number, DecodedBucket>();
    for (const index of wanted) {
      const info = version.buckets?.[index];
      out.set(index, {
        nodes: nodesOf.get(index) as NodeMap,
        rawBytes: info?.rawBytes ?? baseRawBytes.get(index) ?? 0,
        storedBytes: info?.storedBytes ?? 0,
      });
    }
    return out;
  }

  /**
   * A whole log-layout version, a page at a time: each page's text is one
   * JSON object (`compressPage`), parsed whole and merged, then each delta
   * applied. Parsing 1,024 buckets one by one and merging them costs about a
   * third more.
   */
  private async readLogMap(
    uid: string,
    nodeStatusVersion: string,
    version: LoadedVersion,
    log: LoadedLog,
  ): Promise<NodeMap> {
    const { tables } = log.snapshot as NonNullable<LoadedLog['snapshot']>;
    const found = await this.fetchChunks(uid, nodeStatusVersion, version, tables.pages);
    let nodes: NodeMap = {};
    for (const [position, page] of tables.pages.entries()) {
      const chunk = found.get(page.chunkId) as FetchedChunk;
      const raw = inflateWith(chunk.codec, chunk.data);
      if (pageSlices(sizesOf(tables, page)).pageBytes !== raw.length) {
        throw new VersionMissingError(uid, nodeStatusVersion, [page.chunkId]);
      }
      // Pages hold disjoint ids: the first parsed object takes the others' nodes.
      const pageNodes = JSON.parse(raw.toString('utf8')) as NodeMap;
      if (position === 0) nodes = pageNodes;
      else Object.assign(nodes, pageNodes);
    }
    for (const delta of log.deltas) applyStoredChangeTo(this.changeOf(log, delta), () => nodes);
    return nodes;
  }

  private changeOf(log: LoadedLog, delta: LogEntry): NodeChange {
    let change = log.changes.get(delta);
    if (!change) {
      change = unpackDeltaChange(delta.data, delta.codec);
      log.changes.set(delta, change);
    }
    return change;
  }
}

/** The canonical sizes of a page's buckets, in order. */
const sizesOf = (tables: SnapshotTables, page: PageRef): number[] =>
  tables.buckets
    .slice(page.firstBucket, page.firstBucket + page.bucketCount)
    .map((bucket) => bucket.rawBytes);

/** The page holding bucket `index` (pages cover consecutive buckets, in order). */
function findPage(pages: readonly PageRef[], index: number): PageRef {
  let low = 0;
  let high = pages.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if ((pages[middle] as PageRef).firstBucket <= index) low = middle;
    else high = middle - 1;
  }
  return pages[low] as PageRef;
}

/** The lowest lease any item of a located version had when it was written (epoch seconds). */
export function leaseOf(version: LoadedVersion): number {
  if (version.log) {
    const { log } = version;
    let lease = Math.min(...log.deltas.map((delta) => delta.expiresAt), log.head.expiresAt);
    if (log.snapshot) {
      lease = Math.min(lease, log.snapshot.entry.expiresAt);
      for (const page of log.snapshot.tables.pages) lease = Math.min(lease, page.leaseExpiresAt);
    }
    if (log.manifestBase) lease = Math.min(lease, manifestLease(log.manifestBase));
    return lease;
  }
  return version.manifest ? manifestLease(version.manifest) : Number.POSITIVE_INFINITY;
}

const manifestLease = (manifest: Manifest): number =>
  manifest.chunks.reduce(
    (min, chunk) => Math.min(min, chunk.leaseExpiresAt),
    Math.min(manifest.expiresAt, manifest.base?.expiresAt ?? manifest.expiresAt),
  );
