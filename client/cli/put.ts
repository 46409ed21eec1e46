/** `wfo put <uid> -f FILE`: persist a whole workflow, optionally guarded or re-applied. */
import type { PutWorkflowBody } from '../wfo-client.ts';
import { type Command, readJsonObject, UsageError } from './args.ts';
import { describeWrite, keyValues, metadataRows, withoutClientFields } from './output.ts';

/** `wfo put`. */
export const putCommand: Command = {
  arguments: ['uid'],
  options: ['file', 'if-match', 'create', 'reapply', 'base-version'],
  async run(context, [uid = '']) {
    const { values } = context;
    if (values.file === undefined) throw new UsageError('put needs -f FILE (or -f - for standard input)');
    if (values.create && values['if-match'] !== undefined) {
      throw new UsageError('--create and --if-match exclude each other');
    }
    const body = (await readJsonObject(values.file, context.io)) as unknown as PutWorkflowBody;
    const baseVersion = values['base-version'] ?? body.baseVersion;
    if (values.reapply) {
      if (values['if-match'] === undefined) {
        throw new UsageError('--reapply needs --if-match: the resourceVersion the change was made against');
      }
      if (baseVersion === undefined) {
        throw new UsageError(
          '--reapply needs --base-version: the nodeStatusVersion the change was made against',
        );
      }
    }
    const result = await context.client.putWorkflow(
      uid,
      baseVersion === undefined ? body : { ...body, baseVersion },
      {
        ifMatch: values['if-match'],
        ifNoneMatch: values.create ? '*' : undefined,
        onConflict: values.reapply ? 'reapply' : undefined,
      },
    );
    if (values.json) return context.printJson(withoutClientFields(result));
    context.print(
      keyValues([
        ['result', result.created ? 'created' : 'updated'],
        ...metadataRows(result, String(result.nodeCount)),
        ['write', describeWrite(result.write)],
      ]),
    );
  },
};
