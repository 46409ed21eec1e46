/** `wfo patch <uid>`: set, re-phase and remove some nodes. */
import { type NodeDelta, type NodeMap, type NodeStatus, NotFoundError } from '../wfo-client.ts';
import { type Command, parsePhaseChange, readJsonObject, UsageError } from './args.ts';
import { describeWrite, keyValues, metadataRows, withoutClientFields } from './output.ts';

/** `wfo patch`. */
export const patchCommand: Command = {
  arguments: ['uid'],
  options: ['file', 'set-phase', 'remove', 'if-match'],
  async run(context, [uid = '']) {
    const { values, client } = context;
    const delta = (
      values.file === undefined ? {} : await readJsonObject(values.file, context.io)
    ) as NodeDelta;
    if (
      delta.set !== undefined &&
      (delta.set === null || typeof delta.set !== 'object' || Array.isArray(delta.set))
    ) {
      throw new UsageError("the delta's set must be an object mapping node id to node");
    }
    if (delta.remove !== undefined && !Array.isArray(delta.remove)) {
      throw new UsageError("the delta's remove must be an array of node ids");
    }
    const set: NodeMap = { ...delta.set };
    const remove = [...(delta.remove ?? []), ...(values.remove ?? [])];
    let ifMatch = values['if-match'];

    const phaseChanges = (values['set-phase'] ?? []).map(parsePhaseChange);
    if (phaseChanges.length > 0) {
      // A set node replaces the whole node, so change the phase on the node as
      // stored and guard the write with the version that was read.
      const current = await client.getWorkflow(uid);
      ifMatch ??= current.etag;
      for (const { nodeId, phase } of phaseChanges) {
        const node: NodeStatus | undefined = set[nodeId] ?? current.nodes[nodeId];
        if (node === undefined) throw new NotFoundError(`node '${nodeId}' is not in workflow '${uid}'`);
        set[nodeId] = { ...node, phase };
      }
    }

    const request: NodeDelta = {
      ...delta,
      set: Object.keys(set).length > 0 ? set : undefined,
      remove: remove.length > 0 ? remove : undefined,
    };
    if (
      request.set === undefined &&
      request.remove === undefined &&
      !('phase' in delta || 'message' in delta)
    ) {
      throw new UsageError('nothing to patch: give -f FILE, --set-phase ID=PHASE or --remove ID');
    }
    const result = await client.patchNodes(uid, request, { ifMatch });
    if (values.json) return context.printJson(withoutClientFields(result));
    context.print(
      keyValues([...metadataRows(result, String(result.nodeCount)), ['write', describeWrite(result.write)]]),
    );
  },
};
