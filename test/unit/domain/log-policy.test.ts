/**
 * The fold policy of the log layout: the chain length that makes fold
 * writes and chain reads cost the least together, and its two bounds.
 */
import { describe, expect, it } from 'vitest';
import { defaultCodecOptions } from '#domain/codec';
import { cheapestChainLength, deltaFits, shouldFold } from '#domain/log-policy';
import type { LogEntry } from '#domain/store';
import type { LoadedVersion } from '#domain/version-reader';

/** A located log version with `deltas` deltas of `deltaBytes` each on a base of `baseBytes`. */
function chain(deltas: number, deltaBytes: number, baseBytes: number): LoadedVersion {
  const entry = { data: new Uint8Array(deltaBytes) } as LogEntry;
  return {
    current: true,
    codec: 'wfo-log-deflate-d2',
    bucketCount: 1024,
    log: {
      head: entry,
      deltas: Array.from({ length: deltas }, () => entry),
      deltaBytes: deltas * deltaBytes,
      baseBytes,
      changedBuckets: new Map(),
      changes: new Map(),
    },
  };
}

describe('the fold policy', () => {
  it('folds where a fold per commit and the chain a commit reads cost the least together', () => {
    // 10,000 nodes, 10 pods a commit: a 0.9 MB snapshot, 2.2 KB deltas.
    const length = cheapestChainLength(900_000, 2_200, defaultCodecOptions);
    const costPerCommit = (chainLength: number) =>
      (5 * 900_000) / 1024 / chainLength + (chainLength / 2) * (2_200 / (8 * 1024));

    expect(length).toBeGreaterThan(150);
    expect(length).toBeLessThan(250);
    for (const other of [length / 2, length * 2])
      expect(costPerCommit(other)).toBeGreaterThan(costPerCommit(length));
    // A bigger snapshot or smaller deltas: a longer chain is worth it.
    expect(cheapestChainLength(4_500_000, 2_200, defaultCodecOptions)).toBeGreaterThan(length);
    expect(cheapestChainLength(900_000, 600, defaultCodecOptions)).toBeGreaterThan(length);
  });

  it('folds at that length, at the most deltas, or when the chain holds half of the base', () => {
    const options = defaultCodecOptions;
    const length = Math.ceil(cheapestChainLength(900_000, 2_200, options));

    expect(shouldFold(chain(0, 2_200, 900_000), options)).toBe(false);
    expect(shouldFold(chain(length - 1, 2_200, 900_000), options)).toBe(false);
    expect(shouldFold(chain(length, 2_200, 900_000), options)).toBe(true);
    expect(shouldFold(chain(10, 20_000, 900_000), options)).toBe(false);
    expect(shouldFold(chain(23, 20_000, 900_000), options)).toBe(true);
    expect(shouldFold(chain(options.maxChainDeltas, 10, 900_000_000), options)).toBe(true);
    expect(shouldFold({ current: true, codec: 'c', bucketCount: 1 }, options)).toBe(false);
  });

  it('takes a delta onto a chain only while it fits half of the base, and one item', () => {
    const options = defaultCodecOptions;

    expect(deltaFits(2_200, chain(3, 2_200, 900_000), options)).toBe(true);
    expect(deltaFits(450_001, chain(3, 2_200, 900_000), options)).toBe(false);
    expect(deltaFits(options.maxPartBytes + 1, chain(3, 2_200, 10_000_000), options)).toBe(false);
  });
});
