/**
 * Presentation of benchmark results: the console and Markdown tables, the
 * headline ratios, and the SVG chart of write units per update against N.
 */
import type { CaseResult } from './bench-cases.ts';
import type { CapacityCheckRow } from './capacity-check.ts';
import type { BundleReport } from './handler-bundles.ts';
import { type StrategyId, strategyIds, strategyLabels } from './strategies/runners.ts';
import { formatBytes, formatNumber } from './support/stats.ts';

export const caseHeaders = [
  'N',
  'k',
  'strategy',
  'updates',
  'nodes changed',
  'WCU/update',
  'WCU median',
  'fold every',
  'of which delete',
  'of which index',
  'RCU/update',
  'RCU/hydrate',
  'CPU ms update',
  'CPU ms hydrate',
  'update ms p50/p99',
  'hydrate ms p50/p99',
  'stored after the updates',
  'of which garbage',
  'stored after 100 updates',
] as const;

export function caseCells(result: CaseResult): string[] {
  return [
    formatNumber(result.nodeCount),
    String(result.podsPerUpdate),
    result.strategy,
    String(result.updates),
    formatNumber(result.changedNodesPerUpdate.median),
    formatNumber(unitsOf(result), unitsOf(result) < 100 ? 1 : 0),
    formatNumber(result.writeUnitsPerUpdate.median, result.writeUnitsPerUpdate.median < 100 ? 1 : 0),
    foldCell(result),
    formatNumber(result.deleteUnitsPerUpdate.median),
    formatNumber(result.indexWriteUnitsPerUpdate.median),
    formatNumber(result.readUnitsPerUpdate.median, 1),
    formatNumber(result.readUnitsPerHydrate.median, 1),
    formatNumber(result.cpuMsPerUpdate.median, 1),
    formatNumber(result.cpuMsPerHydrate.median, 1),
    `${formatNumber(result.latencyMsPerUpdate.median)}/${formatNumber(result.latencyMsPerUpdate.p99)}`,
    `${formatNumber(result.latencyMsPerHydrate.median)}/${formatNumber(result.latencyMsPerHydrate.p99)}`,
    formatBytes(result.storedBytes),
    formatBytes(result.garbageBytes),
    `${result.storedBytesAfter100Projected ? '~' : ''}${formatBytes(result.storedBytesAfter100)}`,
  ];
}

/**
 * How often the case folded its log chain: every so many updates, or `> n`
 * when its n updates wrote no snapshot (its write units then leave folds
 * out); `-` for the whole-blob strategies.
 */
function foldCell(result: CaseResult): string {
  if (result.foldEvery !== undefined) return String(result.foldEvery);
  return result.strategy === 'C' || result.strategy === 'D' ? `> ${result.updates}` : '-';
}

export interface Ratio {
  readonly nodeCount: number;
  readonly podsPerUpdate: number;
  /** D's write units per update over B's, with B's deletes and without. */
  readonly dOverB?: number;
  readonly dOverBPutOnly?: number;
  readonly dOverA?: number;
  readonly dOverAPutOnly?: number;
  /** D over B′ (BT: blobs with TTL, no delete): the honest ratio. */
  readonly dOverBT?: number;
  /** The physical limit (changed nodes gzipped, plus a record) in write units, and D over it. */
  readonly limitUnits?: number;
  readonly dOverLimit?: number;
  /** Read units per full hydrate, D over B; server CPU of a full PUT (C) and a hydrate (D) over B's. */
  readonly hydrateReadsOverB?: number;
  readonly persistCpuOverB?: number;
  readonly hydrateCpuOverB?: number;
  /** D against D0 (the chunk layout) in the same run: PATCH write units, CPU and read units. */
  readonly dOverChunkLayout?: number;
  readonly patchCpuOverChunkLayout?: number;
  readonly patchReadsOverChunkLayout?: number;
}

/**
 * Write units per update, amortized (see `CaseResult.amortizedWriteUnits`):
 * every delta of a chain and the fold that ends it. Results saved before it
 * existed give their median.
 */
export const unitsOf = (result: CaseResult): number =>
  result.amortizedWriteUnits ?? result.writeUnitsPerUpdate.median;
const medianUnits = (result: CaseResult | undefined) => (result ? unitsOf(result) : undefined);
const putOnlyUnits = (result: CaseResult | undefined) =>
  result ? unitsOf(result) - result.deleteUnitsPerUpdate.median : undefined;

/** The benchmark's goals at N = 10,000, k = 10 (targets, not assertions): ratios, and CPU in ms. */
export const goalTargets = {
  dOverBT: 0.05,
  hydrateReadsOverB: 2,
  persistCpuOverB: 1.5,
  hydrateCpuOverB: 1.5,
  dOverB: 0.05,
  dOverA: 0.005,
  persistCpuMs: 60,
  hydrateCpuMs: 50,
} as const;

const quotient = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? a / b : undefined);

