/** `wfo diff <uid> [FROM [TO]]`: what changed between two versions, node by node. */
import type { Command } from './args.ts';
import { table } from './output.ts';

/** `wfo diff`. */
export const diffCommand: Command = {
  arguments: ['uid'],
  optionalArguments: ['from', 'to'],
  options: [],
  async run(context, [uid = '', from, to]) {
    const diff = await context.client.diff(uid, {
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
    });
    if (context.values.json) return context.printJson(diff);
    context.print(
      `${diff.from} -> ${diff.to}: ${diff.added} added, ${diff.removed} removed, ${diff.changed} changed`,
    );
    if (diff.nodes.length === 0) return;
    const order = { removed: 0, added: 1, changed: 2 } as const;
    const rows = [...diff.nodes]
      .sort((a, b) => order[a.change] - order[b.change] || (a.id < b.id ? -1 : 1))
      .map((entry) => [
        entry.change,
        entry.id,
        entry.displayName ?? '',
        entry.change === 'changed' && entry.phaseBefore !== entry.phaseAfter
          ? `${entry.phaseBefore ?? '-'} -> ${entry.phaseAfter ?? '-'}`
          : (entry.phaseAfter ?? entry.phaseBefore ?? ''),
        (entry.fields ?? []).join(','),
      ]);
    context.print(`\n${table(['CHANGE', 'NODE', 'NAME', 'PHASE', 'FIELDS'], rows)}`);
  },
};
