/**
 * Zod schemas of everything that enters at the edge: path parameters, query
 * strings, request bodies and event details. Unknown fields are ignored
 * (stripped). Node maps are checked only for shape here; the domain checks
 * each node (`validateNodeMap`) without copying megabytes of JSON.
 */
import { z } from 'zod';
import { nodePhases, stopStrategies, type WorkflowPhase, workflowPhases } from '#contract/workflow';
import { ValidationError } from '#domain/errors';
import { type NodeMap, type NodeStatus, workflowPhaseRule } from '#domain/nodes';
import { nodeTypes } from '#domain/summaries';

/** Workflow uid: 1-128 of `[A-Za-z0-9._:-]` (Kubernetes uids, and whatever else is safe in a URL and a key). */
export const uidSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters of letters, digits and . _ : -');

/** Namespace: an RFC 1123 DNS label, as Kubernetes requires. */
export const namespaceSchema = z
  .string()
  .max(63, 'must be at most 63 characters (a DNS label)')
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'must be a DNS label: lower-case letters, digits and -, starting and ending with a letter or digit',
  );

/** A nodeStatusVersion as it appears in a URL or a body. */
export const versionIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters of letters, digits and . _ : -');

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Shape only, and passed through by reference: a 50,000-node map is not cloned by the parser. */
const nodeMapSchema = z.custom<NodeMap>(isPlainObject, {
  message: 'must be a JSON object mapping node id to node status',
});

/** Some top-level fields of a node, by name. */
const fieldsSchema = z.custom<NodeStatus>(isPlainObject, { message: 'must be a JSON object of node fields' });

/** JSON `null` for an optional field means the same as leaving it out. */
const optional = <T extends z.ZodType>(schema: T) =>
  schema
    .nullish()
    .transform((value): z.output<T> | undefined => (value === null ? undefined : (value as z.output<T>)));

const workflowName = z.string().min(1, 'must not be empty').max(253, 'must be at most 253 characters');
/** Argo's WorkflowPhase, or empty (unset: the stored phase stays, as when it is left out). */
const workflowPhase = z
  .enum(['', ...workflowPhases], { message: workflowPhaseRule })
  .transform((phase): WorkflowPhase | undefined => (phase === '' ? undefined : phase));
const message = z.string().max(32_768, 'must be at most 32768 characters');

/** `PUT /v1/workflows/{uid}`. */
export const putWorkflowBodySchema = z.object({
  namespace: namespaceSchema,
  name: workflowName,
  phase: optional(workflowPhase),
  message: optional(message),
  nodes: nodeMapSchema,
  baseVersion: optional(versionIdSchema),
});

/** A node delta, as `PATCH /v1/workflows/{uid}/nodes` takes it. */
export const nodeDeltaSchema = z.object({
  set: optional(nodeMapSchema),
  remove: optional(z.array(z.string().min(1, 'must not be empty'))),
  merge: optional(
    z.record(
      z.string(),
      z.object({
        set: optional(fieldsSchema),
        unset: optional(z.array(z.string().min(1, 'must not be empty'))),
      }),
      { message: 'must map node id to {set?: {field: value}, unset?: [field]}' },
    ),
  ),
  phase: optional(workflowPhase),
  message: optional(message),
  baseVersion: optional(versionIdSchema),
});

/** `?since=&version=&next=` of `GET /v1/workflows/{uid}/nodes`. */
const commaList = <T extends string>(allowed: readonly T[], what: string) =>
  z
    .string()
    .transform((text) => text.split(',').map((word) => word.trim()))
    .pipe(
      z.array(z.enum(allowed as [T, ...T[]], { message: `must list ${what} from ${allowed.join(', ')}` })),
    );

export const readNodesQuerySchema = z.object({
  since: versionIdSchema.optional(),
  version: versionIdSchema.optional(),
  phase: commaList(nodePhases, 'node phases').optional(),
  type: commaList(nodeTypes, 'node types').optional(),
  under: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:()\-[\]]{0,252}$/, 'must be a node id')
    .optional(),
  next: z.string().min(1, 'must not be empty').max(1024, 'is too long').optional(),
});

