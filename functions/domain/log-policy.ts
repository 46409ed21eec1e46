/**
 * When a log-layout chain is folded into a new snapshot. Every read of a
 * version reads its whole chain of deltas, and a fold rewrites every page:
 * a longer chain makes commits cheaper and reads dearer. A chain is folded
 * when it has `maxChainDeltas` deltas, or when its deltas add up to
 * `maxChainFraction` of the base's stored bytes (large changes fold sooner,
 * so a read never carries more than that fraction again). A change that
 * touches more than half of the buckets is stored whole at once.
 */
import type { CodecOptions } from './codec.ts';
import type { LoadedVersion } from './version-reader.ts';

/** True when the next commit on `version` should write a snapshot instead of a delta. */
export function shouldFold(version: LoadedVersion, options: CodecOptions): boolean {
  const log = version.log;
  if (!log) return false;
  return (
    log.deltas.length >= options.maxChainDeltas || log.deltaBytes >= options.maxChainFraction * log.baseBytes
  );
}

/** True when a change of `changedBuckets` of `bucketCount` buckets is worth a delta. */
export const deltaFits = (changedBuckets: number, bucketCount: number): boolean =>
  changedBuckets <= bucketCount / 2;
