/**
 * Reads whose cost follows what is asked for: a version's nodes in pages
 * that each fit a response, all from one pinned version; and the node-level
 * change from a version the caller holds to a later one (set and remove, the
 * shape of a PATCH), found by comparing chunk ids first and reading only the
 * chunks that differ.
 */
import { bucketOf } from './codec.ts';
import { ValidationError, VersionGoneError, VersionNotFoundError } from './errors.ts';
import { type FieldChange, fieldChangeBetween, type JsonValue, type NodeMap } from './nodes.ts';
import type { Manifest, WorkflowRecord, WorkflowSummary } from './store.ts';
import { phaseBit, typeBit } from './summaries.ts';
import type { BucketInfo, DecodedBucket, LoadedVersion, VersionReader } from './version-reader.ts';

export interface NodePageRequest {
  readonly uid: string;
  /** The version to read; default the one the record points at. */
  readonly version?: string;
  /** Where `version` came from: a page token pins it, and an expired pinned version is gone (410), not unknown (404). */
  readonly pinned?: boolean;
  /** Return only the change since this version. */
  readonly since?: string;
  /** First bucket index of the page (from a page token). */
  readonly fromBucket?: number;
  /** Largest node JSON one page carries, uncompressed. */
  readonly budgetBytes: number;
  /** Only nodes of these phases, of these types, and under this node (itself included). */
  readonly filter?: NodeFilter;
  /**
   * Read as of this record (a stream image of it) instead of the one stored
   * now: the versions it names are read from their manifests, whether or
   * not the workflow has moved on or been deleted since.
   */
  readonly asOf?: WorkflowRecord;
}

export interface NodeFilter {
  readonly phases?: readonly string[];
  readonly types?: readonly string[];
  /** A node id: the node and every node reachable from it through `children`. */
  readonly under?: string;
}

export interface NodePage {
  /** The workflow as the record is now. */
  readonly workflow: WorkflowSummary;
  /** The version the page is from. */
  readonly nodeStatusVersion: string;
  readonly bucketCount: number;
  readonly codec: string;
  /** Set for a full read: the nodes of the buckets this page covers. */
  readonly nodes?: NodeMap;
  /** Set for a read since a version: nodes new or changed since it, and ids gone. */
  readonly change?: {
    readonly since: string;
    readonly set: NodeMap;
    readonly merge: Readonly<Record<string, FieldChange>>;
    readonly remove: string[];
    /** The same change node by node, for a person (a diff). */
    readonly entries: readonly DiffEntry[];
  };
  /** First bucket of the next page; absent on the last. */
  readonly nextBucket?: number;
  /** Chunks this page read (0 when the version is inline): what it cost. */
  readonly chunksRead: number;
}

/** Whether a node passes a filter's phases and types. */
function nodeMatcher(filter: NodeFilter | undefined): (node: NodeMap[string]) => boolean {
  const phases = filter?.phases ? new Set(filter.phases) : undefined;
  const types = filter?.types ? new Set(filter.types) : undefined;
  return (node) =>
    (phases === undefined || phases.has(typeof node.phase === 'string' ? node.phase : '')) &&
    (types === undefined || types.has(typeof node.type === 'string' ? node.type : ''));
}

/** Whether a bucket may hold a node the filter wants, by its masks (unknown masks: it may). */
function bucketMatcher(filter: NodeFilter | undefined): (chunk: BucketInfo | undefined) => boolean {
  const phaseBits = filter?.phases?.reduce((bits, phase) => bits | phaseBit(phase), 0);
  const typeBits = filter?.types?.reduce((bits, type) => bits | typeBit(type), 0);
  return (chunk) =>
    chunk === undefined ||
    ((phaseBits === undefined || chunk.phaseMask === undefined || (chunk.phaseMask & phaseBits) !== 0) &&
      (typeBits === undefined || chunk.typeMask === undefined || (chunk.typeMask & typeBits) !== 0));
}

/**
 * The same nodes, alike ones next to each other (by type, template and
 * name): buckets follow a hash of the id, which scatters the pods of one
 * step, and a compressor finds their repeats only within its window.
 * Measured on a 10,000-node map: 15% fewer gzip bytes, 7% fewer brotli.
 */
