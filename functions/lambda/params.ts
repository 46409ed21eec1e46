/**
 * Path, query and header parameters of an HTTP request, validated. Each
 * function throws a ValidationError (400) naming the parameter at fault.
 */
import type { WriteConditions } from '#domain/workflow-service';
import type { JsonHttpEvent } from './middleware.ts';
import { parseIfMatch, parseIfNoneMatch } from './request.ts';
import {
  namespaceSchema,
  parseWith,
  partNumberSchema,
  uidSchema,
  uploadIdSchema,
  versionIdSchema,
  writeQuerySchema,
} from './schemas.ts';

/** `{uid}` of the route. */
export const uidOf = (event: JsonHttpEvent): string =>
  parseWith(uidSchema, event.pathParameters?.uid, 'path parameter uid');

/** `{version}` of the route. */
export const versionOf = (event: JsonHttpEvent): string =>
  parseWith(versionIdSchema, event.pathParameters?.version, 'path parameter version');

/** `{uploadId}` of the route. */
export const uploadIdOf = (event: JsonHttpEvent): string =>
  parseWith(uploadIdSchema, event.pathParameters?.uploadId, 'path parameter uploadId');

/** `{partNumber}` of the route. */
export const partNumberOf = (event: JsonHttpEvent): number =>
  parseWith(partNumberSchema, event.pathParameters?.partNumber, 'path parameter partNumber');

/** `{namespace}` of the route. */
export const namespaceOf = (event: JsonHttpEvent): string =>
  parseWith(namespaceSchema, event.pathParameters?.namespace, 'path parameter namespace');

/**
 * `If-Match` (compare-and-set), `If-None-Match: *` (create only) and
 * `?onConflict=reapply` as the domain's write conditions.
 */
export function writeConditionsOf(
  event: JsonHttpEvent,
  options: { allowIfNoneMatch: boolean },
): WriteConditions {
  const query = parseWith(writeQuerySchema, event.queryStringParameters ?? {}, 'query');
  const ifMatch = parseIfMatch(event.headers['if-match']);
  const ifNoneMatch = options.allowIfNoneMatch ? parseIfNoneMatch(event.headers['if-none-match']) : false;
  return {
    ...(ifMatch === undefined ? {} : { ifMatch }),
    ...(ifNoneMatch ? { ifNoneMatch } : {}),
    ...(query.onConflict === 'reapply' ? { reapply: true } : {}),
  };
}
