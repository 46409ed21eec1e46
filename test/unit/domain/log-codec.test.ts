/**
 * The log layout's codec: its payloads round-trip, a stored change turns a
 * bucket into exactly the next one and names nothing that did not change,
 * and a page gives back each bucket's canonical text by offset. Properties
 * (fast-check) over arbitrary JSON nodes, and the real Argo fixtures.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  compressPage,
  concatParts,
  defaultCodecOptions,
  inflateWith,
  logCodecName,
  pageCodecName,
  pageSlices,
  prepareVersion,
} from '#domain/codec';
import {
  applyStoredChange,
  emptyChange,
  packDelta,
  packSnapshot,
  storedChangeBetween,
  unpackDeltaBuckets,
  unpackDeltaChange,
  unpackSnapshot,
} from '#domain/log-codec';
import type { JsonValue, NodeMap } from '#domain/nodes';
import { loadArgoFixtures } from '#testkit/argo-generator';

const hexId = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((bytes) => Buffer.from(bytes).toString('hex'));
const jsonValue: fc.Arbitrary<JsonValue> = fc.jsonValue() as fc.Arbitrary<JsonValue>;
const nodeOf = fc.dictionary(
  fc.constantFrom('phase', 'message', 'outputs', 'children', 'progress', '__proto__', 'startedAt', 'x'),
  jsonValue,
);
const nodeMap = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e', '__proto__', 'constructor'), nodeOf);
const canonical = (nodes: NodeMap) => canonicalJson(nodes as JsonValue);

describe('log entry payloads', () => {
  it('pack and unpack a snapshot: every bucket and page as written (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            chunkId: hexId,
            phaseMask: fc.integer({ min: 0, max: 255 }),
            typeMask: fc.integer({ min: 0, max: 65_535 }),
            rawBytes: fc.nat(1_000_000),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.integer({ min: 1, max: 9 }),
        (buckets, perPage) => {
          const pages = [];
          for (let first = 0; first < buckets.length; first += perPage) {
            pages.push({
              chunkId: buckets[first]?.chunkId as string,
              firstBucket: first,
              bucketCount: Math.min(perPage, buckets.length - first),
              parts: 1 + (first % 3),
              leaseExpiresAt: 1_700_000_000 + first,
              storedBytes: 1_000 + first,
            });
          }

          const read = unpackSnapshot(
            packSnapshot({ buckets: buckets.map((bucket) => ({ ...bucket, storedBytes: 0 })), pages }),
          );

          expect(read.pages).toEqual(pages);
          expect(read.buckets.map(({ storedBytes: _stored, ...bucket }) => bucket)).toEqual(buckets);
          // Each bucket's stored size is its share of its page's.
          for (const page of pages) {
            const inPage = read.buckets.slice(page.firstBucket, page.firstBucket + page.bucketCount);
            const shares = inPage.reduce((sum, bucket) => sum + bucket.storedBytes, 0);
            const raw = inPage.reduce((sum, bucket) => sum + bucket.rawBytes, 0);
            expect(Math.abs(shares - (raw === 0 ? 0 : page.storedBytes))).toBeLessThanOrEqual(
              page.bucketCount,
            );
          }
        },
      ),
    );
  });

  it('pack and unpack a delta: its changed buckets and its node change (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 4_095 }), { maxLength: 30 }),
        fc.array(hexId, { minLength: 30, maxLength: 30 }),
        nodeMap,
        nodeMap,
        (indexes, ids, before, after) => {
          const changed = indexes.map((index, position) => ({
            index,
            chunkId: ids[position] as string,
            phaseMask: index % 256,
            typeMask: index,
            rawBytes: index * 7,
          }));
          const change = emptyChange();
          storedChangeBetween(before as NodeMap, after as NodeMap, change);

          const data = packDelta({ changed, change }, logCodecName, 6);

          expect(unpackDeltaBuckets(data)).toEqual(changed);
          const read = unpackDeltaChange(data, logCodecName);
          expect(canonicalJson({ ...read, merge: read.merge ?? {} } as unknown as JsonValue)).toBe(
            canonicalJson({
              set: change.set,
              remove: change.remove,
              merge: change.merge,
            } as unknown as JsonValue),
          );
        },
      ),
    );
  });

  it('refuses a payload it does not know instead of reading nonsense', () => {
    expect(() => unpackSnapshot(new Uint8Array([9, 0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/corrupt/);
    expect(() => unpackDeltaBuckets(new Uint8Array([1, 0, 0, 0, 5]))).toThrow(/corrupt/);
  });
});

describe('stored changes', () => {
  it('turn a bucket into exactly the next one, naming only the ids that differ (property)', () => {
    fc.assert(
      fc.property(nodeMap, nodeMap, (before, after) => {
        const change = emptyChange();
        storedChangeBetween(before as NodeMap, after as NodeMap, change);
        const named = new Set([...Object.keys(change.set), ...Object.keys(change.merge), ...change.remove]);
        const stored = unpackDeltaChange(packDelta({ changed: [], change }, logCodecName, 6), logCodecName);

        const rebuilt = structuredClone(before) as NodeMap;
        applyStoredChange(rebuilt, stored, () => true);

        expect(canonical(rebuilt)).toBe(canonical(after as NodeMap));
        for (const id of new Set([...Object.keys(before), ...Object.keys(after)])) {
          const same =
            Object.hasOwn(before, id) === Object.hasOwn(after, id) &&
            (!Object.hasOwn(before, id) ||
              canonicalJson(before[id] as JsonValue) === canonicalJson(after[id] as JsonValue));
          expect(named.has(id), id).toBe(!same);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('carry a pod that moved on as its changed fields, not the whole node', () => {
    const pod = {
      id: 'p',
      phase: 'Running',
      startedAt: '2026-01-01T00:00:00Z',
      templateName: 'a-long-template-name',
      inputs: { parameters: [{ name: 'message', value: 'x'.repeat(200) }] },
    };
    const done = { ...pod, phase: 'Succeeded', finishedAt: '2026-01-01T00:01:00Z' };
    const change = emptyChange();

    storedChangeBetween({ p: pod }, { p: done }, change);

    expect(change.set).toEqual({});
    expect(change.merge).toEqual({ p: { set: { phase: 'Succeeded', finishedAt: '2026-01-01T00:01:00Z' } } });
  });
});

describe('pages', () => {
  it('leave empty buckets out of the object and find each bucket by its sizes', () => {
    const texts = ['{}', '{"a":{"id":"a"}}', '{}', '{"b":1,"c":[2]}', '{}'];

    const raw = inflateWith(pageCodecName, concatParts(compressPage(texts))).toString('utf8');
    const { slices, pageBytes } = pageSlices(texts.map((text) => Buffer.byteLength(text)));

    expect(raw).toBe('{"a":{"id":"a"},"b":1,"c":[2]}');
    expect(pageBytes).toBe(raw.length);
    expect(slices.map(({ start, end }) => `{${raw.slice(start, end)}}`)).toEqual(texts);
  });

  it("give back each bucket's canonical text by its offset, and all their nodes as one object, for every real Argo fixture", () => {
    for (const { file, nodes } of loadArgoFixtures()) {
      const prepared = prepareVersion(nodes as NodeMap, { ...defaultCodecOptions, targetNodesPerBucket: 2 });
      const texts = prepared.buckets.map((bucket) => bucket.canonical);

      const raw = inflateWith(pageCodecName, concatParts(compressPage(texts)));
      const { slices, pageBytes } = pageSlices(prepared.buckets.map((bucket) => bucket.rawBytes));

      prepared.buckets.forEach((bucket, index) => {
        const { start, end } = slices[index] as { start: number; end: number };
        expect(`{${raw.toString('utf8', start, end)}}`, file).toBe(bucket.canonical);
      });
      expect(pageBytes, file).toBe(raw.length);
      // The page's text is one object of every node of its buckets.
      expect(JSON.parse(raw.toString('utf8')), file).toEqual(nodes);
    }
  });
});