function alikeTogether(nodes: NodeMap): NodeMap {
  const text = (value: JsonValue | undefined) => (typeof value === 'string' ? value : '');
  const keyed = Object.entries(nodes).map(
    ([id, node]) =>
      [
        `${text(node.type)}\u0000${text(node.templateName)}\u0000${text(node.displayName)}`,
        id,
        node,
      ] as const,
  );
  keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const out: NodeMap = {};
  for (const [, id, node] of keyed) out[id] = node;
  return out;
}

/** Stored-to-raw ratio of a chunk-layout version, to estimate a bucket's JSON size before reading it. */
const expansion = (manifest: Manifest | undefined): number =>
  manifest && manifest.storedBytes > 0 ? Math.max(1, manifest.rawBytes / manifest.storedBytes) : 8;

/**
 * A bucket's JSON size before reading it: known in the log layout, estimated
 * from its chunk in the chunk layout (a log chain's base included).
 */
function bucketSize(version: LoadedVersion): (index: number) => number {
  const ratio = expansion(version.manifest ?? version.log?.manifestBase);
  return (index) => {
    const info = version.buckets?.[index];
    return info?.rawBytes ?? (info?.storedBytes ?? 0) * ratio;
  };
}

/** The indexes of `candidates` a page of `budgetBytes` may read, by estimated size (at least one). */
function estimatePage(
  candidates: readonly number[],
  estimatedBytes: (index: number) => number,
  budgetBytes: number,
): number[] {
  const page: number[] = [];
  let total = 0;
  for (const index of candidates) {
    const size = estimatedBytes(index);
    if (page.length > 0 && total + size > budgetBytes) break;
    page.push(index);
    total += size;
  }
  return page;
}

/** The old buckets whose nodes may now live in new bucket `index` (bucket counts are powers of two). */
const sourceBuckets = (index: number, newCount: number, oldCount: number): number[] =>
  newCount >= oldCount
    ? [index & (oldCount - 1)]
    : Array.from({ length: oldCount / newCount }, (_, step) => index + step * newCount);

/** Decoded from canonical text, values compare by their JSON. */
const sameJson = (a: JsonValue, b: JsonValue): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

/**
 * Node-level change from `before` to `after`: a changed node goes field by
 * field (`merge`) when that is smaller than the node, else whole (`set`).
 */
function diffBucket(before: NodeMap, after: NodeMap, change: MutableChange): void {
  for (const [id, node] of Object.entries(after)) {
    const old = before[id];
    if (old === undefined) {
      change.set[id] = node;
      change.entries.push(addedEntry(id, node));
    } else if (!sameJson(old, node)) {
      const fields = fieldChangeBetween(old, node, sameJson);
      if (fields) change.merge[id] = fields;
      else change.set[id] = node;
      const changedFields = [
        ...Object.keys(node).filter(
          (key) => !Object.hasOwn(old, key) || !sameJson(old[key] as JsonValue, node[key] as JsonValue),
        ),
        ...Object.keys(old).filter((key) => !Object.hasOwn(node, key)),
      ].sort();
      change.entries.push({
        id,
        change: 'changed',
        ...describe(node, 'after'),
        ...describe(old, 'before'),
        fields: changedFields,
      });
    }
  }
  for (const [id, old] of Object.entries(before)) {
    if (!(id in after)) {
      change.remove.push(id);
      change.entries.push({ id, change: 'removed', ...describe(old, 'before') });
    }
  }
}

/** The diff entry of a node that is new in the later version. */
export const addedEntry = (id: string, node: NodeMap[string]): DiffEntry => ({
  id,
  change: 'added',
  ...describe(node, 'after'),
});

/** A node's name, type and phase, as a diff entry shows them. */
function describe(node: NodeMap[string], when: 'before' | 'after') {
  const text = (value: JsonValue | undefined) => (typeof value === 'string' ? value : undefined);
  const phase = text(node.phase);
  const base = when === 'after' ? { displayName: text(node.displayName), type: text(node.type) } : {};
  return Object.fromEntries(
    Object.entries({ ...base, [when === 'after' ? 'phaseAfter' : 'phaseBefore']: phase }).filter(
      ([, value]) => value !== undefined,
    ),
  ) as Partial<DiffEntry>;
}

