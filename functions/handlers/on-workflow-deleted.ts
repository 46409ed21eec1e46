/**
 * EventBridge `Workflow Deleted`: `{uid}`. Deletes the record only; the data
 * expires by TTL (invariant 5).
 *
 * Idempotent under at-least-once delivery: deleting a workflow that is
 * already gone is a success, not an error, so a redelivered event is a no-op.
 */
import { WorkflowNotFoundError } from '#domain/errors';
import { eventHandler } from '#lambda/middleware';
import { workflowDeletedDetailSchema } from '#lambda/schemas';
import { type Wiring, wiring } from '#lambda/wiring';

export const makeOnWorkflowDeleted = ({ service }: Wiring) =>
  eventHandler(workflowDeletedDetailSchema, async ({ uid }) => {
    try {
      await service.deleteWorkflow(uid);
      return { outcome: 'applied' };
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return { outcome: 'unchanged' };
      throw error;
    }
  });

export const handler = makeOnWorkflowDeleted(wiring());
