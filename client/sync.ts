/**
 * The sync protocol (docs/protocol.md) on top of {@link WfoClient}: reads and
 * writes whose bytes on the wire follow the change, with a local,
 * hash-verified cache, and never a request or response over the deployed
 * front door's limits, whatever the map size.
 *
 * - `getWorkflow`: the change since the cached version when there is one
 *   (a few KB for a small change), else a full read in pages; the result is
 *   checked against its version id before it is returned or cached.
 * - `putWorkflow`: a delta against the cached version (PATCH with
 *   `baseVersion`) when there is one and it is small, a plain PUT for a
 *   small map, else a staged upload that sends only the buckets whose chunk
 *   id differs from the current version's.
 *
 * @example
 * const sync = new SyncClient(new WfoClient({ baseUrl }), { cache: new NodeCache({ baseUrl }) });
 * const workflow = await sync.getWorkflow('wf-1');
 * await sync.putWorkflow('wf-1', { namespace: 'argo', name: 'wf', nodes: { ...workflow.nodes, ...changed } });
 */
import type { CacheEntry, NodeCache } from './cache.ts';
import { type Bucketed, bucketize, canonicalJson } from './version-id.ts';
import {
  ConflictError,
  type FieldChange,
  GoneError,
  type JsonValue,
  type NodeMap,
  type NodeStatus,
  type NodesPage,
  type PutWorkflowBody,
  type PutWorkflowOptions,
  type WfoClient,
  type WithEtag,
  type WorkflowMetadata,
  type WorkflowResponse,
  type WriteResponse,
} from './wfo-client.ts';

/** What a long transfer reports as it goes. */
export interface SyncProgressEvent {
  readonly action: 'reading' | 'uploading';
  readonly done: number;
  /** Known for uploads (parts); unknown for reads until the last page. */
  readonly total?: number;
}

export interface SyncClientOptions {
  /** Where versions are kept between calls; none: every read is a full read. */
  readonly cache?: NodeCache;
  /** Most JSON one request body carries before compression. Default 4 MiB (the protocol's). */
  readonly partBytes?: number;
  readonly onProgress?: (event: SyncProgressEvent) => void;
}

/** How a write went over the wire, for the curious (and the benchmark). */
export type WritePath = 'delta' | 'put' | 'upload';

export type SyncWriteResult = WithEtag<WriteResponse> & {
  readonly created: boolean;
  readonly path: WritePath;
};

const defaultPartBytes = 4 * 1024 * 1024;
const metadataOf = (workflow: WorkflowMetadata & { readonly write?: unknown; readonly etag?: unknown }) => {
  const {
    write: _write,
    etag: _etag,
    nodes: _nodes,
    ...metadata
  } = workflow as typeof workflow & { nodes?: unknown };
  return metadata as WorkflowMetadata;
};

const same = (a: JsonValue, b: JsonValue): boolean => a === b || canonicalJson(a) === canonicalJson(b);

