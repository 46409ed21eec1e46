/**
 * The client's copy of field-level merges (client/sync.ts; the client depends
 * on Node built-ins only) agrees with the service's (functions/domain/nodes.ts):
 * the same node after a merge, and the same field change between two nodes.
 * The wire types of a merge and of a diff entry are the service's too.
 */
import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as client from '#client/sync';
import type * as wire from '#client/wfo-client';
import type { DiffEntry } from '#domain/node-pages';
import * as service from '#domain/nodes';

const value = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('x', 'y', 'z'), fc.integer(), { maxKeys: 3 }),
);
const key = fc.constantFrom(
  'phase',
  'message',
  'outputs',
  'progress',
  'finishedAt',
  '__proto__',
  'constructor',
);
const node = fc.dictionary(key, value, { maxKeys: 6 }) as fc.Arbitrary<service.NodeStatus>;
const fieldChange = fc.record(
  { set: node, unset: fc.array(key, { maxLength: 3 }) },
  { requiredKeys: [] },
) as fc.Arbitrary<service.FieldChange>;
/** JSON with object keys sorted, so that key order does not count (own keys only, `__proto__` included). */
const canonical = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(canonical).join(',')}]`
    : value !== null && typeof value === 'object'
      ? `{${Object.keys(value)
          .sort()
          .map((name) => `${JSON.stringify(name)}:${canonical((value as Record<string, unknown>)[name])}`)
          .join(',')}}`
      : JSON.stringify(value);
const sameJson = (a: unknown, b: unknown) => canonical(a) === canonical(b);

describe("the client's field merges", () => {
  it('apply a field change as the service does (property)', () => {
    fc.assert(
      fc.property(fc.option(node, { nil: undefined }), fieldChange, (before, fields) => {
        expect(client.mergeFields(before, fields)).toStrictEqual(service.mergeFields(before, fields));
      }),
      { numRuns: 300 },
    );
  });

  it('find the field change the service finds, and it turns before into after (property)', () => {
    fc.assert(
      fc.property(node, node, (before, after) => {
        const ours = client.fieldChangeBetween(before, after);
        expect(ours).toStrictEqual(service.fieldChangeBetween(before, after, sameJson));
        if (ours) expect(sameJson(service.mergeFields(before, ours), after)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('send and receive the wire types of the service', () => {
    expectTypeOf<wire.FieldChange>().toEqualTypeOf<service.FieldChange>();
    expectTypeOf<wire.DiffEntry>().toEqualTypeOf<DiffEntry>();
  });
});
