/**
 * A conditional write, with the one place that reads its failure: a failed
 * condition is an answer ('conditionFailed', with the item as it was when
 * the request asked for it), not an error; every other failure is translated
 * as any other call's.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { guarded } from './errors.ts';

export type ConditionalOutcome<T> =
  | { readonly kind: 'written'; readonly output: T }
  | { readonly kind: 'conditionFailed'; readonly item?: Record<string, unknown> };

/** Sends a conditional write; a failed condition is an outcome, not a throw. */
export async function conditionalWrite<T>(send: () => Promise<T>): Promise<ConditionalOutcome<T>> {
  try {
    return { kind: 'written', output: await guarded(send) };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      return { kind: 'conditionFailed', ...(error.Item ? { item: error.Item } : {}) };
    }
    throw error;
  }
}
