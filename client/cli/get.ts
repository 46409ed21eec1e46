/** `wfo get <uid> [--nodes]`: a workflow's metadata and node counts by phase. */
import type { Command } from './args.ts';
import { keyValues, metadataRows, nodeTable, phaseCounts, withoutClientFields } from './output.ts';

/** `wfo get`. */
export const getCommand: Command = {
  arguments: ['uid'],
  options: ['nodes'],
  async run(context, [uid = '']) {
    const workflow = await context.client.getWorkflow(uid);
    if (context.values.json) return context.printJson(withoutClientFields(workflow));
    const rows = metadataRows(workflow, `${workflow.nodeCount} (${phaseCounts(workflow.nodes)})`);
    context.print(keyValues(rows));
    if (context.values.nodes) context.print(`\n${nodeTable(workflow.nodes)}`);
  },
};
