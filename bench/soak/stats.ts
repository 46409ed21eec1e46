/** Latency percentiles and the memory trend of the soak run. */

/** The p-th percentile (0-100), nearest rank; NaN without samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export interface LatencySummary {
  readonly count: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const round = (value: number, digits = 1): number =>
  Number.isFinite(value) ? Number(value.toFixed(digits)) : value;

export function summarizeLatencies(samples: readonly number[], seconds: number): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    perSecond: round(sorted.length / seconds, 2),
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? Number.NaN),
  };
}

export interface MemorySample {
  /** Seconds since the load started (negative: before it). */
  readonly atSeconds: number;
  readonly rssBytes: number;
}

export interface MemorySummary {
  readonly samples: number;
  readonly firstMiB: number;
  readonly maxMiB: number;
  readonly lastMiB: number;
  /** Least-squares slope over the samples after the first quarter of the run, in MiB per minute. */
  readonly trendMiBPerMinute: number;
  /** Mean of the last quarter over the mean of the second quarter, in percent. */
  readonly lateGrowthPercent: number;
}

const mib = (bytes: number) => bytes / 2 ** 20;

export function summarizeMemory(samples: readonly MemorySample[], durationSeconds: number): MemorySummary {
  const during = samples.filter((sample) => sample.atSeconds >= 0 && sample.atSeconds <= durationSeconds);
  const settled = during.filter((sample) => sample.atSeconds >= durationSeconds / 4);
  let slope = Number.NaN;
  if (settled.length >= 2) {
    const meanX = settled.reduce((sum, s) => sum + s.atSeconds, 0) / settled.length;
    const meanY = settled.reduce((sum, s) => sum + mib(s.rssBytes), 0) / settled.length;
    let numerator = 0;
    let denominator = 0;
    for (const s of settled) {
      numerator += (s.atSeconds - meanX) * (mib(s.rssBytes) - meanY);
      denominator += (s.atSeconds - meanX) ** 2;
    }
    slope = denominator === 0 ? 0 : (numerator / denominator) * 60;
  }
  const quarter = (index: number) =>
    during.filter(
      (s) =>
        s.atSeconds >= (index * durationSeconds) / 4 && s.atSeconds < ((index + 1) * durationSeconds) / 4,
    );
  const mean = (list: readonly MemorySample[]) =>
    list.length === 0 ? Number.NaN : list.reduce((sum, s) => sum + mib(s.rssBytes), 0) / list.length;
  const rss = samples.map((sample) => sample.rssBytes);
  return {
    samples: samples.length,
    firstMiB: round(mib(rss[0] ?? Number.NaN)),
    maxMiB: round(mib(Math.max(...rss))),
    lastMiB: round(mib(rss.at(-1) ?? Number.NaN)),
    trendMiBPerMinute: round(slope, 2),
    lateGrowthPercent: round((mean(quarter(3)) / mean(quarter(1)) - 1) * 100),
  };
}

export { textTable } from '../support/stats.ts';
