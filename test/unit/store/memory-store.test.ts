/** The in-memory adapter keeps the storage port's contract, and plays TTL on demand. */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '#domain/memory-store';
import { describeStorePort, manifestOf, recordOf } from '../../contract/store-port.ts';

describeStorePort('in memory', () => new MemoryStore());

describe('MemoryStore.expire', () => {
  it('removes what expired from the versions side, and never a record', async () => {
    const store = new MemoryStore();
    await store.commitRecord(recordOf('wf-ttl', { leaseExpiresAt: 10 }), undefined);
    await store.putManifest(manifestOf('wf-ttl', 'a'.repeat(64), [], { expiresAt: 10 }));
    await store.putChunks(
      'wf-ttl',
      [{ chunkId: 'c'.repeat(64), codec: 'c', parts: [new Uint8Array([1])] }],
      50,
    );

    const removed = store.expire(20);

    expect(removed).toBe(2);
    expect(await store.getRecord('wf-ttl')).toBeDefined();
    expect(await store.getManifest('wf-ttl', 'a'.repeat(64))).toBeUndefined();
    expect((await store.getChunks('wf-ttl', [{ chunkId: 'c'.repeat(64), parts: 1 }])).missing).toEqual([]);
  });
});
