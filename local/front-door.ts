/**
 * The deployed front door's limits, as `npm start` enforces them (by
 * default, so that what would fail deployed fails the same way here and the
 * tests see it): API Gateway's HTTP API takes request bodies of at most
 * 10 MB and gives up after 30 s; Lambda takes an event, and returns a
 * result, of at most 6 MB of JSON each, a binary (gzip) body in them
 * base64-encoded. See `contract/limits.ts` and docs/deploy.md#limits.
 *
 * Over a limit, the caller gets the contract's 413 JSON naming the limit and
 * the way around it, never a 5xx and never a cut connection. `WFO_LIMITS=off`
 * lifts them for experiments; the decompressed-body bound of the handlers
 * (`WFO_MAX_DECOMPRESSED_BODY_BYTES`) stays.
 */
import { httpApiRequestBytes, httpApiTimeoutSeconds, lambdaPayloadBytes } from '#contract/limits';
import { PayloadTooLargeError } from '#domain/errors';

export interface FrontDoorLimits {
  /** Request body on the wire (the HTTP API's 10 MB). */
  readonly requestBytes: number;
  /** The API Gateway v2 event JSON and the result JSON (Lambda's 6 MB). */
  readonly payloadBytes: number;
  /** The whole request (the HTTP API's 30 s). */
  readonly timeoutSeconds: number;
}

const positive = (name: string, text: string | undefined, fallback: number): number => {
  if (text === undefined || text.trim() === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} '${text}' is not a positive whole number`);
  return value;
};

/** The limits from the environment: deployed ones unless `WFO_LIMITS=off` or a setting says otherwise. */
export function frontDoorLimits(
  env: Readonly<Record<string, string | undefined>> = process.env,
): FrontDoorLimits {
  const mode = (env.WFO_LIMITS ?? 'deployed').trim().toLowerCase();
  if (mode !== 'deployed' && mode !== 'off') {
    throw new Error(`WFO_LIMITS '${env.WFO_LIMITS}' must be 'deployed' (the default) or 'off'`);
  }
  if (mode === 'off') {
    return {
      requestBytes: Number.POSITIVE_INFINITY,
      payloadBytes: Number.POSITIVE_INFINITY,
      timeoutSeconds: 900,
    };
  }
  return {
    requestBytes: positive('WFO_MAX_REQUEST_BYTES', env.WFO_MAX_REQUEST_BYTES, httpApiRequestBytes),
    payloadBytes: positive('WFO_LAMBDA_PAYLOAD_BYTES', env.WFO_LAMBDA_PAYLOAD_BYTES, lambdaPayloadBytes),
    timeoutSeconds: positive('WFO_HTTP_TIMEOUT_SECONDS', env.WFO_HTTP_TIMEOUT_SECONDS, httpApiTimeoutSeconds),
  };
}

const mb = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;

const wayAround =
  'send a large map as a staged upload or a delta (docs/protocol.md), or use the wfo client, which does';

/** A request body over the HTTP API's limit. */
export const requestTooLarge = (size: number, limits: FrontDoorLimits): PayloadTooLargeError =>
  new PayloadTooLargeError(
    `the request body is ${size > limits.requestBytes * 4 ? `more than ${mb(limits.requestBytes * 4)}` : mb(size)}, over the HTTP API's ${mb(limits.requestBytes)} request limit: ${wayAround}`,
  );

/** A request whose Lambda event would be over Lambda's payload limit. */
export const eventTooLarge = (size: number, limits: FrontDoorLimits): PayloadTooLargeError =>
  new PayloadTooLargeError(
    `the request is ${mb(size)} as a Lambda event (a gzip body travels in it base64-encoded, 4/3 of its size), over Lambda's ${mb(limits.payloadBytes)} payload limit: ${wayAround}`,
  );

/** Bytes of a value's JSON, as Lambda measures an event or a result. */
export const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '');