/** `?from=&to=&next=` of `GET /v1/workflows/{uid}/diff`. */
export const diffQuerySchema = z.object({
  from: versionIdSchema.optional(),
  to: versionIdSchema.optional(),
  next: z.string().min(1, 'must not be empty').max(1024, 'is too long').optional(),
});

/** An upload id as the service issues it (a UUID). */
export const uploadIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an upload id as POST .../uploads returned it');

/** A part number: 1 to 100000. */
export const partNumberSchema = z
  .string()
  .regex(/^\d{1,6}$/, 'must be a whole number from 1 to 100000')
  .transform(Number)
  .pipe(z.number().int().min(1, 'must be at least 1').max(100_000, 'must be at most 100000'));

/** `POST /v1/workflows/{uid}/uploads`. */
export const beginUploadBodySchema = z.object({
  namespace: namespaceSchema,
  name: workflowName,
  phase: optional(workflowPhase),
  message: optional(message),
  nodeCount: z
    .number({ message: 'must be the number of nodes of the whole map' })
    .int('must be a whole number')
    .min(0, 'must not be negative'),
});

/** `PUT .../uploads/{uploadId}/parts/{partNumber}`: bucket index to that bucket's nodes. */
export const uploadPartBodySchema = z.object({
  buckets: z.custom<Record<string, NodeMap>>(isPlainObject, {
    message: 'must be a JSON object mapping bucket index to the nodes of that bucket',
  }),
});

/** `POST .../uploads/{uploadId}/commit`: the version the uploaded map was derived from, for a re-apply. */
export const commitUploadBodySchema = z
  .object({ baseVersion: optional(versionIdSchema) })
  .optional()
  .transform((body) => body ?? {});

/** `POST /v1/workflows/{uid}/stop`. */
export const stopBodySchema = z.object({
  strategy: z.enum(stopStrategies, { message: `must be one of ${stopStrategies.join(', ')}` }),
  message: optional(message),
});

/** `?limit=&next=` of `GET /v1/namespaces/{ns}/workflows`. */
export const listQuerySchema = z.object({
  limit: z
    .string()
    .regex(/^\d{1,4}$/, 'must be an integer from 1 to 1000')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(1000, 'must be at most 1000'))
    .optional()
    .default(100),
  next: z.string().min(1, 'must not be empty').max(4096, 'is too long').optional(),
});

/** `?onConflict=reapply`: re-apply on a lost compare-and-set instead of answering 409. */
export const writeQuerySchema = z.object({
  onConflict: z.enum(['reapply'], { message: "must be 'reapply'" }).optional(),
});

// ------------------------------------------------------------------ events

/** `Workflow Nodes Updated`: a delta as in PATCH, plus the uid. */
export const nodesUpdatedDetailSchema = nodeDeltaSchema.extend({ uid: uidSchema });

/** `Workflow Stop Requested`. */
export const stopRequestedDetailSchema = stopBodySchema.extend({ uid: uidSchema });

/** `Workflow Deleted`. */
export const workflowDeletedDetailSchema = z.object({ uid: uidSchema });

/** The parts of an EventBridge event a rule target reads. */
export const eventBridgeEventSchema = z.object({
  id: z.string().optional(),
  source: z.string().optional(),
  'detail-type': z.string(),
  detail: z.custom<Record<string, unknown>>(isPlainObject, { message: 'must be a JSON object' }),
});

/**
 * Parses `value`, or throws a ValidationError (400) that names every
 * problem with its path, e.g. `request body: namespace must be a DNS label`.
 *
 * @example
 * const body = parseWith(putWorkflowBodySchema, event.body, 'request body');
 */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  if (value === undefined) throw new ValidationError(`${where} is required`);
  const problems = parsed.error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.map(String).join('.');
    const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
    if (path === '') return issue.message;
    return missing ? `${path} is required` : `${path} ${issue.message}`;
  });
  throw new ValidationError(`${where}: ${problems.join('; ')}`);
}