export function ratios(results: readonly CaseResult[]): Ratio[] {
  const keys = [...new Set(results.map((result) => `${result.nodeCount}/${result.podsPerUpdate}`))];
  return keys.map((key) => {
    const [nodeCount, podsPerUpdate] = key.split('/').map(Number) as [number, number];
    const of = (strategy: StrategyId) =>
      results.find(
        (result) =>
          result.strategy === strategy &&
          result.nodeCount === nodeCount &&
          result.podsPerUpdate === podsPerUpdate,
      );
    const d = medianUnits(of('D'));
    const over = (value: number | undefined) => (d !== undefined && value ? d / value : undefined);
    return {
      nodeCount,
      podsPerUpdate,
      dOverB: over(medianUnits(of('B'))),
      dOverBPutOnly: over(putOnlyUnits(of('B'))),
      dOverA: over(medianUnits(of('A'))),
      dOverAPutOnly: over(putOnlyUnits(of('A'))),
      dOverBT: over(medianUnits(of('BT'))),
      limitUnits: of('D')?.limitUnitsPerUpdate.median,
      dOverLimit: over(of('D')?.limitUnitsPerUpdate.median),
      hydrateReadsOverB: quotient(of('D')?.readUnitsPerHydrate.median, of('B')?.readUnitsPerHydrate.median),
      persistCpuOverB: quotient(of('C')?.cpuMsPerUpdate.median, of('B')?.cpuMsPerUpdate.median),
      hydrateCpuOverB: quotient(of('D')?.cpuMsPerHydrate.median, of('B')?.cpuMsPerHydrate.median),
      dOverChunkLayout: over(medianUnits(of('D0'))),
      patchCpuOverChunkLayout: quotient(of('D')?.cpuMsPerUpdate.median, of('D0')?.cpuMsPerUpdate.median),
      patchReadsOverChunkLayout: quotient(
        of('D')?.readUnitsPerUpdate.median,
        of('D0')?.readUnitsPerUpdate.median,
      ),
    };
  });
}

export const percent = (value: number | undefined, digits = 2): string =>
  value === undefined ? '-' : `${(value * 100).toFixed(digits)}%`;

export const ratioHeaders = [
  'N',
  'k',
  'D/B′',
  'D/B',
  'D/B (B without deletes)',
  'D/A',
  'D/A (A without deletes)',
  'limit WCU',
  'D/limit',
  'hydrate RCU D/B',
  'PUT CPU C/B',
  'hydrate CPU D/B',
  'D/D0 WCU',
  'PATCH CPU D/D0',
  'PATCH RCU D/D0',
];

const times = (value: number | undefined) => (value === undefined ? '-' : `${value.toFixed(1)}×`);

export const ratioCells = (ratio: Ratio): string[] => [
  formatNumber(ratio.nodeCount),
  String(ratio.podsPerUpdate),
  percent(ratio.dOverBT),
  percent(ratio.dOverB),
  percent(ratio.dOverBPutOnly),
  percent(ratio.dOverA, 3),
  percent(ratio.dOverAPutOnly, 3),
  ratio.limitUnits === undefined ? '-' : formatNumber(ratio.limitUnits),
  times(ratio.dOverLimit),
  times(ratio.hydrateReadsOverB),
  times(ratio.persistCpuOverB),
  times(ratio.hydrateCpuOverB),
  percent(ratio.dOverChunkLayout),
  times(ratio.patchCpuOverChunkLayout),
  times(ratio.patchReadsOverChunkLayout),
];

export const capacityHeaders = [
  'item bytes',
  'WCU rule',
  'WCU reported',
  'RCU rule (consistent)',
  'RCU reported',
  'RCU rule (eventual)',
  'RCU reported',
];

export const capacityCells = (row: CapacityCheckRow): string[] => [
  formatNumber(row.itemBytes),
  String(row.ruleWriteUnits),
  String(row.reportedWriteUnits ?? '-'),
  String(row.ruleReadUnitsConsistent),
  String(row.reportedReadUnitsConsistent ?? '-'),
  String(row.ruleReadUnitsEventual),
  String(row.reportedReadUnitsEventual ?? '-'),
];

export const bundleHeaders = [
  'handler',
  'bundle',
  'gzip -9',
  'source map',
  'cold import ms (median)',
  'same, without --enable-source-maps',
  'process ms',
];

export const bundleCells = (report: BundleReport) =>
  report.bundles.map((bundle) => [
    bundle.handler,
    formatBytes(bundle.bundleBytes),
    formatBytes(bundle.compressedBytes),
    formatBytes(bundle.sourceMapBytes),
    formatNumber(bundle.initMs),
    bundle.initMsWithoutSourceMaps === undefined ? '-' : formatNumber(bundle.initMsWithoutSourceMaps),
    formatNumber(bundle.processMs),
  ]);

// ---------------------------------------------------------------- chart

