/** `wfo versions <uid>`: the stored versions of a workflow, newest first, with what each changed. */
import type { NodePhase } from '../wfo-client.ts';
import type { Command } from './args.ts';
import { formatBytes, table } from './output.ts';

/** Versions whose change from the one before is worked out (one diff each, reading only what differs). */
const diffedVersions = 20;

const phaseText = (counts: Readonly<Partial<Record<NodePhase, number>>> | undefined): string =>
  counts === undefined
    ? '-'
    : Object.entries(counts)
        .map(([phase, count]) => `${phase} ${count}`)
        .join(', ');

/** `wfo versions`. */
export const versionsCommand: Command = {
  arguments: ['uid'],
  options: [],
  async run(context, [uid = '']) {
    const list = await context.client.listVersions(uid);
    if (context.values.json) return context.printJson(list);
    if (list.items.length === 0) return context.print(`no versions of workflow ${uid}`);
    const changed = await Promise.all(
      list.items.map(async (item, index) => {
        const previous = list.items[index + 1];
        if (index >= diffedVersions || previous === undefined)
          return index === list.items.length - 1 ? 'first' : '';
        try {
          const diff = await context.client.diff(uid, {
            from: previous.nodeStatusVersion,
            to: item.nodeStatusVersion,
          });
          return String(diff.added + diff.removed + diff.changed);
        } catch {
          // A version on its way out (past retention) has nothing left to compare with.
          return '?';
        }
      }),
    );
    context.print(
      table(
        ['VERSION', 'CREATED', 'EXPIRES', 'NODES', 'CHANGED', 'STORED', 'CURRENT', 'PHASES'],
        list.items.map((item, index) => [
          item.nodeStatusVersion,
          String(item.createdAt),
          String(item.expiresAt),
          String(item.nodeCount),
          changed[index] ?? '',
          formatBytes(item.storedBytes),
          item.current ? '*' : '',
          phaseText(item.phaseCounts),
        ]),
      ),
    );
  },
};
