/**
 * `npm start` on its own: it starts its own DynamoDB Local (in memory with
 * `--in-memory`), serves, and on SIGINT stops and leaves no Java process
 * behind. Without Java it says so in one line and exits 1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { WfoClient } from '#client/wfo-client';
import { javaNotFoundMessage } from '#local/dynamodb-local';

const projectRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** The environment without a DynamoDB to use, so the runtime must start its own. */
function ownDatabaseEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', ...extra };
  delete env.DYNAMODB_ENDPOINT;
  delete env.WFO_TABLE_NAME;
  return env;
}

/** Pids of DynamoDB Local processes listening on `port`, from /proc. */
function dynamoDbLocalPids(port: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const portIndex = args.indexOf('-port');
      if (args.some((arg) => arg.endsWith('DynamoDBLocal.jar')) && args[portIndex + 1] === port) {
        pids.push(Number(entry));
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) {
      resolve(child.exitCode);
      return;
    }
    const timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('npm start', () => {
  const started: ChildProcess[] = [];

  afterAll(() => {
    // Only if a test failed half-way: take down the process groups this suite started.
    for (const child of started) {
      try {
        if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });

  it('starts its own DynamoDB Local in memory, serves, and leaves no Java process after SIGINT', async () => {
    const child = spawn('npm', ['start', '--', '--in-memory'], {
      cwd: projectRoot,
      env: ownDatabaseEnvironment({}),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    started.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const deadline = Date.now() + 90_000;
    while (!/listening on http:\/\/\S+/.test(output) && child.exitCode === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const baseUrl = /listening on (http:\/\/\S+)/.exec(output)?.[1];
    const dynamodbPort = /DynamoDB Local at http:\/\/127\.0\.0\.1:(\d+) \(in memory\)/.exec(output)?.[1];
    expect(baseUrl, output).toBeDefined();
    expect(dynamodbPort, output).toBeDefined();
    const javaPids = dynamoDbLocalPids(dynamodbPort as string);
    expect(javaPids).toHaveLength(1);

    const client = new WfoClient({ baseUrl: baseUrl as string });
    const health = await client.health();
    const created = await client.putWorkflow('npm-start-1', {
      namespace: 'argo',
      name: 'hello',
      nodes: { a: { id: 'a', phase: 'Running' } },
    });
    child.kill('SIGINT');
    const exitCode = await waitForExit(child, 30_000);

    expect(health).toEqual({ status: 'ok' });
    expect(created.created).toBe(true);
    expect(output).toMatch(/tables 'workflow-offload' and 'workflow-offload-versions' ready/);
    expect(exitCode).toBe(0);
    expect(output).toMatch(/stopped/);
    for (const pid of javaPids) expect(existsSync(`/proc/${pid}`), `java ${pid} still running`).toBe(false);
    expect(dynamoDbLocalPids(dynamodbPort as string)).toEqual([]);
  });

  it('prints one line and exits 1 when there is no Java', async () => {
    // A PATH with node on it and nothing else.
    const bin = await mkdtemp(join(tmpdir(), 'wfo-no-java-'));
    await symlink(process.execPath, join(bin, 'node'));
    try {
      const child = spawn(
        process.execPath,
        [join(projectRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'local/start.ts', '--in-memory'],
        { cwd: projectRoot, env: ownDatabaseEnvironment({ PATH: bin }), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      started.push(child);
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });

      const exitCode = await waitForExit(child, 60_000);

      expect(exitCode).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toBe(`${javaNotFoundMessage}\n`);
      expect(javaNotFoundMessage).toBe(
        'java not found: DynamoDB Local needs a Java 17 runtime; install it with: sudo apt-get install -y openjdk-17-jre-headless',
      );
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });
});