const colors: Record<StrategyId, string> = {
  A: '#d62728',
  B: '#ff7f0e',
  BT: '#9467bd',
  C: '#1f77b4',
  D: '#2ca02c',
  D0: '#8c8c8c',
};
const dashes: Record<StrategyId, string> = { A: '', B: '6 3', BT: '4 2', C: '2 3', D: '', D0: '1 3' };

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Write units per update against N, log-log, one panel per k, one line per
 * strategy. Plain SVG with no script or external font, so GitHub renders it.
 */
export function writeUnitsChart(results: readonly CaseResult[], caption: string): string {
  const ks = [...new Set(results.map((result) => result.podsPerUpdate))].sort((a, b) => a - b);
  const ns = [...new Set(results.map((result) => result.nodeCount))].sort((a, b) => a - b);
  const values = results.map((result) => unitsOf(result)).filter((value) => value > 0);
  const low = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const panel = { width: 260, height: 250, left: 58, top: 56, gap: 24 };
  const width = panel.left + ks.length * (panel.width + panel.gap) + 10;
  const legendTop = panel.top + panel.height + 58;
  const height = legendTop + 2 * 20 + 10;
  const nMin = Math.min(...ns);
  const nMax = Math.max(...ns);
  const x = (n: number) =>
    nMax === nMin
      ? panel.width / 2
      : ((Math.log10(n) - Math.log10(nMin)) / (Math.log10(nMax) - Math.log10(nMin))) * (panel.width - 30) +
        15;
  const y = (units: number) =>
    panel.height -
    ((Math.log10(Math.max(units, low)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low))) *
      panel.height;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    '<title>DynamoDB write units per update against node count, strategies A to D</title>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${panel.left}" y="22" font-size="15" font-weight="bold">DynamoDB write units per update (mean over a fold cycle), by node count N</text>`,
    `<text x="${panel.left}" y="40" fill="#555">${escapeXml(caption)}</text>`,
  );
  ks.forEach((k, panelIndex) => {
    const left = panel.left + panelIndex * (panel.width + panel.gap);
    out.push(`<g transform="translate(${left},${panel.top})">`);
    out.push(`<rect width="${panel.width}" height="${panel.height}" fill="#fafafa" stroke="#ccc"/>`);
    for (let decade = low; decade <= high; decade *= 10) {
      const at = y(decade).toFixed(1);
      out.push(`<line x1="0" x2="${panel.width}" y1="${at}" y2="${at}" stroke="#e3e3e3"/>`);
      if (panelIndex === 0) {
        out.push(
          `<text x="-6" y="${at}" text-anchor="end" dominant-baseline="middle">${formatNumber(decade)}</text>`,
        );
      }
    }
    for (const n of ns) {
      const at = x(n).toFixed(1);
      out.push(`<line x1="${at}" x2="${at}" y1="0" y2="${panel.height}" stroke="#e3e3e3"/>`);
      out.push(`<text x="${at}" y="${panel.height + 16}" text-anchor="middle">${formatNumber(n)}</text>`);
    }
    out.push(
      `<text x="${panel.width / 2}" y="${panel.height + 34}" text-anchor="middle" fill="#555">N (nodes)</text>`,
    );
    out.push(`<text x="8" y="16" font-weight="bold">k = ${k} pod${k === 1 ? '' : 's'} per update</text>`);
    for (const strategy of strategyIds) {
      const points = ns
        .map((n) =>
          results.find(
            (result) => result.strategy === strategy && result.nodeCount === n && result.podsPerUpdate === k,
          ),
        )
        .filter((result): result is CaseResult => result !== undefined && result.updates > 0)
        .map((result) => [x(result.nodeCount), y(unitsOf(result)), unitsOf(result)] as const);
      if (points.length === 0) continue;
      const path = points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
      out.push(
        `<polyline points="${path}" fill="none" stroke="${colors[strategy]}" stroke-width="2"${dashes[strategy] ? ` stroke-dasharray="${dashes[strategy]}"` : ''}/>`,
      );
      for (const [px, py, units] of points) {
        out.push(
          `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3.5" fill="${colors[strategy]}"><title>${strategy}: ${formatNumber(units, 1)} WCU</title></circle>`,
        );
      }
    }
    out.push('</g>');
  });
  out.push(
    `<text transform="translate(16,${panel.top + panel.height / 2}) rotate(-90)" text-anchor="middle" fill="#555">write units per update (log)</text>`,
  );
  strategyIds.forEach((strategy, index) => {
    const left = panel.left + (index % 2) * Math.max(360, (width - panel.left) / 2);
    const top = legendTop + Math.floor(index / 2) * 20;
    out.push(
      `<line x1="${left}" x2="${left + 26}" y1="${top}" y2="${top}" stroke="${colors[strategy]}" stroke-width="2"${dashes[strategy] ? ` stroke-dasharray="${dashes[strategy]}"` : ''}/>`,
      `<text x="${left + 32}" y="${top}" dominant-baseline="middle"><tspan font-weight="bold">${strategy}</tspan> ${escapeXml(strategyLabels[strategy])}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
