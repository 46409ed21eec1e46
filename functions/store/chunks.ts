/** Chunk items of the versions table: immutable, content-addressed, expiring by TTL. */
import type { ChunkRef, FetchedChunk, StoredChunk, WriteCost } from '#domain/store';
import { batchGet, batchPut, forEachLimited, type Item } from './batch.ts';
import { extendExpiry, type StoreContext } from './context.ts';
import { costOf, sumCosts } from './items.ts';
import { chunkKeys, workflowKey } from './keys.ts';

export class ChunkStore {
  constructor(private readonly context: StoreContext) {}

  async getChunks(
    uid: string,
    refs: readonly ChunkRef[],
  ): Promise<{ found: Map<string, FetchedChunk>; missing: string[] }> {
    const pk = workflowKey(uid);
    const keys = refs.flatMap((ref) => chunkKeys(ref));
    const items = new Map<string, Item>();
    const read = (sortKeys: readonly string[], consistent: boolean) =>
      batchGet(
        this.context.client,
        this.context.versionsTable,
        sortKeys.map((sk) => ({ pk, sk })),
        consistent,
        items,
        this.context.batch,
      );
    // Chunks are immutable and named by their content, so an eventually
    // consistent read (half the price) can only miss one, never return a wrong
    // one; the few it misses (written just before a commit) are read again
    // strongly consistently before anything is called missing.
    await read(keys, false);
    const notYetSeen = keys.filter((sk) => !items.has(sk));
    if (notYetSeen.length > 0) await read(notYetSeen, true);
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
    await batchPut(this.context.client, this.context.versionsTable, items, this.context.batch);
    return costOf(items);
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
    await forEachLimited(work, this.context.batch.concurrency, async ({ ref, sk }) => {
      const outcome = await extendExpiry(this.context, { pk, sk }, expiresAt);
      if (outcome === undefined) missing.add(ref.chunkId);
      else costs.push(outcome);
    });
    return { ...sumCosts(costs), missing: [...missing] };
  }
}
