import { describe, expect, it } from 'vitest';
import {
  type ArgoNode,
  type ArgoNodeMap,
  generateNodes,
  loadArgoFixtures,
  mutateNodes,
  nodePhases,
} from '#testkit/argo-generator';

const validPhases = new Set<string>(nodePhases);
const terminalPhases = new Set(['Succeeded', 'Skipped', 'Failed', 'Error', 'Omitted']);
const groupTypes = new Set(['DAG', 'Steps']);

const ids = (value: unknown) => (Array.isArray(value) ? (value as string[]) : []);

/** Every rule a generated map must satisfy; returns the problems found. */
function structuralProblems(nodes: ArgoNodeMap, workflowName: string): string[] {
  const problems: string[] = [];
  const idPattern = new RegExp(`^${workflowName}-\\d{10}$`);
  for (const [key, node] of Object.entries(nodes)) {
    if (node.id !== key) problems.push(`${key}: id ${String(node.id)}`);
    if (key !== workflowName && !idPattern.test(key)) problems.push(`${key}: id format`);
    if (!validPhases.has(String(node.phase))) problems.push(`${key}: phase ${String(node.phase)}`);
    for (const child of [...ids(node.children), ...ids(node.outboundNodes)]) {
      if (!(child in nodes)) problems.push(`${key}: missing child ${child}`);
    }
    if (key !== workflowName) {
      const boundary = nodes[String(node.boundaryID)];
      if (!boundary || !groupTypes.has(String(boundary.type)))
        problems.push(`${key}: boundary ${node.boundaryID}`);
    }
    if (node.type === 'Retry') {
      const attempts = ids(node.children).map((child) => nodes[child]);
      if (attempts.length === 0) problems.push(`${key}: Retry without attempts`);
      for (const attempt of attempts) {
        if (attempt?.type !== 'Pod' || (attempt.nodeFlag as { retried?: boolean })?.retried !== true) {
          problems.push(`${key}: attempt ${String(attempt?.id)} is not a retried Pod`);
        }
      }
    }
    if (!terminalPhases.has(String(node.phase)) && node.finishedAt !== null)
      problems.push(`${key}: finishedAt`);
  }
  return problems;
}

/** Ids reachable from the root by following `children`. */
function reachableFromRoot(nodes: ArgoNodeMap, root: string): Set<string> {
  const seen = new Set([root]);
  const queue = [root];
  while (queue.length > 0) {
    for (const child of ids(nodes[queue.pop() as string]?.children)) {
      if (!seen.has(child)) {
        seen.add(child);
        queue.push(child);
      }
    }
  }
  return seen;
}

const podsOf = (nodes: ArgoNodeMap) => Object.values(nodes).filter((node) => node.type === 'Pod');
const rootOf = (nodes: ArgoNodeMap) => nodes[Object.keys(nodes)[0] as string] as ArgoNode;

