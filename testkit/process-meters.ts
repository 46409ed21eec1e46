/**
 * Meters for measuring a process from outside and a client's traffic from
 * inside: the CPU time another process has used (utime + stime from
 * `/proc/<pid>/stat`, in clock ticks, normally 10 ms each), and a `fetch`
 * that counts the bytes of every request body as sent and every response as
 * it came over the wire (its `content-length`, else its body). Used by the
 * benchmark's wire section.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * utime + stime, in clock ticks, from the text of `/proc/<pid>/stat`. The
 * command name (field 2) is in parentheses and may hold spaces or
 * parentheses itself, so the fields are counted from the last `)`.
 */
export function cpuTicksOfStat(stat: string): number {
  const end = stat.lastIndexOf(')');
  if (end < 0) throw new Error('not a /proc/<pid>/stat line: no command name');
  // After the name: field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
  const fields = stat
    .slice(end + 1)
    .trim()
    .split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) {
    throw new Error('not a /proc/<pid>/stat line: no utime and stime');
  }
  return utime + stime;
}

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK`: the unit of the times in /proc; 100 when it cannot be asked. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU milliseconds (user + system, all threads) another process has used so far; undefined off Linux or once it is gone. */
export function processCpuMs(pid: number): number | undefined {
  try {
    return (cpuTicksOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8')) * 1000) / clockTicksPerSecond();
  } catch {
    return undefined;
  }
}

/** Bytes a {@link countingFetch} has seen since its last reset. */
export interface WireCounts {
  /** Request bodies, as sent (gzip when the client compressed them). */
  sent: number;
  /** Response bodies, as they came (gzip when the server compressed them). */
  received: number;
  requests: number;
}

/**
 * A `fetch` for `WfoClientOptions.fetch` that counts what crosses the wire.
 * Headers are not counted, only bodies.
 *
 * @example
 * const wire = countingFetch();
 * const client = new WfoClient({ baseUrl, fetch: wire.fetch });
 * wire.reset();
 * await client.getWorkflow('wf-1');
 * console.log(wire.counts.received);
 */
export function countingFetch(inner: typeof fetch = globalThis.fetch): {
  readonly counts: WireCounts;
  readonly fetch: typeof fetch;
  reset(): void;
} {
  const counts: WireCounts = { sent: 0, received: 0, requests: 0 };
  const counted: typeof fetch = async (input, init) => {
    counts.requests++;
    counts.sent += bodyBytes(init?.body);
    const response = await inner(input, init);
    const length = response.headers.get('content-length');
    if (length !== null && length !== '') {
      counts.received += Number(length);
      return response;
    }
    // No length header: read the body (as the server sent it, when fetch did not decode it) and hand on a copy.
    const bytes = new Uint8Array(await response.arrayBuffer());
    counts.received += bytes.length;
    return new Response(bytes, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
  return {
    counts,
    fetch: counted,
    reset() {
      counts.sent = 0;
      counts.received = 0;
      counts.requests = 0;
    },
  };
}

function bodyBytes(body: RequestInit['body'] | undefined): number {
  if (body === undefined || body === null) return 0;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.length;
  if (body instanceof ArrayBuffer) return body.byteLength;
  if (ArrayBuffer.isView(body)) return body.byteLength;
  throw new Error('countingFetch counts string and byte bodies only');
}
