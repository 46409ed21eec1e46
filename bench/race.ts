/**
 * `npm run race`: many workflows, each driven by a simulated controller,
 * while users stop them at random moments, run on this project's store, on
 * a store that deletes old versions on save as Argo did before its fix
 * (same seeded workload, same service code, in this process), and through
 * the local runtime over HTTP with the sync client.
 * Reports operations, conflicts and re-applies, stops requested and taking
 * effect, the seed failure ("no more rows": VersionMissing and its kin),
 * lost updates by an independent replay of what every writer was told
 * (bench/race/ledger.ts states the rule), and latencies. Writes
 * bench/results/race-<timestamp>.json and bench/results/race-latest.json.
 *
 * The strategy `sync` runs the same workload through the local runtime
 * (`npm start`, deployed front-door limits) over HTTP, each controller with
 * a SyncClient and a cache of its own, so that what crosses the wire is
 * deltas.
 *
 * Exits 1 when this project's service (`ours`, or `sync`) shows any failure
 * or lost update: that is a bug, and the report says where.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { type Progress, runStrategy, type StrategyReport } from './race/harness.ts';
import {
  allRaceStrategies,
  defaultRaceOptions,
  planWorkload,
  type RaceOptions,
  type RaceStrategy,
  raceStrategies,
} from './race/workload.ts';
import { writeResults } from './results.ts';
import { openDatabase } from './support/dynamodb.ts';
import { formatNumber, textTable } from './support/stats.ts';

export interface RaceIo {
  readonly stdout: { write(text: string): unknown; isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const raceUsage = `Usage: npm run race -- [options]

Runs the race harness on DynamoDB Local (or $DYNAMODB_ENDPOINT) for each strategy.

Options (defaults finish in under a minute on two cores):
  --workflows N          workflows, one controller each (default ${defaultRaceOptions.workflows})
  --nodes N              largest node count; each workflow gets N/2..N (default ${defaultRaceOptions.nodes})
  --pods N               pods a controller advances per update (default ${defaultRaceOptions.podsPerUpdate})
  --rate R               updates per second per controller (default ${defaultRaceOptions.updatesPerSecond})
  --think-ms MS          mean reconcile time between hydrate and persist (default ${defaultRaceOptions.thinkMs})
  --stop-fraction F      share of workflows a user stops (default ${defaultRaceOptions.stopFraction})
  --double-stop F        share of stops two users send at once (default ${defaultRaceOptions.doubleStopFraction})
  --expand F             chance per update that a running group gets a new child (default ${defaultRaceOptions.expandChance})
  --duration S           seconds per strategy (default ${defaultRaceOptions.durationSeconds})
  --seed N               workload seed (default ${defaultRaceOptions.seed})
  --argo-ttl S           the baseline deletes versions older than S seconds on save (default ${defaultRaceOptions.argoTtlSeconds})
  --strategies LIST      ours,argo,sync (default all three); add unsafe for a negative control:
                         ours without compare-and-set, where the check must find lost updates.
                         ours and argo drive the service in this process; sync starts the
                         local runtime (npm start, deployed limits) on the same DynamoDB and
                         drives it over HTTP, one SyncClient and cache per controller
  --no-write             do not write bench/results/race-*.json
  --json                 print the JSON report instead of the table
  -h, --help             this help
`;

const flags = {
  workflows: { type: 'string' },
  nodes: { type: 'string' },
  pods: { type: 'string' },
  rate: { type: 'string' },
  'think-ms': { type: 'string' },
  'stop-fraction': { type: 'string' },
  'double-stop': { type: 'string' },
  expand: { type: 'string' },
  duration: { type: 'string' },
  seed: { type: 'string' },
  'argo-ttl': { type: 'string' },
  strategies: { type: 'string' },
  json: { type: 'boolean' },
  'no-write': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

class RaceUsageError extends Error {}

/** The strategies that run this project's service: a failure or lost update in them exits 1. */
const checkedStrategies: readonly RaceStrategy[] = ['ours', 'sync'];

function number(
  value: string | undefined,
  fallback: number,
  name: string,
  min: number,
  max = Infinity,
): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
    throw new RaceUsageError(`--${name} must be a number from ${min} to ${max}, got '${value}'`);
  }
  return parsed;
}

