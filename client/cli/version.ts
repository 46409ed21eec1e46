/** `wfo version <uid> <version> [--nodes]`: one version, current or superseded. */
import type { Command } from './args.ts';
import { keyValues, nodeTable, phaseCounts } from './output.ts';

/** `wfo version`. */
export const versionCommand: Command = {
  arguments: ['uid', 'version'],
  options: ['nodes'],
  async run(context, [uid = '', nodeStatusVersion = '']) {
    const version = await context.client.getVersion(uid, nodeStatusVersion);
    if (context.values.json) return context.printJson(version);
    const nodeCount = Object.keys(version.nodes).length;
    context.print(
      keyValues([
        ['uid', version.uid],
        ['nodeStatusVersion', version.nodeStatusVersion],
        ['nodes', `${nodeCount} (${phaseCounts(version.nodes)})`],
      ]),
    );
    if (context.values.nodes) context.print(`\n${nodeTable(version.nodes)}`);
  },
};
