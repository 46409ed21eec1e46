/**
 * The race harness's `sync` strategy, briefly, as `npm run race` runs it (a
 * child process, on the integration tests' DynamoDB Local): simulated
 * controllers drive the local runtime over HTTP through SyncClient deltas
 * with If-Match and re-apply while users stop every workflow, some twice at
 * once; the independent ledger check then finds no seed failure
 * (VersionMissing and its kin), no other failure and no lost update, and
 * the stops took effect.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '#testkit/runtime-process';
import { dynamodbEndpoint } from '#testkit/table';

const run = promisify(execFile);

/** The fields of the race's JSON report this test reads. */
interface RaceReport {
  readonly strategy: string;
  readonly acknowledgedOperations: { hydrate: number; persist: number; stop: number; total: number };
  readonly stops: { requested: number; tookEffect: number; refusedCompleted: number; failed: number };
  readonly failures: Record<string, number>;
  readonly versionMissingFailures: number;
  readonly lostUpdates: number;
  readonly unreadableWorkflows: number;
  readonly workflowsStopped: number;
  readonly failureSamples: unknown[];
  readonly lostSamples: unknown[];
}

describe('npm run race -- --strategies sync', () => {
  it('drives the runtime over HTTP through the sync client: no seed failure, no lost update, stops take effect', {
    timeout: 120_000,
  }, async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/race.ts',
        '--strategies',
        'sync',
        '--workflows',
        '4',
        '--nodes',
        '120',
        '--duration',
        '5',
        '--stop-fraction',
        '1',
        '--double-stop',
        '0.5',
        '--no-write',
        '--json',
      ],
      {
        cwd: projectRoot,
        env: { ...process.env, DYNAMODB_ENDPOINT: dynamodbEndpoint() },
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const { reports, verdict } = JSON.parse(stdout) as { reports: RaceReport[]; verdict: string };
    const [report] = reports;

    expect(reports).toHaveLength(1);
    expect(report?.strategy).toBe('sync');
    const sync = report as RaceReport;
    expect({ failures: sync.failureSamples, lost: sync.lostSamples }).toEqual({ failures: [], lost: [] });
    expect(sync.versionMissingFailures).toBe(0);
    expect(Object.values(sync.failures).every((count) => count === 0)).toBe(true);
    expect(sync.lostUpdates).toBe(0);
    expect(sync.unreadableWorkflows).toBe(0);
    expect(sync.acknowledgedOperations.hydrate).toBeGreaterThan(0);
    expect(sync.acknowledgedOperations.persist).toBeGreaterThan(0);
    expect(sync.stops.requested).toBeGreaterThanOrEqual(4);
    expect(sync.stops.failed).toBe(0);
    expect(sync.stops.tookEffect).toBeGreaterThan(0);
    expect(sync.workflowsStopped).toBeGreaterThan(0);
    expect(verdict).toBe('sync: no failure, no lost update');
  });
});
