/** `wfo get <uid> [--nodes | --tree ...]`: a workflow's metadata and node counts by phase, or its tree. */
import { nodePhases } from '../wfo-client.ts';
import { type Command, UsageError } from './args.ts';
import { keyValues, metadataRows, nodeTable, phaseCounts, withoutClientFields } from './output.ts';
import { renderTree } from './tree.ts';

/** `wfo get`. */
export const getCommand: Command = {
  arguments: ['uid'],
  options: ['nodes', 'tree', 'phase', 'depth', 'node', 'all'],
  async run(context, [uid = '']) {
    const { values } = context;
    if (!values.tree && (values.phase || values.depth || values.node || values.all)) {
      throw new UsageError('--phase, --depth, --node and --all go with --tree');
    }
    if (values.tree && values.nodes) throw new UsageError('--tree and --nodes exclude each other');
    const phases = values.phase?.split(',').map((phase) => phase.trim());
    const unknown = phases?.filter((phase) => !(nodePhases as readonly string[]).includes(phase));
    if (unknown && unknown.length > 0) {
      throw new UsageError(`--phase ${unknown.join(',')}: use ${nodePhases.join(', ')}`);
    }
    if (values.depth !== undefined && !/^\d{1,4}$/.test(values.depth)) {
      throw new UsageError(`--depth '${values.depth}' is not a whole number`);
    }
    const workflow = await context.client.getWorkflow(uid);
    if (context.values.json) return context.printJson(withoutClientFields(workflow));
    const rows = metadataRows(workflow, `${workflow.nodeCount} (${phaseCounts(workflow.nodes)})`);
    context.print(keyValues(rows));
    if (values.nodes) context.print(`\n${nodeTable(workflow.nodes)}`);
    if (values.tree) {
      if (values.node !== undefined && !(values.node in workflow.nodes)) {
        throw new UsageError(`--node '${values.node}': the workflow has no such node`);
      }
      const tree = renderTree(workflow.nodes, {
        workflowName: workflow.name,
        ...(phases ? { phases: new Set(phases) } : {}),
        ...(values.depth === undefined ? {} : { depth: Number(values.depth) }),
        ...(values.node === undefined ? {} : { node: values.node }),
        ...(values.all ? { all: true } : {}),
      });
      context.print(
        tree === undefined
          ? `\nno tree: the workflow has no root node named '${workflow.name}' (its name)`
          : `\n${tree}`,
      );
    }
  },
};
