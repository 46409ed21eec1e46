/**
 * The limits of the deployed front door (API Gateway's HTTP API invoking
 * Lambda synchronously), which `npm start` enforces too unless told not to,
 * and the page size the sync protocol keeps under them (docs/protocol.md).
 */

/**
 * Lambda's synchronous invocation payload, each way: the API Gateway v2
 * event JSON (a binary body in it base64-encoded) and the result JSON.
 */
export const lambdaPayloadBytes = 6 * 1024 * 1024;

/** The HTTP API's largest request body, as sent on the wire. */
export const httpApiRequestBytes = 10 * 1024 * 1024;

/** The HTTP API's integration timeout: the whole request, handler included. */
export const httpApiTimeoutSeconds = 30;

/**
 * Node JSON one page of `GET /v1/workflows/{uid}/nodes` carries, before
 * compression: even uncompressed, the page and its envelope stay under
 * {@link lambdaPayloadBytes}.
 */
export const nodePageBytes = 4 * 1024 * 1024;

/**
 * What a client should put in one request body before compression: an
 * upload part or a delta. Gzipped it is far under both limits; a client
 * that cannot compress stays under them too.
 */
export const requestPartBytes = 4 * 1024 * 1024;
