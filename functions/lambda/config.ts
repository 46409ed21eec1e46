/**
 * Settings, read once from the environment and validated. Domain code never
 * reads `process.env`; it gets what it needs from here.
 */
import { z } from 'zod';
import { lambdaPayloadBytes } from '#contract/limits';

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .default('false')
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const positiveInteger = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const configSchema = z.object({
  /** Table holding the workflow records. */
  WFO_TABLE_NAME: z.string().min(3).default('workflow-offload'),
  /** Table holding manifests and chunks; default `<WFO_TABLE_NAME>-versions`. */
  WFO_VERSIONS_TABLE_NAME: z.string().min(3).optional(),
  /** R: a superseded version stays readable for at least this long. Default 48 h. */
  WFO_RETENTION_SECONDS: positiveInteger(172_800),
  /** Largest compressed node map kept inline in the record (Argo: MAX_WORKFLOW_SIZE). */
  WFO_INLINE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .max(300_000)
    .default(32 * 1024),
  /** Always store node maps as chunks (Argo: ALWAYS_OFFLOAD_NODE_STATUS). */
  WFO_ALWAYS_OFFLOAD: flag,
  /**
   * Largest request body once decompressed (gzip bodies are inflated up to
   * this and no further, so a gzip bomb costs at most this much memory). The
   * bytes on the wire are bounded by the front door instead: the HTTP API's
   * 10 MB, Lambda's 6 MB event (see `contract/limits.ts`).
   * `WFO_MAX_BODY_BYTES` is the old name of this setting.
   */
  WFO_MAX_DECOMPRESSED_BODY_BYTES: positiveInteger(128 * 1024 * 1024),
  /**
   * Largest handler result, as Lambda measures it (the result JSON, a gzip
   * body in it base64): a bigger response is refused with a 413 that says to
   * read in pages, before Lambda would fail it. Default: Lambda's 6 MB.
   */
  WFO_LAMBDA_PAYLOAD_BYTES: positiveInteger(lambdaPayloadBytes),
  /** Largest node map a workflow may have; a write beyond it is a 413. */
  WFO_MAX_NODES: positiveInteger(200_000),
  /** The bus the change events go to (its name or ARN). Deployed, the stack sets it. */
  WFO_EVENT_BUS_NAME: z.string().min(1).default('default'),
  /** Another EventBridge endpoint than the regional one: `npm start` points it at itself. */
  WFO_EVENTS_ENDPOINT: z.string().url().optional(),
  /** Another DynamoDB (DynamoDB Local, say) instead of the regional endpoint. */
  DYNAMODB_ENDPOINT: z.string().url().optional(),
  AWS_REGION: z.string().default('us-east-1'),
});

export type Config = z.infer<typeof configSchema>;

/** Parses settings from an environment; throws one readable line per bad setting. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse({
    ...env,
    WFO_MAX_DECOMPRESSED_BODY_BYTES: env.WFO_MAX_DECOMPRESSED_BODY_BYTES ?? env.WFO_MAX_BODY_BYTES,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid settings: ${problems.join('; ')}`);
  }
  return parsed.data;
}