describe('generateNodes', () => {
  it('returns the same map for the same options and another one for another seed', () => {
    const first = generateNodes({ nodeCount: 2_000, seed: 42 });
    const again = generateNodes({ nodeCount: 2_000, seed: 42 });
    const other = generateNodes({ nodeCount: 2_000, seed: 43 });

    expect(JSON.stringify(again)).toBe(JSON.stringify(first));
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(first));
  });

  it.each([1, 2, 3, 4, 5, 7, 9, 10, 50, 333, 10_000])('makes exactly %i nodes', (nodeCount) => {
    const nodes = generateNodes({ nodeCount, seed: nodeCount });

    expect(Object.keys(nodes)).toHaveLength(nodeCount);
  });

  it('rejects a node count that is not a positive integer', () => {
    expect(() => generateNodes({ nodeCount: 0, seed: 1 })).toThrow(RangeError);
    expect(() => generateNodes({ nodeCount: 2.5, seed: 1 })).toThrow(RangeError);
  });

  it.each([1, 2, 3, 4, 5])('keeps ids, children, boundaries and phases consistent (seed %i)', (seed) => {
    const nodes = generateNodes({ nodeCount: 5_000, seed, workflowName: 'wf-consistency' });

    expect(structuralProblems(nodes, 'wf-consistency')).toEqual([]);
    expect(reachableFromRoot(nodes, 'wf-consistency').size).toBe(5_000);
  });

  it('names the root after the workflow and counts every pod in its progress', () => {
    const nodes = generateNodes({ nodeCount: 3_000, seed: 8, workflowName: 'nightly-abc12' });
    const root = nodes['nightly-abc12'] as ArgoNode;
    const pods = podsOf(nodes);
    const finishedPods = pods.filter((pod) => terminalPhases.has(String(pod.phase)));

    expect(Object.keys(nodes)[0]).toBe('nightly-abc12');
    expect(['DAG', 'Steps']).toContain(root.type);
    expect(root.progress).toBe(`${finishedPods.length}/${pods.length}`);
  });

  it('uses the node types and fields of real Argo node statuses', () => {
    const nodes = generateNodes({ nodeCount: 10_000, seed: 3 });
    const types = new Set(Object.values(nodes).map((node) => node.type));
    const finishedPod = podsOf(nodes).find((pod) => pod.phase === 'Succeeded') as ArgoNode;

    for (const type of ['Pod', 'DAG', 'Steps', 'StepGroup', 'Retry']) expect(types).toContain(type);
    expect(finishedPod).toMatchObject({
      templateScope: expect.stringMatching(/^local\//),
      hostNodeName: expect.any(String),
      progress: '1/1',
      resourcesDuration: { cpu: expect.any(Number), memory: expect.any(Number) },
      inputs: { parameters: expect.any(Array) },
      outputs: {
        artifacts: [{ name: 'main-logs', s3: { key: expect.stringMatching(/\/main\.log$/) } }],
        exitCode: '0',
      },
    });
    expect(finishedPod.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('averages 500 to 800 bytes of JSON per node', () => {
    const nodes = generateNodes({ nodeCount: 10_000, seed: 11 });
    const bytes = Object.values(nodes).reduce(
      (sum, node) => sum + Buffer.byteLength(JSON.stringify(node)),
      0,
    );

    const mean = bytes / 10_000;

    expect(mean).toBeGreaterThan(500);
    expect(mean).toBeLessThan(800);
  });

  it('leaves the last runningFraction active and everything terminal without one', () => {
    const finished = generateNodes({ nodeCount: 2_000, seed: 5, runningFraction: 0 });
    const half = generateNodes({ nodeCount: 2_000, seed: 5, runningFraction: 0.5 });
    const active = (nodes: ArgoNodeMap) =>
      podsOf(nodes).filter((pod) => pod.phase === 'Pending' || pod.phase === 'Running').length;

    expect(active(finished)).toBe(0);
    expect(rootOf(finished).phase).toBe('Succeeded');
    expect(active(half)).toBeGreaterThan(podsOf(half).length / 4);
    expect(rootOf(half).phase).toBe('Running');
  });
});

describe('mutateNodes', () => {
  it('advances the requested number of active pods by one step each, without touching its input', () => {
    const nodes = generateNodes({ nodeCount: 10_000, seed: 2 });
    const before = JSON.stringify(nodes);

    const { set, changedIds } = mutateNodes(nodes, { count: 10, seed: 3 });

    expect(JSON.stringify(nodes)).toBe(before);
    expect(Object.keys(set)).toEqual(changedIds);
    const changedPods = changedIds.filter((id) => nodes[id]?.type === 'Pod');
    expect(changedPods).toHaveLength(10);
    for (const id of changedPods) {
      const transition = `${nodes[id]?.phase}->${set[id]?.phase}`;
      expect(['Pending->Running', 'Running->Succeeded']).toContain(transition);
    }
    for (const id of changedIds) {
      expect(JSON.stringify(set[id]), id).not.toBe(JSON.stringify(nodes[id]));
      expect(set[id]?.id).toBe(id);
    }
  });

  it('is deterministic', () => {
    const nodes = generateNodes({ nodeCount: 1_000, seed: 4 });

    expect(mutateNodes(nodes, { count: 20, seed: 9 })).toEqual(mutateNodes(nodes, { count: 20, seed: 9 }));
  });

  it('finishes a pod with outputs and moves the progress of every container up to the root', () => {
    const nodes = generateNodes({ nodeCount: 1_000, seed: 6, runningFraction: 0.3 });
    const runningPods = podsOf(nodes).filter((pod) => pod.phase === 'Running');
    const rootBefore = String(rootOf(nodes).progress).split('/').map(Number);

    // Advance every active pod once: the running ones finish.
    const { set } = mutateNodes(nodes, { count: 1_000_000, seed: 1 });
    const next = { ...nodes, ...set };

    for (const pod of runningPods) {
      expect(next[pod.id as string]).toMatchObject({
        phase: 'Succeeded',
        progress: '1/1',
        finishedAt: expect.any(String),
        outputs: { exitCode: '0' },
      });
    }
    expect(rootOf(next).progress).toBe(`${(rootBefore[0] as number) + runningPods.length}/${rootBefore[1]}`);
  });

  it('brings a running workflow to a consistent Succeeded end, never moving a terminal node back', () => {
    let nodes = generateNodes({ nodeCount: 1_500, seed: 12, runningFraction: 0.6, workflowName: 'wf-run' });
    for (let round = 0; round < 50; round++) {
      const { set, changedIds } = mutateNodes(nodes, { count: 40, seed: round });
      if (changedIds.length === 0) break;
      for (const id of changedIds) {
        if (terminalPhases.has(String(nodes[id]?.phase))) expect(set[id]?.phase, id).toBe(nodes[id]?.phase);
      }
      nodes = { ...nodes, ...set };
    }

    expect(structuralProblems(nodes, 'wf-run')).toEqual([]);
    const unfinished = Object.values(nodes).filter((node) => !terminalPhases.has(String(node.phase)));
    expect(unfinished.map((node) => `${node.type} ${node.id}`)).toEqual([]);
    for (const node of Object.values(nodes)) {
      if (typeof node.progress === 'string') {
        const [done, total] = node.progress.split('/');
        expect(done, String(node.id)).toBe(total);
      }
    }
  });

  it('changes nothing when no pod is active', () => {
    const nodes = generateNodes({ nodeCount: 500, seed: 1, runningFraction: 0 });

    expect(mutateNodes(nodes, { count: 10, seed: 1 })).toEqual({ set: {}, changedIds: [] });
  });
});

describe('loadArgoFixtures', () => {
  it('loads the eleven real node-status maps, keyed by node id', () => {
    const fixtures = loadArgoFixtures();

    expect(fixtures).toHaveLength(11);
    expect(fixtures.map((fixture) => fixture.file)).toContain('dag-nested-zxlc2.json');
    for (const { file, nodes } of fixtures) {
      expect(Object.keys(nodes).length, file).toBeGreaterThan(0);
      for (const [id, node] of Object.entries(nodes)) expect(node.id, file).toBe(id);
    }
  });
});
