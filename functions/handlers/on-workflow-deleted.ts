/**
 * EventBridge `Workflow Deleted`: `{uid}`. Deletes the record only; the data
 * expires by TTL (invariant 5).
 *
 * Idempotent under at-least-once delivery: deleting a workflow that is
 * already gone is a success, not an error, so a redelivered event is a no-op.
 */
import { WorkflowNotFoundError } from '#domain/errors';
import { eventHandler } from '#http/middleware';
import { workflowDeletedDetailSchema } from '#http/schemas';
import { serviceFromEnvironment } from '#store/clients';

const { service } = serviceFromEnvironment();

export const handler = eventHandler(workflowDeletedDetailSchema, async ({ uid }) => {
  try {
    await service.deleteWorkflow(uid);
    return { outcome: 'applied' };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { outcome: 'unchanged' };
    throw error;
  }
});
