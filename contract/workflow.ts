/**
 * The words of the workflow contract that every side must spell the same:
 * node phases, workflow phases, stop strategies and error codes. The domain
 * enforces them, the edge validates with them, and a test pins the client's
 * own copies (it depends on Node built-ins only) to these.
 */

/** Argo's `NodePhase` values, the only `phase` a node may have. */
export const nodePhases = [
  'Pending',
  'Running',
  'Succeeded',
  'Skipped',
  'Failed',
  'Error',
  'Omitted',
] as const;
export type NodePhase = (typeof nodePhases)[number];

/** Node phases that never change again: a write never moves a node out of one (sticky). */
export const terminalNodePhases = ['Succeeded', 'Failed', 'Error', 'Skipped', 'Omitted'] as const;

/**
 * Argo's `WorkflowPhase` values. A workflow's phase is one of these, or empty
 * (Argo's unset phase, which means the same as leaving it out).
 */
export const workflowPhases = ['Pending', 'Running', 'Succeeded', 'Failed', 'Error'] as const;
export type WorkflowPhase = (typeof workflowPhases)[number];

/** Workflow phases after which a workflow is completed: there is nothing left to stop. */
export const completedWorkflowPhases = ['Succeeded', 'Failed', 'Error'] as const;

/** How a workflow is stopped (Argo's `shutdown`). */
export const stopStrategies = ['Stop', 'Terminate'] as const;
export type StopStrategy = (typeof stopStrategies)[number];

/** The contract's error codes and their HTTP statuses (docs/api.md#errors). */
export const errorStatus = {
  BadRequest: 400,
  NotFound: 404,
  Conflict: 409,
  Gone: 410,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  InternalError: 500,
  ServiceUnavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;
