/**
 * Page tokens: a DynamoDB start key as base64url JSON. A token is checked
 * before use (exactly the expected keys, string or number values), so a
 * forged one is a 400 and never reaches a request.
 */
import { ValidationError } from '#domain/errors';

export const encodeCursor = (key: Record<string, unknown>): string =>
  Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');

export function decodeCursor(
  cursor: string,
  expectedKeys: readonly string[],
): Record<string, string | number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const valid =
    parsed !== null &&
    typeof parsed === 'object' &&
    !Array.isArray(parsed) &&
    Object.keys(parsed).length === expectedKeys.length &&
    expectedKeys.every((key) => {
      const value = (parsed as Record<string, unknown>)[key];
      return typeof value === 'string' || typeof value === 'number';
    });
  if (!valid)
    throw new ValidationError('the `next` token is not one this service issued; start from the first page');
  return parsed as Record<string, string | number>;
}