/** One node of a diff between two versions. */
export interface DiffEntry {
  readonly id: string;
  readonly change: 'added' | 'removed' | 'changed';
  readonly displayName?: string;
  readonly type?: string;
  readonly phaseBefore?: string;
  readonly phaseAfter?: string;
  /** For a changed node: the top-level fields that differ. */
  readonly fields?: readonly string[];
}

interface MutableChange {
  readonly set: NodeMap;
  readonly merge: Record<string, FieldChange>;
  readonly remove: string[];
  readonly entries: DiffEntry[];
}

export class NodePageReader {
  constructor(
    private readonly reader: VersionReader,
    private readonly toSummary: (record: WorkflowRecord) => WorkflowSummary,
  ) {}

  async read(request: NodePageRequest): Promise<NodePage> {
    const record = request.asOf ?? (await this.reader.requireRecord(request.uid));
    const version = request.version ?? record.nodeStatusVersion;
    const to = await this.locate(record, version, request.pinned === true);
    const common = {
      workflow: this.toSummary(record),
      nodeStatusVersion: version,
      bucketCount: to.bucketCount,
      codec: to.codec,
    };
    if (request.since === undefined) {
      if (request.filter?.under !== undefined) {
        return { ...common, ...(await this.subtreePage(record, version, to, request, request.filter.under)) };
      }
      return { ...common, ...(await this.fullPage(record, version, to, request)) };
    }
    if (request.since === version) {
      return {
        ...common,
        change: { since: request.since, set: {}, merge: {}, remove: [], entries: [] },
        chunksRead: 0,
      };
    }
    const from = await this.locate(record, request.since, true);
    return { ...common, ...(await this.changePage(record, version, to, request.since, from, request)) };
  }

  /** A version of the record; gone (410) when the caller held it and it expired. */
  private async locate(record: WorkflowRecord, version: string, held: boolean): Promise<LoadedVersion> {
    try {
      return await this.reader.locate(record, version);
    } catch (error) {
      if (held && error instanceof VersionNotFoundError) throw new VersionGoneError(record.uid, version);
      throw error;
    }
  }

  /** Reads buckets of a version, turning an expired held version into a 410. */
  private async readBuckets(
    record: WorkflowRecord,
    version: string,
    loaded: LoadedVersion,
    indexes: readonly number[] | undefined,
    held: boolean,
  ): Promise<Map<number, DecodedBucket>> {
    try {
      return await this.reader.readBuckets(record.uid, version, loaded, indexes);
    } catch (error) {
      if (held && error instanceof VersionNotFoundError) throw new VersionGoneError(record.uid, version);
      throw error;
    }
  }

  private async fullPage(
    record: WorkflowRecord,
    version: string,
    to: LoadedVersion,
    request: NodePageRequest,
  ) {
    const start = request.fromBucket ?? 0;
    const matches = nodeMatcher(request.filter);
    const bucketMay = bucketMatcher(request.filter);
    // A scoped read skips the buckets whose masks say they hold no such node.
    const remaining = Array.from(
      { length: Math.max(0, to.bucketCount - start) },
      (_, offset) => start + offset,
    ).filter((index) => to.inline !== undefined || bucketMay(to.buckets?.[index]));
    const estimated = to.inline ? remaining : estimatePage(remaining, bucketSize(to), request.budgetBytes);
    const buckets = await this.readBuckets(record, version, to, estimated, request.pinned === true);
    const nodes: NodeMap = {};
    let total = 0;
    let nextBucket: number | undefined;
    for (const index of estimated) {
      const bucket = buckets.get(index) as DecodedBucket;
      if (total > 0 && total + bucket.rawBytes > request.budgetBytes) {
        nextBucket = index;
        break;
      }
      for (const [id, node] of Object.entries(bucket.nodes)) if (matches(node)) nodes[id] = node;
      total += bucket.rawBytes;
    }
    if (nextBucket === undefined) {
      const last = estimated.at(-1);
      const following = remaining.find((index) => last !== undefined && index > last);
      if (following !== undefined) nextBucket = following;
    }
    return {
      nodes: alikeTogether(nodes),
      ...(nextBucket === undefined ? {} : { nextBucket }),
      chunksRead: to.inline ? 0 : estimated.length,
    };
  }