export function parseRaceOptions(
  argv: readonly string[],
): RaceOptions & { json: boolean; write: boolean; help: boolean } {
  let values: ReturnType<typeof parseArgs<{ options: typeof flags }>>['values'];
  try {
    ({ values } = parseArgs({ args: [...argv], options: flags, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new RaceUsageError((error as Error).message.split('. ')[0] ?? String(error));
  }
  const strategies = (values.strategies?.split(',') ?? [...raceStrategies]) as RaceStrategy[];
  for (const strategy of strategies) {
    if (!allRaceStrategies.includes(strategy)) {
      throw new RaceUsageError(`unknown strategy '${strategy}': use ${allRaceStrategies.join(',')}`);
    }
  }
  const d = defaultRaceOptions;
  return {
    workflows: Math.round(number(values.workflows, d.workflows, 'workflows', 1, 10_000)),
    nodes: Math.round(number(values.nodes, d.nodes, 'nodes', 8, 200_000)),
    podsPerUpdate: Math.round(number(values.pods, d.podsPerUpdate, 'pods', 1, 10_000)),
    updatesPerSecond: number(values.rate, d.updatesPerSecond, 'rate', 0.01, 1_000),
    thinkMs: number(values['think-ms'], d.thinkMs, 'think-ms', 0, 60_000),
    stopFraction: number(values['stop-fraction'], d.stopFraction, 'stop-fraction', 0, 1),
    doubleStopFraction: number(values['double-stop'], d.doubleStopFraction, 'double-stop', 0, 1),
    expandChance: number(values.expand, d.expandChance, 'expand', 0, 1),
    durationSeconds: number(values.duration, d.durationSeconds, 'duration', 1, 3_600),
    seed: Math.round(number(values.seed, d.seed, 'seed', 0)),
    argoTtlSeconds: number(values['argo-ttl'], d.argoTtlSeconds, 'argo-ttl', 0, 86_400),
    strategies,
    json: values.json ?? false,
    write: !(values['no-write'] ?? false),
    help: values.help ?? false,
  };
}

const labels: Record<RaceStrategy, string> = {
  ours: 'ours (DynamoDbStore)',
  argo: 'Argo before fix (ArgoStyleStore)',
  sync: 'sync client over HTTP (runtime)',
  unsafe: 'control: no compare-and-set',
};

/** The comparison table: one column per strategy. */
export function raceTable(reports: readonly StrategyReport[]): string {
  const latency = (summary: { median: number; p99: number }) =>
    `${formatNumber(summary.median)} / ${formatNumber(summary.p99)}`;
  const rows: [string, (report: StrategyReport) => string][] = [
    [
      'operations (hydrate + persist + stop)',
      (r) =>
        `${r.operations.total} (${r.operations.hydrate} + ${r.operations.persist} + ${r.operations.stop})`,
    ],
    [
      'acknowledged (hydrate + persist + stop)',
      (r) =>
        `${r.acknowledgedOperations.total} (${r.acknowledgedOperations.hydrate} + ${r.acknowledgedOperations.persist} + ${r.acknowledgedOperations.stop})`,
    ],
    ['persists acknowledged', (r) => String(r.persistsAcknowledged)],
    ['conflicts: stale If-Match, re-applied', (r) => String(r.reapplied)],
    ['conflicts: CAS retries inside the service', (r) => String(r.casConflicts)],
    ['stops requested', (r) => String(r.stops.requested)],
    ['stops that took effect', (r) => String(r.stops.tookEffect)],
    ['stops refused: workflow already completed', (r) => String(r.stops.refusedCompleted)],
    ['stops failed', (r) => String(r.stops.failed)],
    ['VersionMissing failures ("no more rows")', (r) => String(r.versionMissingFailures)],
    ["  in a user's stop (hydrating the version it loaded)", (r) => String(r.versionMissingBy.stop)],
    ['  in a re-apply (reloading woc.orig: the base version)', (r) => String(r.versionMissingBy.persist)],
    ["  in a controller's hydrate of the current version", (r) => String(r.versionMissingBy.hydrate)],
    ['  reading the workflows back after the run', (r) => String(r.versionMissingBy.verify)],
    ['other failures (contention, errors)', (r) => String(r.failures.contention + r.failures.other)],
    ['workflows that met a failure', (r) => `${r.workflowsWithFailures} of ${r.workflows}`],
    ['workflows unreadable after the run', (r) => String(r.unreadableWorkflows)],
    ['acknowledged node changes checked', (r) => String(r.acknowledgedNodeChanges)],
    ['lost updates (replay of acknowledged writes)', (r) => String(r.lostUpdates)],
    ['ambiguous (a failed write may have committed)', (r) => String(r.ambiguous)],
    ['workflows ended stopped / completed', (r) => `${r.workflowsStopped} / ${r.workflowsCompleted}`],
    ['hydrate ms p50 / p99', (r) => latency(r.latencyMs.hydrate)],
    ['persist ms p50 / p99', (r) => latency(r.latencyMs.persist)],
    ['stop ms p50 / p99', (r) => latency(r.latencyMs.stop)],
  ];
  return textTable(
    ['', ...reports.map((report) => labels[report.strategy])],
    rows.map(([label, cell]) => [label, ...reports.map(cell)]),
  );
}

/** Runs the harness; returns the exit code (1 when this project's store shows a failure). */
export async function raceMain(argv: readonly string[], io: RaceIo): Promise<number> {
  let options: ReturnType<typeof parseRaceOptions>;
  try {
    options = parseRaceOptions(argv);
  } catch (error) {
    if (!(error instanceof RaceUsageError)) throw error;
    io.stderr.write(`race: ${error.message}\n\n${raceUsage}`);
    return 2;
  }
  if (options.help) {
    io.stdout.write(raceUsage);
    return 0;
  }
  const log = (line: string) => io.stderr.write(`${line}\n`);
  const startedAt = new Date();
  const plan = planWorkload(options);
  const nodeTotal = plan.reduce((sum, workflow) => sum + Object.keys(workflow.nodes).length, 0);
  log(
    `Race: ${plan.length} workflows (${formatNumber(nodeTotal)} nodes), ${options.updatesPerSecond} updates/s each, ` +
      `${plan.filter((workflow) => workflow.stop).length} stopped by users, ${options.durationSeconds} s per strategy, seed ${options.seed}`,
  );
  const database = await openDatabase(log, io.env.DYNAMODB_ENDPOINT);
  const reports: StrategyReport[] = [];
  try {
    // DynamoDB Local's JVM and V8 both start cold: a short unreported run warms them, so that the
    // first strategy measured does not pay for it.
    const warmUpOptions = { ...options, workflows: 4, durationSeconds: 3, seed: options.seed + 1 };
    const warmUpTable = await database.createTable('race-warmup');
    await runStrategy(
      'ours',
      { ...warmUpTable, endpoint: database.endpoint },
      planWorkload(warmUpOptions),
      warmUpOptions,
      () => {},
    );
    for (const strategy of options.strategies) {
      const table = await database.createTable(`race-${strategy}`);
      let lastLine = 0;
      const progress = (state: Progress) => {
        const line =
          `[${strategy} ${(state.elapsedMs / 1000).toFixed(0).padStart(3)}/${options.durationSeconds}s] ` +
          `controllers running ${state.running}, persists ${state.persists}, conflicts ${state.conflicts}, ` +
          `stops ${state.stopsDone}/${state.stopsRequested}, failures ${state.failures}`;
        if (io.stderr.isTTY) io.stderr.write(`\r${line}\u001b[K`);
        else if (state.elapsedMs - lastLine >= 5_000) {
          lastLine = state.elapsedMs;
          log(line);
        }
      };
      const report = await runStrategy(
        strategy,
        { ...table, endpoint: database.endpoint },
        plan,
        options,
        progress,
      );
      if (io.stderr.isTTY) io.stderr.write('\r\u001b[K');
      log(
        `[${strategy}] done: ${report.operations.total} operations, ${report.versionMissingFailures} VersionMissing failures, ${report.lostUpdates} lost updates`,
      );
      reports.push(report);
    }
  } finally {
    await database.close();
  }

  // This project's service, in process and over HTTP: any failure or lost update is a bug.
  const failing = reports.filter(
    (report) =>
      checkedStrategies.includes(report.strategy) &&
      (report.versionMissingFailures > 0 ||
        report.failures.other > 0 ||
        report.failures.contention > 0 ||
        report.lostUpdates > 0 ||
        report.unreadableWorkflows > 0 ||
        report.stops.failed > 0),
  );
  const checked = reports.filter((report) => checkedStrategies.includes(report.strategy));
  const failed = failing.length > 0;
  const data = {
    kind: 'race',
    command: `npm run race --${argv.map((argument) => ` ${argument}`).join('')}`.replace(/ --$/, ''),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    options: { ...options, json: undefined, help: undefined, write: undefined },
    verdict: failed
      ? `BUG: this project's service showed failures or lost updates (${failing.map((report) => report.strategy).join(', ')})`
      : checked.length > 0
        ? `${checked.map((report) => report.strategy).join(', ')}: no failure, no lost update`
        : "no strategy of this project's service was run",
    reports,
  };
  const files = options.write ? await writeResults('race', data, startedAt) : [];
  if (options.json) io.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else io.stdout.write(`\n${raceTable(reports)}\n\n`);
  for (const report of failing) {
    io.stderr.write(
      `BUG: this project's service (${report.strategy}) showed failures or lost updates. Samples:\n${JSON.stringify(
        { failures: report.failureSamples, lost: report.lostSamples },
        null,
        2,
      )}\n`,
    );
  }
  log(files.length > 0 ? `Results: ${files.join(', ')}` : 'Results: not written (--no-write)');
  return failed ? 1 : 0;
}

// `npm run race`: run when executed directly, not when imported.
if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  process.exitCode = await raceMain(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
}
