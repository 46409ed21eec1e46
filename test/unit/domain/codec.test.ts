import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bucketCountFor,
  bucketOf,
  canonicalJson,
  codecName,
  compressBucket,
  concatParts,
  decodeChunk,
  defaultCodecOptions,
  prepareVersion,
} from '#domain/codec';
import { type CodecName, dictionaries } from '#domain/codec-dictionaries';
import type { JsonValue, NodeMap } from '#domain/nodes';
import { generateNodes, loadArgoFixtures } from '#testkit/argo-generator';
import { cutDictionary, dictionaryBytes } from '#testkit/codec-dictionary';

const codecs = Object.keys(dictionaries) as CodecName[];

const nodeId = fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/);
const jsonLeaf = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const jsonValue: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    jsonLeaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 }),
  ),
})).value;
const nodeMap: fc.Arbitrary<NodeMap> = fc
  .dictionary(nodeId, fc.dictionary(fc.string({ maxLength: 10 }), jsonValue, { maxKeys: 6 }), {
    maxKeys: 200,
  })
  .map((nodes) => Object.fromEntries(Object.entries(nodes).map(([id, node]) => [id, { ...node, id }])));

/** Decodes every bucket of a prepared version back into one map. */
function roundTrip(nodes: NodeMap, options = defaultCodecOptions): NodeMap {
  const prepared = prepareVersion(nodes, options);
  const out: NodeMap = {};
  for (const bucket of prepared.buckets) {
    Object.assign(
      out,
      decodeChunk(options.codec, concatParts(compressBucket(bucket.canonical, options))).nodes,
    );
  }
  return out;
}

/** The same value with every object's keys in reverse order. */
function reverseKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .reverse()
      .map((key) => [key, reverseKeys(value[key] as JsonValue)]),
  );
}

