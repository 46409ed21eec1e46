/** `wfo stop <uid> [--strategy Stop|Terminate] [--message TEXT]`: fail a workflow's unfinished nodes. */
import { stopStrategies } from '../wfo-client.ts';
import { type Command, oneOf } from './args.ts';
import { keyValues, metadataRows, phaseCounts, withoutClientFields } from './output.ts';

/** `wfo stop`. */
export const stopCommand: Command = {
  arguments: ['uid'],
  options: ['strategy', 'message'],
  async run(context, [uid = '']) {
    const strategy = oneOf(context.values.strategy ?? 'Stop', stopStrategies, '--strategy');
    const message = context.values.message;
    const result = await context.client.stopWorkflow(
      uid,
      message === undefined ? { strategy } : { strategy, message },
    );
    if (context.values.json) return context.printJson(withoutClientFields(result));
    const nodes = result.nodes === undefined ? '' : ` (${phaseCounts(result.nodes)})`;
    context.print(keyValues(metadataRows(result, `${result.nodeCount}${nodes}`)));
  },
};
