/**
 * The compare-and-set loop, once. Every write (persist, patch, stop) reads
 * the record, builds its change and commits it with one conditional write on
 * the record's resourceVersion; when another writer committed first, the
 * attempt answers 'conflict' and this loop backs off (jittered, bounded) and
 * tries again on the new state:
 *
 *   t0  writer A reads record (resourceVersion 7)
 *   t1  writer B reads record (resourceVersion 7)
 *   t2  A commits 7 -> 8
 *   t3  B's commit 7 -> 8 fails: 'conflict'; B backs off, reloads 8, retries
 *
 * Nothing a losing attempt wrote is visible, and nothing is deleted: its
 * items expire by TTL.
 */
import { ContentionError } from './errors.ts';

export interface RetryPolicy {
  /** Attempts before giving up with a retryable error (503). */
  readonly maxAttempts: number;
  readonly sleep: (milliseconds: number) => Promise<void>;
  readonly random: () => number;
}

/** What an attempt gives back: a result, or 'conflict' to be retried. */
export type Attempt<T> = () => Promise<T | 'conflict'>;

/**
 * Runs `attempt` until it does not answer 'conflict'. Returns its result and
 * how many conflicts it went through; throws a ContentionError (retryable)
 * when they outlast the policy.
 *
 * @example
 * const { result, conflicts } = await retryCommit(policy, `workflow '${uid}' kept changing; retry the stop`, async () => {
 *   const record = await reader.requireRecord(uid);
 *   return committer.commit(uid, record, fields, plan); // or 'conflict'
 * });
 */
export async function retryCommit<T>(
  policy: RetryPolicy,
  /** The message of the ContentionError, for a person: what kept changing and what to retry. */
  contentionMessage: string,
  attempt: Attempt<T>,
): Promise<{ result: T; conflicts: number }> {
  let conflicts = 0;
  for (let attemptNumber = 1; attemptNumber <= policy.maxAttempts; attemptNumber++) {
    const outcome = await attempt();
    if (outcome !== 'conflict') return { result: outcome, conflicts };
    conflicts++;
    const ceiling = Math.min(500, 10 * 2 ** attemptNumber);
    await policy.sleep(Math.floor(policy.random() * ceiling));
  }
  throw new ContentionError(contentionMessage, 1);
}
