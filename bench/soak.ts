/**
 * `npm run soak`: sustained concurrent writers, patchers, readers and
 * stoppers on many workflows, for a set time, against the local runtime (its
 * own process, as `npm start` runs it, on a DynamoDB Local of this run's own,
 * in memory). Then an independent check through a fresh DynamoDB client
 * (bench/soak/verify.ts): every acknowledged write present, no VersionMissing,
 * no workflow in an impossible state. The runtime's resident memory is
 * sampled every second throughout.
 *
 * Prints throughput, p50/p99/max latency per operation, memory (max and
 * trend) and the check, and writes bench/results/soak-<timestamp>.json and
 * soak-latest.json. Exits 1 when the check finds anything.
 *
 * Usage: npm run soak -- [--duration 60] [--workflows 16] [--nodes 200,800,2500]
 *        [--writers 3] [--patchers 3] [--readers 3] [--stoppers 1]
 *        [--stop-every 4] [--seed 1]
 *   DYNAMODB_ENDPOINT=http://127.0.0.1:8000 npm run soak   (use that DynamoDB)
 */
import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { WfoClient } from '#client/wfo-client';
import { type DynamoDbLocal, startDynamoDbLocal } from '#local/dynamodb-local';
import { type RuntimeProcess, rssOf, spawnRuntime } from '#testkit/runtime-process';
import { writeResults } from './results.ts';
import { type MemorySample, summarizeLatencies, summarizeMemory, textTable } from './soak/stats.ts';
import { verifyLedger } from './soak/verify.ts';
import { type Operation, runWorkload } from './soak/workload.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    workflows: { type: 'string', default: '16' },
    nodes: { type: 'string', default: '200,800,2500' },
    writers: { type: 'string', default: '3' },
    patchers: { type: 'string', default: '3' },
    readers: { type: 'string', default: '3' },
    stoppers: { type: 'string', default: '1' },
    'stop-every': { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(
    'usage: npm run soak -- [--duration 60] [--workflows 16] [--nodes 200,800,2500] [--writers 3] [--patchers 3] [--readers 3] [--stoppers 1] [--stop-every 4] [--seed 1]',
  );
  process.exit(0);
}

const positive = (name: string, text: string | undefined): number => {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`--${name} must be a non-negative number, got '${text}'`);
    process.exit(2);
  }
  return value;
};

const settings = {
  durationSeconds: positive('duration', values.duration),
  workflows: Math.max(1, Math.floor(positive('workflows', values.workflows))),
  nodeCounts: (values.nodes ?? '')
    .split(',')
    .map((count) => Math.max(1, Math.floor(positive('nodes', count)))),
  writers: Math.floor(positive('writers', values.writers)),
  patchers: Math.floor(positive('patchers', values.patchers)),
  readers: Math.floor(positive('readers', values.readers)),
  stoppers: Math.floor(positive('stoppers', values.stoppers)),
  stopEverySeconds: positive('stop-every', values['stop-every']),
  seed: Math.floor(positive('seed', values.seed)),
  retentionSeconds: 172_800,
};

const log = (line: string) => console.error(`[soak] ${line}`);
const mib = (bytes: number | undefined) => (bytes === undefined ? Number.NaN : Math.round(bytes / 2 ** 20));

let dynamodb: DynamoDbLocal | undefined;
let runtime: RuntimeProcess | undefined;
let sampler: NodeJS.Timeout | undefined;

async function shutdown(): Promise<void> {
  clearInterval(sampler);
  await runtime?.stop(10_000);
  await dynamodb?.stop();
}

process.once('SIGINT', () => {
  log('interrupted: stopping the runtime and DynamoDB Local');
  void shutdown().finally(() => process.exit(130));
});