/** The field change from `before` to `after`, or undefined when `after` whole is no larger. */
export function fieldChangeBetween(before: NodeStatus, after: NodeStatus): FieldChange | undefined {
  const set: NodeStatus = {};
  for (const [key, value] of Object.entries(after)) {
    // Own keys only, even for `__proto__` or `constructor`, as mergeFields writes them.
    const old = Object.hasOwn(before, key) ? before[key] : undefined;
    if (old === undefined || !same(old, value)) {
      Object.defineProperty(set, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  const unset = Object.keys(before).filter((key) => !Object.hasOwn(after, key));
  const change: FieldChange = {
    ...(Object.keys(set).length > 0 ? { set } : {}),
    ...(unset.length > 0 ? { unset } : {}),
  };
  return JSON.stringify(change).length < JSON.stringify(after).length ? change : undefined;
}

/** A node with a field change applied (a new object). */
export function mergeFields(node: NodeStatus | undefined, fields: FieldChange): NodeStatus {
  const out: NodeStatus = { ...node };
  for (const key of fields.unset ?? []) delete out[key];
  for (const [key, value] of Object.entries(fields.set ?? {})) {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * The node-level change from `base` to `target`, comparing only the buckets
 * whose chunk ids differ; a changed node goes field by field when that is
 * smaller.
 */
export function deltaBetween(
  base: { readonly nodes: NodeMap; readonly bucketed: Bucketed },
  target: { readonly nodes: NodeMap; readonly bucketed: Bucketed },
): { set: NodeMap; merge: Record<string, FieldChange>; remove: string[]; bytes: number } {
  const set: NodeMap = {};
  const merge: Record<string, FieldChange> = {};
  const remove: string[] = [];
  let bytes = 0;
  const compare = (before: NodeMap, after: NodeMap) => {
    for (const [id, node] of Object.entries(after)) {
      const old = before[id];
      if (old !== undefined && same(old as JsonValue, node as JsonValue)) continue;
      const fields = old === undefined ? undefined : fieldChangeBetween(old, node);
      if (fields) merge[id] = fields;
      else set[id] = node;
      bytes += JSON.stringify(fields ?? node).length + id.length + 4;
    }
    for (const id of Object.keys(before)) {
      if (!(id in after)) {
        remove.push(id);
        bytes += id.length + 3;
      }
    }
  };
  if (base.bucketed.bucketCount === target.bucketed.bucketCount) {
    target.bucketed.chunkIds.forEach((chunkId, index) => {
      if (chunkId !== base.bucketed.chunkIds[index]) {
        compare(base.bucketed.buckets[index] as NodeMap, target.bucketed.buckets[index] as NodeMap);
      }
    });
  } else {
    compare(base.nodes, target.nodes);
  }
  return { set, merge, remove, bytes };
}

export class SyncClient {
  private readonly partBytes: number;

  constructor(
    readonly client: WfoClient,
    private readonly options: SyncClientOptions = {},
  ) {
    this.partBytes = options.partBytes ?? defaultPartBytes;
  }

  /** The workflow with all its nodes, as `GET /v1/workflows/{uid}` answers it. */
  async getWorkflow(uid: string): Promise<WithEtag<WorkflowResponse>> {
    const cached = await this.cachedEntry(uid);
    if (cached) {
      try {
        const updated = await this.readSince(uid, cached.entry);
        if (updated) return this.remember(updated);
      } catch (error) {
        // The version we hold expired: read it all again.
        if (!(error instanceof GoneError)) throw error;
      }
    }
    return this.remember(await this.readFull(uid));
  }

  /** Stores the whole map, as `PUT /v1/workflows/{uid}` does, sending as little as it can. */
  async putWorkflow(
    uid: string,
    body: PutWorkflowBody,
    options: PutWorkflowOptions = {},
  ): Promise<SyncWriteResult> {
    const target = { nodes: body.nodes, bucketed: bucketize(body.nodes) };
    const result = await this.write(uid, body, options, target);
    if (result.nodeStatusVersion === target.bucketed.nodeStatusVersion) {
      await this.options.cache?.put({ workflow: metadataOf(result), nodes: body.nodes });
    }
    return result;
  }

  private async write(
    uid: string,
    body: PutWorkflowBody,
    options: PutWorkflowOptions,
    target: { readonly nodes: NodeMap; readonly bucketed: Bucketed },
  ): Promise<SyncWriteResult> {
    if (options.ifNoneMatch === undefined) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const cached = await this.cachedEntry(uid);
        if (
          !cached ||
          cached.entry.workflow.namespace !== body.namespace ||
          cached.entry.workflow.name !== body.name
        ) {
          break;
        }
        const delta = deltaBetween({ nodes: cached.entry.nodes, bucketed: cached.bucketed }, target);
        if (delta.bytes > this.partBytes) break;
        const send = (
          change: { set: NodeMap; merge: Record<string, FieldChange> },
          onConflict: PutWorkflowOptions['onConflict'],
        ) =>
          this.client.patchNodes(
            uid,
            {
              ...(Object.keys(change.set).length > 0 ? { set: change.set } : {}),
              ...(Object.keys(change.merge).length > 0 ? { merge: change.merge } : {}),
              ...(delta.remove.length > 0 ? { remove: delta.remove } : {}),
              ...(body.phase === undefined ? {} : { phase: body.phase }),
              ...(body.message === undefined ? {} : { message: body.message }),
              baseVersion: cached.entry.workflow.nodeStatusVersion,
            },
            {
              ...(options.ifMatch === undefined ? {} : { ifMatch: options.ifMatch }),
              ...(onConflict === undefined ? {} : { onConflict }),
            },
          );
        // A field change is exact only on the base it was computed from. On another state the
        // service would merge it field by field, where a PUT re-applies node by node: a node a
        // stop failed, then finished by this map, would keep the stop's message; a node the stop
        // failed would take this map's progress. So a re-apply goes with the changed nodes whole.
        const merged = Object.keys(delta.merge);
        const wholeOnConflict = options.onConflict === 'reapply' && merged.length > 0;
        try {
          const written = await send(delta, wholeOnConflict ? undefined : options.onConflict);
          return { ...written, created: false, path: 'delta' };
        } catch (error) {
          if (wholeOnConflict && error instanceof ConflictError) {
            const whole: NodeMap = { ...delta.set };
            for (const id of merged) whole[id] = target.nodes[id] as NodeStatus;
            const written = await send({ set: whole, merge: {} }, 'reapply');
            return { ...written, created: false, path: 'delta' };
          }
          // Someone else wrote since our version: catch up, then compute the delta again.
          // With an If-Match of the caller's own, the conflict is the caller's to handle.
          if (!(error instanceof ConflictError) || options.ifMatch !== undefined) throw error;
          const caughtUp = await this.readSince(uid, cached.entry).catch((reason: unknown) => {
            if (reason instanceof GoneError) return undefined;
            throw reason;
          });
          if (!caughtUp) break;
          await this.remember(caughtUp);
        }
      }
    }
    const mapBytes = target.bucketed.rawBytes.reduce((sum, bytes) => sum + bytes + 1, 2);
    if (mapBytes <= this.partBytes) {
      const written = await this.client.putWorkflow(uid, body, options);
      return { ...written, path: 'put' };
    }
    return { ...(await this.upload(uid, body, options, target.bucketed)), path: 'upload' };
  }

  /** A staged upload that sends only the buckets whose chunk id differs from the current version's. */
  private async upload(uid: string, body: PutWorkflowBody, options: PutWorkflowOptions, bucketed: Bucketed) {
    const begun = await this.client.beginUpload(uid, {
      namespace: body.namespace,
      name: body.name,
      ...(body.phase === undefined ? {} : { phase: body.phase }),
      ...(body.message === undefined ? {} : { message: body.message }),
      nodeCount: Object.keys(body.nodes).length,
    });
    if (begun.bucketCount !== bucketed.bucketCount) {
      throw new Error(
        `the service buckets ${Object.keys(body.nodes).length} nodes into ${begun.bucketCount} buckets, this client into ${bucketed.bucketCount}: the client does not speak this service's protocol`,
      );
    }
    const toSend = bucketed.chunkIds.flatMap((chunkId, index) =>
      begun.baseChunkIds?.[index] === chunkId ? [] : [index],
    );
    const parts: number[][] = [];
    let current: number[] = [];
    let size = 0;
    for (const index of toSend) {
      const bytes = bucketed.rawBytes[index] as number;
      if (current.length > 0 && size + bytes > Math.min(this.partBytes, begun.partBytes)) {
        parts.push(current);
        current = [];
        size = 0;
      }
      current.push(index);
      size += bytes;
    }
    if (current.length > 0) parts.push(current);
    for (const [position, indexes] of parts.entries()) {
      await this.client.putUploadPart(
        uid,
        begun.uploadId,
        position + 1,
        Object.fromEntries(indexes.map((index) => [index, bucketed.buckets[index] as NodeMap])),
      );
      this.options.onProgress?.({ action: 'uploading', done: position + 1, total: parts.length });
    }
    return this.client.commitUpload(
      uid,
      begun.uploadId,
      body.baseVersion === undefined ? {} : { baseVersion: body.baseVersion },
      options,
    );
  }

  /** The cached entry, checked against its version id; a wrong one is dropped. */
  private async cachedEntry(uid: string): Promise<{ entry: CacheEntry; bucketed: Bucketed } | undefined> {
    const entry = await this.options.cache?.get(uid);
    if (!entry) return undefined;
    const bucketed = bucketize(entry.nodes);
    if (bucketed.nodeStatusVersion !== entry.workflow.nodeStatusVersion) {
      await this.options.cache?.forget(uid);
      return undefined;
    }
    return { entry, bucketed };
  }

  /** Every page from the first, merged; the first page names the workflow and pins the version. */
  private async pages(uid: string, since?: string): Promise<{ first: NodesPage; pages: NodesPage[] }> {
    const pages: NodesPage[] = [await this.client.readNodes(uid, since === undefined ? {} : { since })];
    while (pages.at(-1)?.next) {
      pages.push(await this.client.readNodes(uid, { next: pages.at(-1)?.next as string }));
      this.options.onProgress?.({ action: 'reading', done: pages.length });
    }
    return { first: pages[0] as NodesPage, pages };
  }

  /** The cached version brought up to date with the change since it, or undefined when that does not check out. */
  private async readSince(uid: string, entry: CacheEntry): Promise<CacheEntry | undefined> {
    const { first, pages } = await this.pages(uid, entry.workflow.nodeStatusVersion);
    const nodes: NodeMap = { ...entry.nodes };
    for (const page of pages) {
      for (const id of page.remove ?? []) delete nodes[id];
      for (const [id, fields] of Object.entries(page.merge ?? {})) nodes[id] = mergeFields(nodes[id], fields);
      Object.assign(nodes, page.set);
    }
    const workflow = first.workflow as WorkflowMetadata;
    if (bucketize(nodes).nodeStatusVersion !== first.nodeStatusVersion) return undefined;
    return { workflow, nodes };
  }

  private async readFull(uid: string): Promise<CacheEntry> {
    const { first, pages } = await this.pages(uid);
    const nodes: NodeMap = {};
    for (const page of pages) Object.assign(nodes, page.nodes);
    const version = bucketize(nodes).nodeStatusVersion;
    if (version !== first.nodeStatusVersion) {
      throw new Error(
        `the nodes read for '${uid}' hash to version ${version}, not ${first.nodeStatusVersion}: the response was corrupted on the way`,
      );
    }
    return { workflow: first.workflow as WorkflowMetadata, nodes };
  }

  private async remember(entry: CacheEntry): Promise<WithEtag<WorkflowResponse>> {
    await this.options.cache?.put(entry);
    return { ...entry.workflow, nodes: entry.nodes, etag: entry.workflow.resourceVersion };
  }
}
