/**
 * `npm run bench -- --levers`: the layout levers of the cost goal, measured
 * offline (no database), so that docs/performance.md can quote them:
 *
 * - the preset dictionary: bytes of the buckets of the vendored Argo node
 *   statuses and of a generated 10,000-node map with no dictionary, with
 *   codec d1's, with d2's (cut from the fixtures), and, for the fixtures,
 *   with one cut from every fixture file but the one measured (the figure
 *   for a real workflow the dictionary was not cut from);
 * - the CPU of compressing and decoding the generated map's buckets with
 *   each codec (medians of 7);
 * - hot containers together: on the benchmark's updates (N = 10,000,
 *   k = 10), the nodes changed by type and the distinct buckets rewritten
 *   now, and if every container node sat in a hot region of 16 or 64
 *   buckets of its own.
 *
 * Writes `bench/results/levers-<timestamp>.json` and `levers-latest.json`.
 */
import { deflateRawSync } from 'node:zlib';
import {
  bucketOf,
  compressBucket,
  concatParts,
  decodeChunk,
  defaultCodecOptions,
  prepareVersion,
} from '#domain/codec';
import { type CodecName, dictionaries } from '#domain/codec-dictionaries';
import type { NodeMap } from '#domain/nodes';
import { generateNodes, loadArgoFixtures } from '#testkit/argo-generator';
import { cutDictionary } from '#testkit/codec-dictionary';
import { writeResults } from './results.ts';
import { formatNumber, median, round, textTable } from './support/stats.ts';
import { buildWorkload, runningFraction } from './workload.ts';

export interface LeversContext {
  readonly seed: number;
  readonly log: (line: string) => void;
  readonly command: string;
  readonly startedAt: Date;
}

const codecs = Object.keys(dictionaries) as CodecName[];

/** Compressed bytes of a map's buckets with a given dictionary (none when empty). */
function bucketBytes(nodes: NodeMap, dictionary: Buffer): number {
  let bytes = 0;
  for (const bucket of prepareVersion(nodes).buckets) {
    const raw = Buffer.from(bucket.canonical, 'utf8');
    bytes += deflateRawSync(raw, {
      level: defaultCodecOptions.compressionLevel,
      ...(dictionary.length > 0 ? { dictionary } : {}),
    }).length;
  }
  return bytes;
}

function dictionaryLever(generated: NodeMap) {
  const fixtures = loadArgoFixtures();
  const fixtureBytes = (dictionaryFor: (held: (typeof fixtures)[number]) => Buffer) =>
    fixtures.reduce((sum, held) => sum + bucketBytes(held.nodes as NodeMap, dictionaryFor(held)), 0);
  const none = Buffer.alloc(0);
  const byCodec = Object.fromEntries(
    codecs.map((codec) => [codec, Buffer.from(dictionaries[codec], 'utf8')]),
  );
  return {
    fixtures: {
      none: fixtureBytes(() => none),
      ...Object.fromEntries(codecs.map((codec) => [codec, fixtureBytes(() => byCodec[codec] as Buffer)])),
      leaveOneOut: fixtureBytes((held) =>
        Buffer.from(cutDictionary(fixtures.filter((fixture) => fixture !== held))),
      ),
    },
    generated: {
      none: bucketBytes(generated, none),
      ...Object.fromEntries(codecs.map((codec) => [codec, bucketBytes(generated, byCodec[codec] as Buffer)])),
    },
  };
}

