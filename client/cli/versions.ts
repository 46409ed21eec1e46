/** `wfo versions <uid>`: the stored versions of a workflow, newest first. */
import type { Command } from './args.ts';
import { formatBytes, table } from './output.ts';

/** `wfo versions`. */
export const versionsCommand: Command = {
  arguments: ['uid'],
  options: [],
  async run(context, [uid = '']) {
    const list = await context.client.listVersions(uid);
    if (context.values.json) return context.printJson(list);
    if (list.items.length === 0) return context.print(`no versions of workflow ${uid}`);
    context.print(
      table(
        ['VERSION', 'CREATED', 'EXPIRES', 'NODES', 'STORED', 'CURRENT'],
        list.items.map((item) => [
          item.nodeStatusVersion,
          String(item.createdAt),
          String(item.expiresAt),
          String(item.nodeCount),
          formatBytes(item.storedBytes),
          item.current ? '*' : '',
        ]),
      ),
    );
  },
};
