/**
 * The local runtime as `npm start` runs it (`node --import tsx local/start.ts`),
 * in a process of its own, so that its memory can be watched from outside:
 * `rssBytes()` reads the resident set of that process (what
 * `process.memoryUsage().rss` would say inside it) from /proc, or from `ps`,
 * and `cpuMs()` the CPU time it has used (Linux only).
 * Used by the soak run and the fuzz tests.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { processCpuMs } from './process-meters.ts';

export const projectRoot = fileURLToPath(new URL('..', import.meta.url));

export interface RuntimeProcess {
  /** `http://127.0.0.1:<port>`, as the runtime printed it. */
  readonly baseUrl: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resident set size of the runtime process now; undefined once it has exited. */
  rssBytes(): number | undefined;
  /** CPU milliseconds (user + system) the runtime process has used so far; undefined once it has exited. */
  cpuMs(): number | undefined;
  /** True once the process has exited. */
  exited(): boolean;
  /** The tail of what it printed. */
  output(): string;
  /** SIGINT, as Ctrl+C; SIGKILL if it has not exited after `graceMs`. Resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Resident set size of a process, in bytes. */
export function rssOf(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kilobytes = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    if (kilobytes !== undefined) return Number(kilobytes) * 1024;
  } catch {
    // Not Linux, or the process is gone.
  }
  try {
    const kilobytes = execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return kilobytes === '' ? undefined : Number(kilobytes) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * Starts the runtime with `PORT=0` and `env`, and resolves once it prints its
 * URL. Give it `DYNAMODB_ENDPOINT` to use a DynamoDB you started; without
 * it, it starts DynamoDB Local itself (data in `.wfo-data/` unless
 * `--in-memory` is among `args`).
 */
export function spawnRuntime(
  env: Record<string, string | undefined>,
  args: readonly string[] = [],
  startTimeoutMs = 120_000,
): Promise<RuntimeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', ...args], {
    cwd: projectRoot,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async (graceMs = 30_000) => {
    if (!hasExited()) child.kill('SIGINT');
    const timer = setTimeout(() => {
      if (!hasExited()) child.kill('SIGKILL');
    }, graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the runtime printed no URL within ${startTimeoutMs} ms:\n${output}`));
    }, startTimeoutMs);
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1] && child.pid !== undefined) {
        clearTimeout(timer);
        const pid = child.pid;
        resolve({
          baseUrl: match[1],
          pid,
          child,
          rssBytes: () => (hasExited() ? undefined : rssOf(pid)),
          cpuMs: () => (hasExited() ? undefined : processCpuMs(pid)),
          exited: hasExited,
          output: () => output,
          stop,
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the runtime exited with ${code} before printing a URL:\n${output}`));
    });
  });
}
