/**
 * Lease arithmetic (invariant 3). With retention R:
 *
 * - every item is born with `expiresAt = now + 2R`;
 * - a commit renews a reused chunk whose lease ends before `now + 1.5R`;
 * - the renewer, every R/4, renews the current version of each workflow whose
 *   lease ends before `now + 1.5R`.
 *
 * So the current version's lease never falls below `now + 1.25R`, and a
 * version superseded at time T stays readable until at least T + 1.25R > T + R.
 * The spare 0.25R to R absorbs renewer lag and clock skew between writers.
 */
export class Retention {
  constructor(readonly retentionSeconds: number) {
    if (!Number.isInteger(retentionSeconds) || retentionSeconds < 1) {
      throw new RangeError(`retentionSeconds must be a positive integer, got ${retentionSeconds}`);
    }
  }

  /** `expiresAt` of an item written at `nowSeconds`. */
  bornExpiresAt(nowSeconds: number): number {
    return nowSeconds + 2 * this.retentionSeconds;
  }

  /** A lease ending before this is renewed by a commit or by the renewer. */
  renewBefore(nowSeconds: number): number {
    return nowSeconds + Math.ceil(1.5 * this.retentionSeconds);
  }
}

export const epochSeconds = (milliseconds: number): number => Math.floor(milliseconds / 1000);
