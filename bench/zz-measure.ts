import { deflateRawSync, gzipSync, inflateRawSync } from 'node:zlib';
import { bucketOf, canonicalJson, prepareVersion } from '#domain/codec';
import { dictionaries } from '#domain/codec-dictionaries';
import { fieldChangeBetween, type JsonValue, type NodeMap } from '#domain/nodes';
import { buildWorkload } from './workload.ts';

const dict = Buffer.from(dictionaries['wfo-bucket-deflate-d2'], 'utf8');
const sameJson = (a: JsonValue, b: JsonValue) => a === b || JSON.stringify(a) === JSON.stringify(b);
for (const [N, k] of [
  [10000, 10],
  [10000, 1],
  [10000, 100],
  [1000, 10],
  [1000, 1],
  [50000, 10],
] as const) {
  const w = buildWorkload(N, k, 20, 1);
  const prepared = prepareVersion(w.initial);
  const B = prepared.bucketCount;
  const out: string[] = [`N=${N} k=${k} buckets=${B} updates=${w.updates.length}`];
  for (const G of [1, 4, 8, 16, 32, 64]) {
    if (G > B) continue;
    let bytes = 0,
      wcu = 0,
      items = 0;
    const pages: Buffer[] = [];
    for (let p = 0; p < B; p += G) {
      const text = prepared.buckets
        .slice(p, p + G)
        .map((b) => b.canonical)
        .join('');
      const c = deflateRawSync(Buffer.from(text), { level: 6, dictionary: dict });
      pages.push(c);
      bytes += c.length;
      wcu += Math.ceil((c.length + 60) / 1024);
      items++;
    }
    const t0 = process.hrtime.bigint();
    for (const c of pages) inflateRawSync(c, { dictionary: dict });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    out.push(`  G=${G}: items ${items} bytes ${bytes} wcu ${wcu} inflateAll ${ms.toFixed(1)}ms`);
  }
  const state: NodeMap = structuredClone(w.initial) as NodeMap;
  const sizes: number[] = [];
  const buckets: number[] = [];
  const wholes: number[] = [];
  for (const set of w.updates) {
    const merge: Record<string, unknown> = {};
    const whole: Record<string, unknown> = {};
    const bs = new Set<number>();
    for (const [id, node] of Object.entries(set)) {
      const old = state[id];
      bs.add(bucketOf(id, B));
      if (old) {
        const f = fieldChangeBetween(old, node as never, sameJson);
        if (f) merge[id] = f;
        else whole[id] = node;
      } else whole[id] = node;
      state[id] = node as never;
    }
    const text = canonicalJson({ merge, set: whole } as JsonValue);
    sizes.push(deflateRawSync(Buffer.from(text), { level: 6, dictionary: dict }).length);
    wholes.push(gzipSync(JSON.stringify(set)).length);
    buckets.push(bs.size);
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  out.push(
    `  entry deltas compressed median ${med(sizes)} B; whole changed gzip ${med(wholes)}; changed buckets ${med(buckets)}`,
  );
  const full = gzipSync(JSON.stringify(w.initial)).length;
  out.push(`  map gzip ${full}`);
  console.log(out.join('\n'));
}
