/** `wfo list <namespace> [--limit N] [--next TOKEN | --all]`: the workflows of a namespace. */
import type { WorkflowPage } from '../wfo-client.ts';
import { type Command, positiveInteger, UsageError } from './args.ts';
import { table } from './output.ts';

/** Nodes done of all nodes, from the counts by phase the service keeps: `812/1000 (3 Failed)`. */
function progressOf(counts: WorkflowPage['items'][number]['phaseCounts']): string {
  if (counts === undefined) return '-';
  const all = Object.values(counts).reduce((sum, count) => sum + (count ?? 0), 0);
  const done = all - (counts.Pending ?? 0) - (counts.Running ?? 0);
  const failed = (counts.Failed ?? 0) + (counts.Error ?? 0);
  return `${done}/${all}${failed > 0 ? ` (${failed} failed)` : ''}`;
}

/** `wfo list`. */
export const listCommand: Command = {
  arguments: ['namespace'],
  options: ['limit', 'next', 'all'],
  async run(context, [namespace = '']) {
    const { values, client } = context;
    if (values.all && values.next !== undefined) throw new UsageError('--all and --next exclude each other');
    const limit = values.limit === undefined ? undefined : positiveInteger(values.limit, '--limit');
    let page: WorkflowPage;
    if (values.all) {
      const items: WorkflowPage['items'] = [];
      for await (const item of client.iterateWorkflows(namespace, { limit })) items.push(item);
      page = { items };
    } else {
      page = await client.listWorkflows(namespace, { limit, next: values.next });
    }
    if (values.json) return context.printJson(page);
    if (page.items.length === 0) context.print(`no workflows in namespace ${namespace}`);
    else
      context.print(
        table(
          ['UID', 'NAME', 'PHASE', 'NODES', 'PROGRESS', 'UPDATED'],
          page.items.map((item) => [
            item.uid,
            item.name,
            item.phase,
            item.nodeCount === undefined ? '-' : String(item.nodeCount),
            progressOf(item.phaseCounts),
            item.updatedAt ?? '-',
          ]),
        ),
      );
    if (page.next !== undefined && page.next !== '') {
      context.print(`more: wfo list ${namespace} --next ${page.next}`);
    }
  },
};
