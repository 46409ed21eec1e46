/**
 * When a log-layout chain is folded into a new snapshot. Every read of a
 * version reads its whole chain of deltas, and a fold rewrites every page:
 * a longer chain makes commits cheaper and reads dearer. So the chain is
 * folded at the length that makes the two cost the least together: with a
 * snapshot of S bytes and deltas of e bytes, folding every F commits costs
 * S/F bytes of writes per commit, and each commit's read of the chain
 * carries F/2 deltas on average; with a write unit (1 KB) priced
 * `writeReadPriceRatio` times a read unit (an eventually consistent 8 KB),
 * the sum is least at F = sqrt(2 × 8 × ratio × S / e). At 10,000 nodes and
 * 10 pods a commit (S ≈ 0.9 MB, e ≈ 2 KB) that is about 190 commits.
 *
 * Two bounds hold whatever that gives: at most `maxChainDeltas` deltas (each
 * is an item to read and decode), and deltas adding up to at most
 * `maxChainFraction` of the base's bytes, so a read never carries more than
 * that share again (large changes fold sooner). A change whose delta alone
 * would pass that share is stored as a snapshot at once.
 */
import type { CodecOptions } from './codec.ts';
import type { LoadedVersion } from './version-reader.ts';

/** Eventually consistent reads of a chain: 0.5 read units per 4 KB. */
const bytesPerReadUnit = 8 * 1024;
const bytesPerWriteUnit = 1024;

/** The chain length that makes fold writes and chain reads cost the least together. */
export function cheapestChainLength(baseBytes: number, deltaBytes: number, options: CodecOptions): number {
  if (deltaBytes <= 0) return options.maxChainDeltas;
  const ratio = (2 * bytesPerReadUnit * options.writeReadPriceRatio) / bytesPerWriteUnit;
  return Math.sqrt((ratio * baseBytes) / deltaBytes);
}

/** True when the next commit on `version` should write a snapshot instead of a delta. */
export function shouldFold(version: LoadedVersion, options: CodecOptions): boolean {
  const log = version.log;
  if (!log || log.deltas.length === 0) return false;
  const meanDelta = log.deltaBytes / log.deltas.length;
  return (
    log.deltas.length >=
      Math.min(options.maxChainDeltas, cheapestChainLength(log.baseBytes, meanDelta, options)) ||
    log.deltaBytes >= options.maxChainFraction * log.baseBytes
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
