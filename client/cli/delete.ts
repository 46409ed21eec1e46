/** `wfo delete <uid>`: delete a workflow; its stored versions expire later. */
import type { Command } from './args.ts';

/** `wfo delete`. */
export const deleteCommand: Command = {
  arguments: ['uid'],
  options: [],
  async run(context, [uid = '']) {
    await context.client.deleteWorkflow(uid);
    // 204 has no body: --json prints nothing and the exit code says it all.
    if (!context.values.json) context.print(`deleted workflow ${uid}`);
  },
};