describe('codec', () => {
  it.each(codecs)('round-trips every real Argo node status exactly (%s)', (codec) => {
    const fixtures = loadArgoFixtures();
    expect(fixtures.length).toBeGreaterThanOrEqual(11);
    for (const fixture of fixtures) {
      expect(
        roundTrip(fixture.nodes as NodeMap, { ...defaultCodecOptions, codec }),
        fixture.file,
      ).toStrictEqual(fixture.nodes);
    }
  });

  it.each(codecs)('round-trips arbitrary JSON nodes (%s)', (codec) => {
    fc.assert(
      fc.property(nodeMap, (nodes) => {
        expect(roundTrip(nodes, { ...defaultCodecOptions, codec })).toStrictEqual(
          JSON.parse(JSON.stringify(nodes)),
        );
      }),
    );
  });

  it('writes new chunks with wfo-bucket-deflate-d2 and still decodes wfo-bucket-deflate-d1', () => {
    expect(codecName).toBe('wfo-bucket-deflate-d2');
    expect(defaultCodecOptions.codec).toBe(codecName);
    const nodes = generateNodes({ nodeCount: 200, seed: 5 }) as NodeMap;
    const bucket = prepareVersion(nodes).buckets[0] as { canonical: string };
    const old = concatParts(
      compressBucket(bucket.canonical, { ...defaultCodecOptions, codec: 'wfo-bucket-deflate-d1' }),
    );
    const current = concatParts(compressBucket(bucket.canonical));
    expect(Buffer.from(old).equals(Buffer.from(current))).toBe(false);
    expect(decodeChunk('wfo-bucket-deflate-d1', old).nodes).toStrictEqual(JSON.parse(bucket.canonical));
    expect(decodeChunk(codecName, current).nodes).toStrictEqual(JSON.parse(bucket.canonical));
    // Each codec's chunks need that codec's dictionary.
    expect(() => decodeChunk(codecName, old)).toThrow();
    expect(() => decodeChunk('wfo-bucket-deflate-x9', current)).toThrow(/unknown codec/);
  });

  it('stores exactly the dictionary cut from the vendored Argo fixtures', () => {
    expect(dictionaries['wfo-bucket-deflate-d2']).toBe(cutDictionary());
    expect(dictionaries['wfo-bucket-deflate-d2'].length).toBe(dictionaryBytes);
  });

  it('compresses the real Argo node statuses smaller with d2 than with d1', () => {
    const stored = (codec: CodecName) =>
      loadArgoFixtures().reduce((sum, fixture) => {
        const prepared = prepareVersion(fixture.nodes as NodeMap);
        return (
          sum +
          prepared.buckets.reduce(
            (bytes, bucket) =>
              bytes + concatParts(compressBucket(bucket.canonical, { ...defaultCodecOptions, codec })).length,
            0,
          )
        );
      }, 0);
    expect(stored('wfo-bucket-deflate-d2')).toBeLessThan(stored('wfo-bucket-deflate-d1'));
  });

  it('keeps an own "__proto__" key inside a node, whatever the key order', () => {
    const nodes = JSON.parse('{"a":{"z":1,"__proto__":{"polluted":true},"id":"a"}}') as NodeMap;
    const decoded = roundTrip(nodes);
    expect(Object.keys(decoded.a as object).sort()).toEqual(['__proto__', 'id', 'z']);
    expect(JSON.stringify(decoded)).toBe('{"a":{"__proto__":{"polluted":true},"id":"a","z":1}}');
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('gives the same version id whatever the key order', () => {
    fc.assert(
      fc.property(nodeMap, (nodes) => {
        const reordered = reverseKeys(nodes as JsonValue) as NodeMap;
        expect(prepareVersion(reordered).nodeStatusVersion).toBe(prepareVersion(nodes).nodeStatusVersion);
      }),
    );
  });

  it('gives different version ids to different node maps', () => {
    fc.assert(
      fc.property(nodeMap, nodeId, (nodes, id) => {
        const changed = { ...nodes, [id]: { id, phase: 'Changed-marker' } };
        expect(prepareVersion(changed).nodeStatusVersion).not.toBe(prepareVersion(nodes).nodeStatusVersion);
      }),
    );
  });

  it('changes only the chunk ids of the buckets that hold changed nodes', () => {
    const options = { ...defaultCodecOptions, targetNodesPerBucket: 4 };
    fc.assert(
      fc.property(nodeMap, fc.array(fc.nat(), { maxLength: 5 }), (nodes, picks) => {
        const ids = Object.keys(nodes);
        fc.pre(ids.length > 0);
        const changedIds = [...new Set(picks.map((pick) => ids[pick % ids.length] as string))];
        const changed: NodeMap = { ...nodes };
        for (const id of changedIds) changed[id] = { ...(nodes[id] as object), touched: true };
        const before = prepareVersion(nodes, options);
        const after = prepareVersion(changed, options);
        expect(after.bucketCount).toBe(before.bucketCount);
        const expectedChanged = new Set(changedIds.map((id) => bucketOf(id, before.bucketCount)));
        before.buckets.forEach((bucket, index) => {
          const same = bucket.chunkId === after.buckets[index]?.chunkId;
          expect(same).toBe(!expectedChanged.has(index));
        });
      }),
    );
  });

  it('splits a bucket larger than the part limit into parts that join back', () => {
    const nodes: NodeMap = {};
    for (let index = 0; index < 200; index++) {
      nodes[`n${index}`] = {
        id: `n${index}`,
        noise: Buffer.from(`${index}`.repeat(50)).toString('base64') + Math.random(),
      };
    }
    const options = { ...defaultCodecOptions, targetNodesPerBucket: 1000, maxPartBytes: 1000 };
    const prepared = prepareVersion(nodes, options);
    const parts = compressBucket((prepared.buckets[0] as { canonical: string }).canonical, options);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((part) => part.length <= 1000)).toBe(true);
    expect(decodeChunk(codecName, concatParts(parts)).nodes).toStrictEqual(nodes);
  });

  it('grows the bucket count in powers of two with the node count', () => {
    const options = { ...defaultCodecOptions, targetNodesPerBucket: 64, maxBucketCount: 1024 };
    expect(bucketCountFor(0, options)).toBe(1);
    expect(bucketCountFor(64, options)).toBe(1);
    expect(bucketCountFor(65, options)).toBe(2);
    expect(bucketCountFor(10_000, options)).toBe(256);
    expect(bucketCountFor(10_000_000, options)).toBe(1024);
  });

  it('serialises canonically with sorted keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: 1 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[1,{"y":1,"z":0}]},"b":1}',
    );
  });

  it('serialises as a copy built with its keys added in sorted order does, whatever the keys and their order, again and again (property)', () => {
    // Keys that reorder (array indexes), look like indexes but are not, and `__proto__`.
    const key = fc.constantFrom(
      'a',
      'b',
      'id',
      'phase',
      '0',
      '1',
      '10',
      '2',
      '01',
      '-1',
      '4294967295',
      '__proto__',
      'x\u0000y',
    );
    const value = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.array(fc.tuple(key, tie('value')), { maxLength: 6 }).map((entries) => Object.fromEntries(entries)),
      ),
    })).value;
    const sortedCopy = (item: unknown): unknown => {
      if (Array.isArray(item)) return item.map(sortedCopy);
      if (item === null || typeof item !== 'object') return item;
      return Object.fromEntries(
        Object.keys(item)
          .sort()
          .map((name) => [name, sortedCopy((item as Record<string, unknown>)[name])]),
      );
    };
    fc.assert(
      fc.property(value, (item) => {
        const expected = JSON.stringify(sortedCopy(item));
        // The first time sorts each key order, the second takes it from the cache.
        expect(canonicalJson(item as JsonValue)).toBe(expected);
        expect(canonicalJson(item as JsonValue)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses to inflate a chunk beyond the output limit', () => {
    const parts = compressBucket(Buffer.from(JSON.stringify({ a: { id: 'a', pad: 'x'.repeat(100_000) } })));
    expect(() => decodeChunk(codecName, concatParts(parts), 1000)).toThrow();
  });
});
