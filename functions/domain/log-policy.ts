/**
 * When a log-layout chain is folded into a new snapshot. Every read of a
 * version reads its whole chain of deltas, and a fold rewrites every page:
 * a longer chain makes commits cheaper and reads dearer. A chain is folded
 * when it has `maxChainDeltas` deltas, or when its deltas add up to
 * `maxChainFraction` of the base's stored bytes (large changes fold sooner,
 * so a read never carries more than that fraction again). A change whose
 * delta alone would pass that fraction is stored as a snapshot at once.
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

/**
 * True when a delta of `deltaBytes` may go on `version`'s chain: within the
 * share of its base a chain may add (and within one item). A version in the
 * chunk layout is a base of its stored bytes.
 */
export function deltaFits(deltaBytes: number, version: LoadedVersion, options: CodecOptions): boolean {
  const baseBytes = version.log?.baseBytes ?? version.manifest?.storedBytes ?? 0;
  return deltaBytes <= options.maxPartBytes && deltaBytes <= options.maxChainFraction * baseBytes;
}

/** Bytes of a delta's changed-bucket table alone (`log-codec.ts`): a delta is never smaller. */
export const deltaTableBytes = (changedBuckets: number): number => 9 + 41 * changedBuckets;