  /**
   * The nodes under one node: found level by level through `children`,
   * reading only the buckets that hold the nodes of each level. A page past
   * the first starts at that position of the subtree (in id order); the
   * subtree is walked again for it.
   */
  private async subtreePage(
    record: WorkflowRecord,
    version: string,
    to: LoadedVersion,
    request: NodePageRequest,
    under: string,
  ) {
    const found: NodeMap = {};
    const buckets = new Map<number, DecodedBucket>();
    let frontier = [under];
    while (frontier.length > 0) {
      const wanted = [...new Set(frontier.map((id) => bucketOf(id, to.bucketCount)))].filter(
        (index) => !buckets.has(index),
      );
      if (wanted.length > 0) {
        const read = await this.readBuckets(record, version, to, wanted, request.pinned === true);
        for (const [index, bucket] of read) buckets.set(index, bucket);
      }
      const next: string[] = [];
      for (const id of frontier) {
        const node = buckets.get(bucketOf(id, to.bucketCount))?.nodes[id];
        if (!node || id in found) continue;
        found[id] = node;
        if (Array.isArray(node.children)) {
          for (const child of node.children)
            if (typeof child === 'string' && !(child in found)) next.push(child);
        }
      }
      frontier = next;
    }
    if (!(under in found))
      throw new ValidationError(`the workflow has no node '${under}' in version ${version}`);
    const matches = nodeMatcher(request.filter);
    const ids = Object.keys(found)
      .filter((id) => matches(found[id] as NodeMap[string]))
      .sort();
    const nodes: NodeMap = {};
    let total = 0;
    let position = request.fromBucket ?? 0;
    for (; position < ids.length; position++) {
      const node = found[ids[position] as string] as NodeMap[string];
      const size = JSON.stringify(node).length;
      if (total > 0 && total + size > request.budgetBytes) break;
      nodes[ids[position] as string] = node;
      total += size;
    }
    return {
      nodes,
      ...(position < ids.length ? { nextBucket: position } : {}),
      chunksRead: to.inline ? 0 : buckets.size,
    };
  }

  private async changePage(
    record: WorkflowRecord,
    version: string,
    to: LoadedVersion,
    since: string,
    from: LoadedVersion,
    request: NodePageRequest,
  ) {
    const start = request.fromBucket ?? 0;
    const change: MutableChange = { set: {}, merge: {}, remove: [], entries: [] };
    const comparable = !to.inline && !from.inline && to.bucketCount === from.bucketCount;
    // Which new buckets differ: by chunk id when the layouts match, else all of them.
    const changed = Array.from({ length: to.bucketCount }, (_, index) => index).filter(
      (index) =>
        index >= start && (!comparable || to.buckets?.[index]?.chunkId !== from.buckets?.[index]?.chunkId),
    );
    const page =
      to.inline || from.inline ? changed : estimatePage(changed, bucketSize(to), request.budgetBytes);
    const sources = [
      ...new Set(page.flatMap((index) => sourceBuckets(index, to.bucketCount, from.bucketCount))),
    ];
    const [after, before] = await Promise.all([
      this.readBuckets(record, version, to, page, request.pinned === true),
      this.readBuckets(record, since, from, sources, true),
    ]);
    let total = 0;
    let nextBucket: number | undefined;
    for (const index of page) {
      const bucket = after.get(index) as DecodedBucket;
      if (total > 0 && total + bucket.rawBytes > request.budgetBytes) {
        nextBucket = index;
        break;
      }
      const old: NodeMap = {};
      for (const source of sourceBuckets(index, to.bucketCount, from.bucketCount)) {
        for (const [id, node] of Object.entries((before.get(source) as DecodedBucket).nodes)) {
          if (bucketOf(id, to.bucketCount) === index) old[id] = node;
        }
      }
      diffBucket(old, bucket.nodes, change);
      total += bucket.rawBytes;
    }
    if (nextBucket === undefined) {
      const last = page.at(-1);
      const following = changed.find((index) => last !== undefined && index > last);
      if (following !== undefined) nextBucket = following;
    }
    const chunkReads = (loaded: LoadedVersion, count: number) => (loaded.inline ? 0 : count);
    return {
      change: { since, ...change },
      ...(nextBucket === undefined ? {} : { nextBucket }),
      chunksRead: chunkReads(to, page.length) + chunkReads(from, sources.length),
    };
  }
}
