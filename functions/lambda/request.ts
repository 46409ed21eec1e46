/**
 * Reading an HTTP request at the edge: the JSON body (gzip or not, base64 or
 * not, bounded), and the conditional headers. Pure functions of their inputs,
 * shared by the Lambda middleware and the local runtime's `/events` route.
 */
import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '#domain/errors';

const gunzip = promisify(gunzipCallback);

/** What {@link decodeJsonBody} needs from an API Gateway v2 event. */
export interface RawBody {
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/** Header names lower-cased; API Gateway v2 already does this, a hand-built event may not. */
export function lowerCaseHeaders(
  headers: Readonly<Record<string, string | undefined>> | null | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    out[key] = out[key] === undefined ? value : `${out[key]},${value}`;
  }
  return out;
}

const describeBytes = (bytes: number): string =>
  bytes >= 1024 * 1024 ? `${Math.round(bytes / (1024 * 1024))} MiB` : `${bytes} bytes`;

const tooLarge = (maxBytes: number) =>
  new PayloadTooLargeError(`request body is larger than the limit of ${describeBytes(maxBytes)}`);

/** `application/json` or `application/<something>+json`, any parameters, charset UTF-8 if given. */
function assertJsonContentType(contentType: string | undefined): void {
  if (contentType === undefined || contentType.trim() === '') return;
  const [mediaType = '', ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(mediaType)) {
    throw new UnsupportedMediaTypeError(
      `content-type '${mediaType}' is not supported: send application/json`,
    );
  }
  for (const parameter of parameters) {
    const [name, value = ''] = parameter.split('=').map((part) => part.trim().replace(/^"|"$/g, ''));
    if (name === 'charset' && value !== 'utf-8' && value !== 'utf8') {
      throw new UnsupportedMediaTypeError(`charset '${value}' is not supported: send UTF-8 JSON`);
    }
  }
}

/** Only `gzip` (or no encoding) is read; anything else is 415. */
function contentCodingOf(contentEncoding: string | undefined): 'gzip' | 'identity' {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length === 0) return 'identity';
  if (codings.length === 1 && (codings[0] === 'gzip' || codings[0] === 'x-gzip')) return 'gzip';
  throw new UnsupportedMediaTypeError(
    `content-encoding '${codings.join(', ')}' is not supported: send gzip or no encoding`,
  );
}

async function gunzipBounded(compressed: Buffer, maxBytes: number): Promise<Buffer> {
  try {
    // maxOutputLength stops inflating at the limit: a gzip bomb costs at most maxBytes of memory.
    return await gunzip(compressed, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError)
      throw tooLarge(maxBytes);
    throw new ValidationError(
      `request body is not valid gzip (content-encoding: gzip): ${(error as Error).message}`,
    );
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The request body as parsed JSON, or undefined when there is none. Checks
 * the content type (415), undoes base64 and gzip with the decompressed size
 * bounded by `maxBytes` (413, 400 for corrupt gzip), and parses (400 with the
 * parser's explanation).
 *
 * @example
 * const body = await decodeJsonBody(event, { maxBytes: config.WFO_MAX_DECOMPRESSED_BODY_BYTES });
 */
export async function decodeJsonBody(request: RawBody, options: { maxBytes: number }): Promise<unknown> {
  const { maxBytes } = options;
  const body = request.body;
  if (body === undefined || body === null || body === '') return undefined;
  assertJsonContentType(request.headers['content-type']);
  const coding = contentCodingOf(request.headers['content-encoding']);

  // Cheap check before copying: base64 is 4/3 of its bytes, and a text body has at least one byte a character.
  if (body.length > (request.isBase64Encoded ? Math.ceil((maxBytes * 4) / 3) + 4 : maxBytes))
    throw tooLarge(maxBytes);
  let bytes: Buffer = request.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (bytes.length > maxBytes) throw tooLarge(maxBytes);
  if (coding === 'gzip') bytes = await gunzipBounded(bytes, maxBytes);
  if (bytes.length === 0) return undefined;

  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ValidationError('request body is not valid UTF-8 text');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`request body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * The resourceVersion an `If-Match` header names, unquoted. Accepts one
 * strong (`"7"`) or weak (`W/"7"`) entity tag; a list, `*`, or anything else
 * is a 400 with a message saying what to send.
 *
 * @example
 * parseIfMatch('"7"') // '7'
 * parseIfMatch('W/"7"') // '7'
 * parseIfMatch(undefined) // undefined
 */
export function parseIfMatch(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  const tag = /^(?:W\/)?"([\x21\x23-\x7e]*)"$/.exec(trimmed);
  if (tag) {
    if (tag[1] === '')
      throw new ValidationError('If-Match names an empty entity tag: send "<resourceVersion>"');
    return tag[1];
  }
  if (trimmed === '*') {
    throw new ValidationError('If-Match: * is not supported: send the quoted resourceVersion, e.g. "7"');
  }
  if (/^(?:W\/)?"[^"]*"\s*,/.test(trimmed)) {
    throw new ValidationError('If-Match must name one entity tag, not a list: send "<resourceVersion>"');
  }
  throw new ValidationError(
    `If-Match '${trimmed.slice(0, 40)}' is not an entity tag: send the resourceVersion in double quotes, e.g. "7"`,
  );
}

/** `If-None-Match: *` means create only; no other value is meaningful here. */
export function parseIfNoneMatch(value: string | undefined): boolean {
  if (value === undefined || value.trim() === '') return false;
  if (value.trim() === '*') return true;
  throw new ValidationError('If-None-Match supports only *, meaning create only');
}

/** `ETag` value for a resourceVersion: strong, quoted. */
export const etagOf = (resourceVersion: number | string): string => `"${resourceVersion}"`;

/**
 * True when `Accept-Encoding` allows one of `codings` (or `*`), with a
 * q-value above 0: a named coding's own entry wins over the wildcard.
 */
function accepts(acceptEncoding: string | undefined, codings: readonly string[]): boolean {
  if (!acceptEncoding) return false;
  let named: boolean | undefined;
  let wildcard: boolean | undefined;
  for (const entry of acceptEncoding.split(',')) {
    const [coding = '', ...parameters] = entry.split(';').map((part) => part.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    const accepted = q === undefined || Number(q.slice(2)) > 0;
    if (codings.includes(coding)) named = accepted;
    else if (coding === '*') wildcard = accepted;
  }
  return named ?? wildcard ?? false;
}

/** True when `Accept-Encoding` allows brotli (`br`, or `*`, with a q-value above 0). */
export const acceptsBrotli = (acceptEncoding: string | undefined): boolean => accepts(acceptEncoding, ['br']);

/** True when `Accept-Encoding` allows gzip (`gzip`, `x-gzip` or `*`, with a q-value above 0). */
export const acceptsGzip = (acceptEncoding: string | undefined): boolean =>
  accepts(acceptEncoding, ['gzip', 'x-gzip']);
