/**
 * Input limits that keep hostile input cheap: a node nested deeper than the
 * limit is a 400 found without recursion (a 100,000-level value once
 * overflowed the stack in canonical JSON: a 500); a map with more nodes than
 * `maxNodes` is a 413; ids no node can have are refused, in `remove` too.
 * All of it before the service touches the store.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError, ValidationError } from '#domain/errors';
import { maxNodeDepth, type NodeMap, validateNode, validateNodeMap } from '#domain/nodes';
import type { WorkflowStore } from '#domain/store';
import { WorkflowService } from '#domain/workflow-service';

/** A store that records any use and fails it: validation must come first. */
function untouchableStore(): { store: WorkflowStore; calls: string[] } {
  const calls: string[] = [];
  const store = new Proxy({} as WorkflowStore, {
    get: (_target, property) => async () => {
      calls.push(String(property));
      throw new Error(`the store was called (${String(property)}) before the input was checked`);
    },
  });
  return { store, calls };
}

/** A value nested `depth` levels deep, built without recursion. */
function nested(depth: number, kind: 'array' | 'object'): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level++) value = kind === 'array' ? [value] : { a: value };
  return value;
}

const manyNodes = (count: number): NodeMap => {
  const nodes: NodeMap = {};
  for (let index = 0; index < count; index++) nodes[`n${index}`] = {};
  return nodes;
};

describe('node nesting', () => {
  it(`accepts ${maxNodeDepth} levels below the node and refuses one more`, () => {
    // The node itself is level 0; `deep` is level 1 and holds the rest.
    for (const kind of ['array', 'object'] as const) {
      expect(() => validateNode('a', { deep: nested(maxNodeDepth, kind) })).not.toThrow();
      expect(() => validateNode('a', { deep: nested(maxNodeDepth + 1, kind) })).toThrow(ValidationError);
    }
  });

  it('refuses 100,000 levels with a ValidationError, not a stack overflow', () => {
    for (const kind of ['array', 'object'] as const) {
      expect(() => validateNode('a', { deep: nested(100_000, kind) })).toThrow(/deeper than 100 levels/);
    }
  });

  it('refuses a deep node in a PUT or a PATCH before the store is used', async () => {
    const { store, calls } = untouchableStore();
    const service = new WorkflowService(store);
    const deep = { id: 'a', deep: nested(5_000, 'array') } as unknown as NodeMap[string];

    await expect(
      service.persist({ uid: 'u', namespace: 'argo', name: 'n', nodes: { a: deep } }),
    ).rejects.toThrow(ValidationError);
    await expect(service.patch({ uid: 'u', set: { a: deep } })).rejects.toThrow(ValidationError);
    expect(calls).toEqual([]);
  });
});

describe('node count', () => {
  it('refuses a map over maxNodes with PayloadTooLargeError (413)', () => {
    expect(() => validateNodeMap(manyNodes(11), 10)).toThrow(PayloadTooLargeError);
    expect(() => validateNodeMap(manyNodes(10), 10)).not.toThrow();
  });

  it('refuses 200,001 nodes by default, in a PUT and in a PATCH, before the store is used', async () => {
    const { store, calls } = untouchableStore();
    const service = new WorkflowService(store);
    const nodes = manyNodes(200_001);

    await expect(service.persist({ uid: 'u', namespace: 'argo', name: 'n', nodes })).rejects.toThrow(
      PayloadTooLargeError,
    );
    await expect(service.patch({ uid: 'u', set: nodes })).rejects.toThrow(PayloadTooLargeError);
    await expect(service.patch({ uid: 'u', remove: Object.keys(nodes) })).rejects.toThrow(
      PayloadTooLargeError,
    );
    expect(calls).toEqual([]);
  });
});

describe('node ids', () => {
  const nodeIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:()\-[\]]{0,252}$/;
  const invalidId = fc.string({ maxLength: 300, unit: 'binary' }).filter((id) => !nodeIdPattern.test(id));

  it('refuses an id no node can have, as a key of set or nodes and in remove, before the store is used', async () => {
    await fc.assert(
      fc.asyncProperty(invalidId, async (id) => {
        const { store, calls } = untouchableStore();
        const service = new WorkflowService(store);

        await expect(
          service.persist({ uid: 'u', namespace: 'argo', name: 'n', nodes: { [id]: {} } }),
        ).rejects.toThrow(ValidationError);
        await expect(service.patch({ uid: 'u', set: { [id]: {} } })).rejects.toThrow(ValidationError);
        await expect(service.patch({ uid: 'u', remove: [id] })).rejects.toThrow(ValidationError);
        expect(calls).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });
});