async function main(): Promise<number> {
  const startedAt = new Date();
  let endpoint = process.env.DYNAMODB_ENDPOINT;
  if (!endpoint) {
    dynamodb = await startDynamoDbLocal();
    endpoint = dynamodb.endpoint;
    log(`DynamoDB Local (in memory) at ${endpoint}`);
  }
  const tableName = `soak-${randomUUID().slice(0, 8)}`;
  runtime = await spawnRuntime({
    DYNAMODB_ENDPOINT: endpoint,
    WFO_TABLE_NAME: tableName,
    WFO_RETENTION_SECONDS: String(settings.retentionSeconds),
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
  log(`runtime (pid ${runtime.pid}) at ${runtime.baseUrl}, table ${tableName}`);

  const runtimeMemory: MemorySample[] = [];
  const databaseMemory: MemorySample[] = [];
  let loadStartedAt = performance.now();
  const sample = () => {
    const atSeconds = (performance.now() - loadStartedAt) / 1000;
    const runtimeRss = runtime?.rssBytes();
    if (runtimeRss !== undefined) runtimeMemory.push({ atSeconds, rssBytes: runtimeRss });
    const databaseRss = dynamodb?.pid === undefined ? undefined : rssOf(dynamodb.pid);
    if (databaseRss !== undefined) databaseMemory.push({ atSeconds, rssBytes: databaseRss });
  };
  sample();
  sampler = setInterval(sample, 1000);

  const client = new WfoClient({ baseUrl: runtime.baseUrl, retry: { retries: 5, maxDelaySeconds: 2 } });
  const result = await runWorkload({
    client,
    ...settings,
    stopEveryMs: settings.stopEverySeconds * 1000,
    log,
    onLoadStart: () => {
      loadStartedAt = performance.now();
      runtimeMemory.length = 0;
      databaseMemory.length = 0;
      sample();
    },
  });
  sample();
  clearInterval(sampler);
  const runtimeAlive = !runtime.exited();
  const health = await client.health().then(
    () => 'ok',
    (error: unknown) => String(error),
  );
  const exitCode = await runtime.stop(10_000);
  log(
    `load done: ${result.acks.length} acknowledged writes; runtime ${runtimeAlive ? 'alive' : 'DEAD'}, exit ${exitCode}`,
  );

  log('independent check through a fresh DynamoDB client...');
  const verification = await verifyLedger({
    endpoint,
    tableName,
    acks: result.acks,
    uids: result.uids,
    retentionSeconds: settings.retentionSeconds,
  });
  await dynamodb?.stop();

  const seconds = result.seconds;
  const operations = Object.fromEntries(
    [...result.latencies].map(([operation, samples]) => [operation, summarizeLatencies(samples, seconds)]),
  ) as Record<Operation, ReturnType<typeof summarizeLatencies>>;
  const all = [...result.latencies.values()].flat();
  const writes = (['put', 'patch', 'stop'] as const).flatMap(
    (operation) => result.latencies.get(operation) ?? [],
  );
  const report = {
    kind: 'soak',
    startedAt: startedAt.toISOString(),
    command: process.argv.length > 2 ? `npm run soak -- ${process.argv.slice(2).join(' ')}` : 'npm run soak',
    settings,
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    load: {
      seconds: Math.round(seconds * 10) / 10,
      workflows: result.uids.length,
      requests: summarizeLatencies(all, seconds),
      writes: summarizeLatencies(writes, seconds),
      operations,
      failures: Object.fromEntries(result.failures),
    },
    memory: {
      runtime: summarizeMemory(runtimeMemory, seconds),
      dynamodbLocal: databaseMemory.length > 0 ? summarizeMemory(databaseMemory, seconds) : undefined,
      runtimeSamplesMiB: runtimeMemory.map((s) => [Math.round(s.atSeconds), mib(s.rssBytes)]),
    },
    runtime: { aliveAfterLoad: runtimeAlive, health, exitCode },
    onlineViolations: result.onlineViolations.slice(0, 50),
    verification,
  };
  const files = await writeResults('soak', report, startedAt);

  const order: Operation[] = ['create', 'get', 'put', 'patch', 'stop', 'versions', 'version', 'list'];
  const rows = order
    .filter((operation) => operations[operation])
    .map((operation) => {
      const summary = operations[operation];
      const failed = [...result.failures]
        .filter(([key]) => key.startsWith(`${operation} `))
        .reduce((sum, [, count]) => sum + count, 0);
      return [
        operation,
        String(summary.count),
        summary.perSecond.toFixed(1),
        summary.p50Ms.toFixed(1),
        summary.p99Ms.toFixed(1),
        summary.maxMs.toFixed(1),
        String(failed),
      ];
    });
  rows.push([
    'all',
    String(report.load.requests.count),
    report.load.requests.perSecond.toFixed(1),
    report.load.requests.p50Ms.toFixed(1),
    report.load.requests.p99Ms.toFixed(1),
    report.load.requests.maxMs.toFixed(1),
    String([...result.failures.values()].reduce((sum, count) => sum + count, 0)),
  ]);
  const memory = report.memory.runtime;
  console.log(
    [
      `soak: ${report.load.seconds} s, ${settings.writers} writers, ${settings.patchers} patchers, ${settings.readers} readers, ${settings.stoppers} stoppers on ${report.load.workflows} workflows (${settings.nodeCounts.join('/')} nodes)`,
      '',
      textTable(['operation', 'count', 'per s', 'p50 ms', 'p99 ms', 'max ms', 'failed'], rows),
      '',
      `runtime RSS: first ${memory.firstMiB} MiB, max ${memory.maxMiB} MiB, last ${memory.lastMiB} MiB; trend ${memory.trendMiBPerMinute} MiB/min after the first quarter; last quarter ${memory.lateGrowthPercent}% over the second (${memory.samples} samples)`,
      report.memory.dynamodbLocal
        ? `DynamoDB Local RSS: max ${report.memory.dynamodbLocal.maxMiB} MiB`
        : 'DynamoDB Local: not ours',
      `runtime after the load: ${runtimeAlive ? 'alive' : 'DEAD'}, /healthz ${health}; online checks: ${result.onlineViolations.length} violations`,
      `independent check (${verification.seconds} s): ${verification.workflows} workflows (${verification.stoppedWorkflows} stopped), ${verification.acknowledgedWrites} acknowledged writes, ${verification.versionsChecked} versions and ${verification.nodesChecked} nodes checked; VersionMissing ${verification.versionMissing}; violations ${verification.violationCount}`,
      ...verification.violations.slice(0, 10).map((text) => `  ${text}`),
      ...result.onlineViolations
        .slice(0, 10)
        .map((violation) => `  online: ${violation.uid}: ${violation.problem}`),
      '',
      `wrote ${files.join(' and ')}`,
    ].join('\n'),
  );
  const clean =
    runtimeAlive &&
    health === 'ok' &&
    verification.violationCount === 0 &&
    result.onlineViolations.length === 0;
  return clean ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    console.error(`soak failed: ${(error as Error)?.stack ?? error}`);
    await shutdown();
    process.exit(1);
  },
);
