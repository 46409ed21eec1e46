import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodePhases } from '#contract/workflow';
import { ValidationError } from '#domain/errors';
import {
  applyNodeChange,
  diffNodeMaps,
  failUnfinishedNodes,
  isTerminalNodePhase,
  type NodeMap,
  validateNodeMap,
} from '#domain/nodes';

const phase = fc.constantFrom(...nodePhases);
const nodes = fc
  .dictionary(fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), phase, { maxKeys: 30 })
  .map(
    (phases) =>
      Object.fromEntries(Object.entries(phases).map(([id, p]) => [id, { id, phase: p }])) as NodeMap,
  );

describe('node rules', () => {
  it('rejects an id that disagrees with its key', () => {
    expect(() => validateNodeMap({ a: { id: 'b' } })).toThrow(ValidationError);
    expect(() => validateNodeMap({ a: { id: 'b' } })).toThrow(/id must equal its key/);
  });

  it('rejects unknown phases, non-object nodes and bad ids', () => {
    expect(() => validateNodeMap({ a: { phase: 'Sleeping' } })).toThrow(/unknown phase 'Sleeping'/);
    expect(() => validateNodeMap({ a: [] })).toThrow(/must be a JSON object/);
    expect(() => validateNodeMap({ 'a b': {} })).toThrow(/node id/);
    expect(() => validateNodeMap([])).toThrow(/nodes must be a JSON object/);
  });

  it('never moves a terminal node back to a non-terminal phase when a change is applied', () => {
    fc.assert(
      fc.property(nodes, nodes, (current, incoming) => {
        const before = structuredClone(current);
        applyNodeChange(current, { set: incoming, remove: [] });
        for (const [id, node] of Object.entries(before)) {
          if (isTerminalNodePhase(node.phase)) expect(isTerminalNodePhase(current[id]?.phase)).toBe(true);
        }
        for (const [id, node] of Object.entries(incoming)) {
          if (!isTerminalNodePhase(before[id]?.phase)) expect(current[id]).toEqual(node);
        }
      }),
    );
  });

  it('turns the base into the target when the diff is applied to it (no terminal node in the way)', () => {
    const same = (a: object, b: object) => JSON.stringify(a) === JSON.stringify(b);
    fc.assert(
      fc.property(nodes, nodes, (anyBase, target) => {
        const base = Object.fromEntries(
          Object.entries(anyBase).filter(([, node]) => !isTerminalNodePhase(node.phase)),
        );
        const result = structuredClone(base);
        applyNodeChange(result, diffNodeMaps(base, target, same));
        expect(result).toEqual(target);
      }),
    );
  });

  it('fails every unfinished node with the stop message and keeps finished ones', () => {
    const map: NodeMap = {
      a: { id: 'a', phase: 'Running' },
      b: { id: 'b', phase: 'Succeeded', finishedAt: '2024-01-01T00:00:00Z' },
      c: { id: 'c' },
    };
    const touched = failUnfinishedNodes(map, 'Terminate', '2025-01-01T00:00:00Z');
    expect([...touched].sort()).toEqual(['a', 'c']);
    expect(map.a).toEqual({
      id: 'a',
      phase: 'Failed',
      message: "Stopped with strategy 'Terminate'",
      finishedAt: '2025-01-01T00:00:00Z',
    });
    expect(map.b).toEqual({ id: 'b', phase: 'Succeeded', finishedAt: '2024-01-01T00:00:00Z' });
  });
});
