/**
 * `wfo watch <uid> [--interval S]`: follows a workflow until it completes,
 * printing each node's phase change as it is seen, through reads since the
 * version it holds (the bytes on the wire follow the change). Exits 0 when
 * the workflow Succeeded, 1 when it Failed or ended in Error.
 */
import { mergeFields } from '../sync.ts';
import { GoneError, type NodeMap } from '../wfo-client.ts';
import { type Command, positiveInteger } from './args.ts';

const completed = new Set(['Succeeded', 'Failed', 'Error']);

/** The workflow ended other than Succeeded: exit 1, with this message. */
export class WorkflowEndedError extends Error {
  override readonly name = 'WorkflowEndedError';
}

/** `wfo watch`. */
export const watchCommand: Command = {
  arguments: ['uid'],
  options: ['interval'],
  async run(context, [uid = '']) {
    const intervalMs =
      1000 *
      (context.values.interval === undefined ? 2 : positiveInteger(context.values.interval, '--interval'));
    const sleep = context.io.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
    const stamp = () => new Date().toISOString().slice(11, 19);
    let workflow = await context.client.getWorkflow(uid);
    let nodes: NodeMap = { ...workflow.nodes };
    let version = workflow.nodeStatusVersion;
    let phase = workflow.phase;
    context.print(`${stamp()} ${uid} ${phase}, ${workflow.nodeCount} nodes`);
    while (!completed.has(phase)) {
      await sleep(intervalMs);
      let pages: Awaited<ReturnType<typeof context.client.readNodes>>[];
      try {
        pages = [await context.client.readNodes(uid, { since: version })];
        while (pages.at(-1)?.next)
          pages.push(await context.client.readNodes(uid, { next: pages.at(-1)?.next as string }));
      } catch (error) {
        if (!(error instanceof GoneError)) throw error;
        workflow = await context.client.getWorkflow(uid);
        nodes = { ...workflow.nodes };
        version = workflow.nodeStatusVersion;
        continue;
      }
      const first = pages[0];
      if (!first?.workflow) continue;
      const next: NodeMap = { ...nodes };
      for (const page of pages) {
        for (const id of page.remove ?? []) delete next[id];
        for (const [id, fields] of Object.entries(page.merge ?? {})) next[id] = mergeFields(next[id], fields);
        Object.assign(next, page.set);
      }
      for (const [id, node] of Object.entries(next)) {
        const before = nodes[id]?.phase;
        if (node.phase !== before) {
          const name = typeof node.displayName === 'string' ? node.displayName : id;
          context.print(`${stamp()} ${name}: ${before ?? 'new'} -> ${node.phase ?? '-'}`);
        }
      }
      if (first.workflow.phase !== phase)
        context.print(`${stamp()} ${uid}: ${phase} -> ${first.workflow.phase}`);
      nodes = next;
      version = first.nodeStatusVersion;
      phase = first.workflow.phase;
    }
    if (phase !== 'Succeeded') throw new WorkflowEndedError(`workflow '${uid}' ended ${phase}`);
  },
};