const cpuMs = (run: () => void): number => {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

function cpuLever(generated: NodeMap) {
  const buckets = prepareVersion(generated).buckets;
  return Object.fromEntries(
    codecs.map((codec) => {
      const compress: number[] = [];
      const decode: number[] = [];
      for (let run = 0; run < 7; run++) {
        let parts: Uint8Array[] = [];
        compress.push(
          cpuMs(() => {
            parts = buckets.map((bucket) =>
              concatParts(compressBucket(bucket.canonical, { ...defaultCodecOptions, codec })),
            );
          }),
        );
        decode.push(
          cpuMs(() => {
            for (const data of parts) decodeChunk(codec, data);
          }),
        );
      }
      return [
        codec,
        {
          buckets: buckets.length,
          compressMs: round(median(compress), 1),
          decodeMs: round(median(decode), 1),
        },
      ];
    }),
  );
}

function hotLever(seed: number) {
  const workload = buildWorkload(10_000, 10, 20, seed);
  const bucketCount = prepareVersion(workload.initial).bucketCount;
  const changedByType: Record<string, number> = {};
  const rewritten = { now: 0, hot16: 0, hot64: 0 };
  for (const set of workload.updates) {
    const ids = Object.keys(set);
    for (const id of ids) {
      const type = String(set[id]?.type);
      changedByType[type] = (changedByType[type] ?? 0) + 1 / workload.updates.length;
    }
    rewritten.now += new Set(ids.map((id) => bucketOf(id, bucketCount))).size / workload.updates.length;
    for (const [key, hotBuckets] of [
      ['hot16', 16],
      ['hot64', 64],
    ] as const) {
      const placed = ids.map((id) =>
        set[id]?.type === 'Pod' ? `cold ${bucketOf(id, bucketCount)}` : `hot ${bucketOf(id, hotBuckets)}`,
      );
      rewritten[key] += new Set(placed).size / workload.updates.length;
    }
  }
  const containers = Object.values(workload.initial).filter(
    (node) => (node as { type?: string }).type !== 'Pod',
  ).length;
  return {
    nodeCount: 10_000,
    podsPerUpdate: 10,
    updates: workload.updates.length,
    bucketCount,
    containerNodes: containers,
    changedPerUpdateByType: Object.fromEntries(
      Object.entries(changedByType).map(([type, count]) => [type, round(count, 2)]),
    ),
    bucketsRewrittenPerUpdate: {
      now: round(rewritten.now, 1),
      containersInHot16: round(rewritten.hot16, 1),
      containersInHot64: round(rewritten.hot64, 1),
    },
  };
}

export async function runLevers(context: LeversContext): Promise<void> {
  const { log, seed } = context;
  const generated = generateNodes({ nodeCount: 10_000, seed, runningFraction }) as NodeMap;
  const dictionary = dictionaryLever(generated);
  const cpu = cpuLever(generated);
  const hot = hotLever(seed);
  const bytesRow = (name: string, sizes: Record<string, number>) => [
    name,
    ...['none', ...codecs, 'leaveOneOut'].map((key) =>
      sizes[key] === undefined ? '-' : formatNumber(sizes[key]),
    ),
  ];
  log('Bucket bytes by dictionary (deflate level 6):');
  log(
    textTable(
      ['map', 'none', ...codecs, 'd2 cut without the file measured'],
      [
        bytesRow('Argo fixtures (11 files)', dictionary.fixtures),
        bytesRow('generated, 10,000 nodes', dictionary.generated),
      ],
    ),
  );
  log('CPU of the 10,000-node map, ms (medians of 7):');
  log(
    textTable(
      ['codec', 'buckets', 'compress', 'decode'],
      Object.entries(cpu).map(([codec, row]) => [
        codec,
        String(row.buckets),
        formatNumber(row.compressMs),
        formatNumber(row.decodeMs),
      ]),
    ),
  );
  log(
    `Hot containers together (N = 10,000, k = 10, ${hot.updates} updates, ${hot.containerNodes} container nodes): ` +
      `buckets rewritten per update now ${hot.bucketsRewrittenPerUpdate.now}, ` +
      `containers in 64 hot buckets ${hot.bucketsRewrittenPerUpdate.containersInHot64}, ` +
      `in 16 ${hot.bucketsRewrittenPerUpdate.containersInHot16}; changed per update by type ${JSON.stringify(hot.changedPerUpdateByType)}`,
  );
  const files = await writeResults(
    'levers',
    {
      kind: 'levers',
      command: context.command,
      startedAt: context.startedAt.toISOString(),
      seed,
      dictionary,
      cpu,
      hot,
    },
    context.startedAt,
  );
  log(`Results: ${files.join(', ')}`);
}
