import { describe, expect, it } from 'vitest';
import { clockTicksPerSecond, countingFetch, cpuTicksOfStat, processCpuMs } from '#testkit/process-meters';

describe('cpuTicksOfStat', () => {
  it('adds utime and stime, fields 14 and 15', () => {
    const stat =
      '3773 (node) R 3769 3769 2066 0 -1 4194304 124 0 0 0 250 37 0 0 20 0 1 0 80504 3133440 361 18446744073709551615';
    expect(cpuTicksOfStat(stat)).toBe(287);
  });

  it('counts the fields from the last parenthesis of a name holding spaces and parentheses', () => {
    const stat = '12 (a b) (c)) S 1 12 12 0 -1 4194560 10 0 0 0 7 3 0 0 20 0 1 0 100 1000 10';
    expect(cpuTicksOfStat(stat)).toBe(10);
  });

  it('refuses text that is not a stat line', () => {
    expect(() => cpuTicksOfStat('no name here')).toThrow(/no command name/);
    expect(() => cpuTicksOfStat('1 (x) S 1 2')).toThrow(/no utime/);
  });

  it('reads this process on Linux, and nothing for a process that does not exist', () => {
    if (process.platform === 'linux') {
      expect(processCpuMs(process.pid)).toBeGreaterThanOrEqual(0);
      expect(clockTicksPerSecond()).toBeGreaterThan(0);
    }
    expect(processCpuMs(2 ** 30)).toBeUndefined();
  });
});

describe('countingFetch', () => {
  it('counts request bodies as sent and responses by content-length, else by body', async () => {
    const answers = [
      new Response('{"a":1}', { headers: { 'content-length': '123' } }),
      new Response(new Uint8Array(40)),
    ];
    const inner = (async () => answers.shift() as Response) as typeof fetch;
    const wire = countingFetch(inner);
    await wire.fetch('http://x/1', { method: 'PUT', body: 'héllo' });
    const second = await wire.fetch('http://x/2', { method: 'PUT', body: new Uint8Array(17) });
    expect(wire.counts).toEqual({ sent: 6 + 17, received: 123 + 40, requests: 2 });
    expect((await second.arrayBuffer()).byteLength).toBe(40);
    wire.reset();
    expect(wire.counts).toEqual({ sent: 0, received: 0, requests: 0 });
  });
});
