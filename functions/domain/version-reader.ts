/**
 * Reading a version: where its buckets live (inline in the record, or behind
 * its manifest) and the decoded buckets, all or some. Readers follow the
 * pointer they read and never filter by `expiresAt` (invariant 4); a missing
 * item of a version the record points at is a VersionMissingError, never an
 * empty node map.
 */
import { decodeChunk } from './codec.ts';
import { VersionMissingError, VersionNotFoundError, WorkflowNotFoundError } from './errors.ts';
import type { NodeMap } from './nodes.ts';
import { epochSeconds } from './retention.ts';
import type { Manifest, ManifestChunk, WorkflowRecord, WorkflowStore } from './store.ts';

/** A version as located: where its buckets live. */
export interface LoadedVersion {
  /** True when the record points at this version. */
  readonly current: boolean;
  readonly manifest?: Manifest;
  readonly inline?: readonly Uint8Array[];
  readonly codec: string;
  readonly bucketCount: number;
}

/** One decoded bucket: a fresh copy the caller may change, with its sizes. */
export interface DecodedBucket {
  readonly nodes: NodeMap;
  readonly rawBytes: number;
  readonly storedBytes: number;
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

  /** Where a version's buckets live: inline in the record, or behind its manifest. */
  async locate(record: WorkflowRecord, nodeStatusVersion: string): Promise<LoadedVersion> {
    if (nodeStatusVersion === record.nodeStatusVersion && record.inline) {
      return { current: true, inline: record.inline, codec: record.codec, bucketCount: record.inline.length };
    }
    const manifest = await this.store.getManifest(record.uid, nodeStatusVersion);
    if (!manifest) {
      // The record points here, so this is data loss, not a bad id.
      if (nodeStatusVersion === record.nodeStatusVersion)
        throw new VersionMissingError(record.uid, nodeStatusVersion, []);
      throw new VersionNotFoundError(record.uid, nodeStatusVersion);
    }
    return {
      current: nodeStatusVersion === record.nodeStatusVersion,
      manifest,
      ...(manifest.inline ? { inline: manifest.inline } : {}),
      codec: manifest.codec,
      bucketCount: manifest.bucketCount,
    };
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
    const manifest = version.manifest as Manifest;
    const refs = wanted.map((index) => manifest.chunks[index] as ManifestChunk);
    const unique = [...new Map(refs.map((ref) => [ref.chunkId, ref])).values()];
    const { found, missing } = await this.store.getChunks(uid, unique);
    if (missing.length > 0) {
      // A superseded version past its own lease has simply expired; anything else is data loss.
      const lease = manifest.chunks.reduce(
        (min, chunk) => Math.min(min, chunk.leaseExpiresAt),
        Math.min(manifest.expiresAt, manifest.base?.expiresAt ?? manifest.expiresAt),
      );
      if (!version.current && lease <= epochSeconds(this.now())) {
        throw new VersionNotFoundError(uid, nodeStatusVersion);
      }
      throw new VersionMissingError(uid, nodeStatusVersion, missing);
    }
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
    const buckets = await this.readBuckets(record.uid, nodeStatusVersion, version);
    if (buckets.size === 1) return (buckets.values().next().value as DecodedBucket).nodes;
    const nodes: NodeMap = {};
    for (const bucket of buckets.values()) Object.assign(nodes, bucket.nodes);
    return nodes;
  }
}
