/** `wfo health`: check that the service answers, and say which URL was asked. */
import type { Command } from './args.ts';
import { keyValues } from './output.ts';

/** `wfo health`. */
export const healthCommand: Command = {
  arguments: [],
  options: [],
  async run(context) {
    const health = await context.client.health();
    if (context.values.json) return context.printJson(health);
    context.print(
      keyValues([
        ['url', context.baseUrl],
        ['status', health.status],
      ]),
    );
  },
};
