/**
 * `wfo get --tree` draws the tree as `argo get` does, checked on the real
 * Argo fixtures: the lines Argo's own test of its printer expects for
 * many-items-z26lj (cmd/argo/commands/common/get_test.go, IndexOrdering),
 * pod names that agree with Argo's node ids (both are the FNV-1a hash of the
 * node name), the filters, and the shortening that keeps 100,000 nodes
 * readable.
 */
import { describe, expect, it } from 'vitest';
import { podName, renderTree, shortDuration } from '#client/cli/tree';
import type { NodeMap } from '#client/wfo-client';
import { generateNodes, loadArgoFixtures } from '#testkit/argo-generator';

const fixture = (name: string) => {
  const found = loadArgoFixtures().find(({ file }) => file === `${name}.json`);
  if (!found) throw new Error(`no fixture ${name}`);
  return found.nodes as NodeMap;
};
const now = new Date('2026-01-01T00:00:00Z');

describe('the node tree', () => {
  it("prints many-items-z26lj as argo get does, with the lines Argo's own printer test expects", () => {
    const tree = renderTree(fixture('many-items-z26lj'), { workflowName: 'many-items-z26lj', now }) as string;

    expect(tree).toContain('sleep(9:nine)     sleep           many-items-z26lj-sleep-2619926859  19s');
    expect(tree).toContain('sleep(10:ten)     sleep           many-items-z26lj-sleep-1052882686  23s');
    expect(tree).toContain('sleep(11:eleven)  sleep           many-items-z26lj-sleep-3011405271  22s');
    expect(tree.split('\n').map((line) => line.trimEnd())).toEqual([
      'STEP                     TEMPLATE        PODNAME                            DURATION  MESSAGE',
      ' ✔ many-items-z26lj      parallel-sleep',
      ' └─┬─✔ sleep(0:zero)     sleep           many-items-z26lj-sleep-1939921510  27s',
      '   ├─✔ sleep(1:one)      sleep           many-items-z26lj-sleep-2156977535  32s',
      '   ├─✔ sleep(2:two)      sleep           many-items-z26lj-sleep-3409403178  30s',
      '   ├─✔ sleep(3:three)    sleep           many-items-z26lj-sleep-1774150289  33s',
      '   ├─✔ sleep(4:four)     sleep           many-items-z26lj-sleep-3491220632  29s',
      '   ├─✔ sleep(5:five)     sleep           many-items-z26lj-sleep-1942531647  26s',
      '   ├─✔ sleep(6:six)      sleep           many-items-z26lj-sleep-3178865096  35s',
      '   ├─✔ sleep(7:seven)    sleep           many-items-z26lj-sleep-3031375822  36s',
      '   ├─✔ sleep(8:eight)    sleep           many-items-z26lj-sleep-753834747   21s',
      '   ├─✔ sleep(9:nine)     sleep           many-items-z26lj-sleep-2619926859  19s',
      '   ├─✔ sleep(10:ten)     sleep           many-items-z26lj-sleep-1052882686  23s',
      '   ├─✔ sleep(11:eleven)  sleep           many-items-z26lj-sleep-3011405271  22s',
      '   └─✔ sleep(12:twelve)  sleep           many-items-z26lj-sleep-3126938806  37s',
    ]);
  });

  it("names every pod of every fixture with the hash Argo's node id carries", () => {
    let checked = 0;
    for (const { file, nodes } of loadArgoFixtures()) {
      const workflow = file.replace(/\.json$/, '');
      for (const node of Object.values(nodes as NodeMap)) {
        const id = String(node.id);
        if (node.type !== 'Pod' || !id.startsWith(`${String(node.name).split('[')[0]}-`)) continue;
        const suffix = podName(workflow, String(node.name), String(node.templateName ?? ''))
          .split('-')
          .at(-1);
        expect(id.endsWith(`-${suffix}`), `${file}: ${id}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(20);
  });

  it('draws retries, nested DAGs and step groups as argo get does', () => {
    const tree = renderTree(fixture('seq-loop-pz4hh'), { workflowName: 'seq-loop-pz4hh', now }) as string;

    expect(tree.split('\n').map((line) => line.trimEnd())).toEqual([
      'STEP                   TEMPLATE      PODNAME                                 DURATION  MESSAGE',
      ' ● seq-loop-pz4hh      seq-loop',
      ' └───● iteration(0:a)  iteration',
      '     ├───✔ step1       succeed-step  seq-loop-pz4hh-succeed-step-4031713604  3s',
      '     └───✖ step2       failed-step',
      '         ├─✖ step2(0)  failed-step   seq-loop-pz4hh-failed-step-347271843    6s        Error (exit code 1)',
      '         └─✖ step2(1)  failed-step   seq-loop-pz4hh-failed-step-4172612902   6s        Error (exit code 1)',
    ]);
  });

  it('prints only the phases asked for, down to a depth, or one subtree', () => {
    const nodes = fixture('dag-disable-fail-fast-r6xdc');
    const workflowName = 'dag-disable-fail-fast-r6xdc';
    const cId = Object.values(nodes).find((node) => node.displayName === 'C')?.id as string;

    const failed = (renderTree(nodes, { workflowName, now, phases: new Set(['Failed']) }) as string).split(
      '\n',
    );
    const shallow = (renderTree(nodes, { workflowName, now, depth: 1 }) as string).split('\n');
    const subtree = (renderTree(nodes, { workflowName, now, node: cId }) as string).split('\n');

    expect(failed.slice(1).every((line) => line.includes('✖'))).toBe(true);
    expect(failed).toHaveLength(5);
    expect(shallow.some((line) => line.includes('C(0)'))).toBe(false);
    expect(shallow).toHaveLength(7);
    expect(subtree.map((line) => line.trim().split(/\s{2,}/)[0])).toEqual([
      'STEP',
      '✖ C',
      '├─✖ C(0)',
      '└─✖ C(1)',
    ]);
  });

  // Generating 100,000 nodes takes seconds on a loaded machine: a budget, not a timing assertion.
  it('keeps 100,000 nodes readable: long runs of siblings are shortened to a line that counts them', {
    timeout: 120_000,
  }, () => {
    const nodes = generateNodes({ nodeCount: 100_000, seed: 5, workflowName: 'big' }) as NodeMap;

    const tree = renderTree(nodes, { workflowName: 'big', now }) as string;
    const lines = tree.split('\n');
    const more = lines.filter((line) => /… \d+ more: /.test(line));
    const hidden = more.reduce((sum, line) => sum + Number(/… (\d+) more/.exec(line)?.[1]), 0);

    expect(lines.length).toBeLessThan(20_000);
    expect(more.length).toBeGreaterThan(0);
    expect(hidden).toBeGreaterThan(1_000);
    expect(renderTree(nodes, { workflowName: 'big', now, all: true })?.split('\n').length).toBeGreaterThan(
      50_000,
    );
  });

  it("writes durations as argo get's short form", () => {
    expect(
      [0, 1500, 19_000, 61_000, 720_000, 4_000_000, 18_000_000, 90_000_000, 400_000_000].map(shortDuration),
    ).toEqual(['0s', '1s', '19s', '1m', '12m', '1h', '5h', '1d', '4d']);
  });
});
