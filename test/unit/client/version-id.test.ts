/**
 * The client's implementation of version identity (client/version-id.ts)
 * agrees with the service's (functions/domain/codec.ts) on the protocol's
 * test vectors, on the real Argo fixtures, and on random maps.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as client from '#client/version-id';
import { bucketCountFor, bucketOf, nodeIdHash, prepareVersion } from '#domain/codec';
import type { NodeMap } from '#domain/nodes';
import { loadArgoFixtures } from '#testkit/argo-generator';

describe('client version identity', () => {
  it('gives the test vectors of docs/protocol.md', () => {
    const hello = {
      'hello-world': { id: 'hello-world', phase: 'Running', type: 'Steps', children: ['hello-world-1'] },
      'hello-world-1': { id: 'hello-world-1', phase: 'Pending', type: 'Pod' },
    };
    const forty = Object.fromEntries(
      Array.from({ length: 40 }, (_, index) => [`wf-${index}`, { phase: 'Running' }]),
    );

    const bucketed = client.bucketize(hello);

    expect(bucketed.chunkIds).toEqual(['bbff98ecf3130dd1a393c45c63e25ec86f2bdcc7968c233d4d4543043ba79514']);
    expect(bucketed.nodeStatusVersion).toBe(
      'fcf47dab7ec30e48e616fe3bbd3651a58f05e0a932ea7dda5c4583f192c564b5',
    );
    expect(client.nodeIdHash('hello-world')).toBe(0xef5333be);
    expect(client.bucketize(forty).bucketCount).toBe(4);
    expect(['wf-0', 'wf-1', 'wf-2'].map((id) => client.bucketOf(id, 4))).toEqual([3, 0, 2]);
    expect(client.versionIdOf(forty)).toBe(
      '3796f531d1feb0bd5031c1c00d73db2c45af38ed72bcf6553b3fb6bb5b711da8',
    );
  });

  it('agrees with the service on every real Argo fixture', () => {
    for (const { file, nodes } of loadArgoFixtures()) {
      const service = prepareVersion(nodes as NodeMap);
      const ours = client.bucketize(nodes as NodeMap);
      expect(ours.chunkIds, file).toEqual(service.buckets.map((bucket) => bucket.chunkId));
      expect(ours.nodeStatusVersion, file).toBe(service.nodeStatusVersion);
    }
  });

  it('agrees with the service on bucket counts, hashes and version ids of random maps (property)', () => {
    const key = fc.string({ minLength: 1, maxLength: 12 });
    const json = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<NodeMap[string][string]>;
    const node = fc.dictionary(key, json, { maxKeys: 6 });
    const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,30}$/);
    fc.assert(
      fc.property(fc.dictionary(id, node, { maxKeys: 80 }), fc.nat(300_000), (nodes, count) => {
        expect(client.bucketCountFor(count)).toBe(bucketCountFor(count));
        for (const nodeId of Object.keys(nodes)) {
          expect(client.nodeIdHash(nodeId)).toBe(nodeIdHash(nodeId));
          expect(client.bucketOf(nodeId, 64)).toBe(bucketOf(nodeId, 64));
        }
        expect(client.versionIdOf(nodes as NodeMap)).toBe(prepareVersion(nodes as NodeMap).nodeStatusVersion);
      }),
      { numRuns: 200 },
    );
  });
});
