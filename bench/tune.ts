/**
 * `npm run bench -- --tune`: sweeps the codec options on N = 10,000 nodes,
 * k = 10 pods per update, through the real service on DynamoDB Local:
 * `targetNodesPerBucket` × `compressionLevel`, with write units per PATCH
 * and per full PUT, read units and CPU per hydrate. Then, offline, what the
 * preset dictionary buys: the same buckets compressed with the codec's
 * dictionary, with none, and with one cut from other generated workflows.
 *
 * The sweep passes options through `ServiceSettings.codec`; the defaults in
 * `functions/domain/codec.ts` change only by hand, after reading this.
 */
import { deflateRawSync } from 'node:zlib';
import {
  type CodecOptions,
  canonicalJson,
  compressBucket,
  defaultCodecOptions,
  prepareVersion,
} from '#domain/codec';
import type { NodeMap } from '#domain/nodes';
import { writeUnitsFor } from '#store/item-size';
import { generateNodes } from '#testkit/argo-generator';
import { runCase } from './bench-cases.ts';
import { writeResults } from './results.ts';
import { createRunner } from './strategies/runners.ts';
import { CapacityMeter } from './support/capacity-meter.ts';
import type { BenchDatabase } from './support/dynamodb.ts';
import { formatNumber, median, round, textTable } from './support/stats.ts';
import { buildWorkload, runningFraction } from './workload.ts';

export interface TuneContext {
  readonly seed: number;
  readonly quick: boolean;
  readonly log: (line: string) => void;
  readonly command: string;
  readonly startedAt: Date;
}

export async function runTune(database: BenchDatabase, context: TuneContext): Promise<void> {
  const { log, seed } = context;
  const nodeCount = 10_000;
  const podsPerUpdate = 10;
  const updates = context.quick ? 5 : 10;
  const bucketSizes = context.quick ? [16, 64] : [8, 16, 32, 64, 128];
  const levels = context.quick ? [1, 6] : [1, 6, 9];
  const workload = buildWorkload(nodeCount, podsPerUpdate, updates, seed);
  log(
    `Tune: N=${formatNumber(nodeCount)}, k=${podsPerUpdate}, ${workload.updates.length} updates per option set`,
  );

  const table = await database.createTable('bench-tune');
  const meter = new CapacityMeter().attach(table.documentClient);
  const sweep = [];
  // One untimed pass so that the first option set is not the one that pays for compilation.
  await runCase(
    createRunner('D', table.documentClient, table.tableName),
    buildWorkload(2_000, podsPerUpdate, 3, seed + 1),
    table,
    meter,
    'tune-warmup',
    { hydrates: 1, updates: 3, verify: false },
  );
  for (const targetNodesPerBucket of bucketSizes) {
    for (const compressionLevel of levels) {
      const codec: CodecOptions = { ...defaultCodecOptions, targetNodesPerBucket, compressionLevel };
      const settings = { codec };
      const label = `b${targetNodesPerBucket}-l${compressionLevel}`;
      const patch = await runCase(
        createRunner('D', table.documentClient, table.tableName, settings),
        workload,
        table,
        meter,
        `tune-${label}-d`,
        { hydrates: 3, updates, verify: false },
      );
      const put = await runCase(
        createRunner('C', table.documentClient, table.tableName, settings),
        workload,
        table,
        meter,
        `tune-${label}-c`,
        { hydrates: 0, updates: Math.min(updates, 5), verify: false },
      );
      const row = {
        targetNodesPerBucket,
        compressionLevel,
        patchWriteUnits: patch.writeUnitsPerUpdate.median,
        putWriteUnits: put.writeUnitsPerUpdate.median,
        createWriteUnits: patch.createWriteUnits,
        patchCpuMs: patch.cpuMsPerUpdate.median,
        persistCpuMs: put.cpuMsPerUpdate.median,
        hydrateCpuMs: patch.cpuMsPerHydrate.median,
        hydrateReadUnits: patch.readUnitsPerHydrate.median,
        hydrateLatencyMs: patch.latencyMsPerHydrate.median,
        storedBytes: patch.storedBytes,
      };
      sweep.push(row);
      log(
        `  ${label}: PATCH ${row.patchWriteUnits} WCU (CPU ${row.patchCpuMs} ms), PUT ${row.putWriteUnits} WCU (CPU ${row.persistCpuMs} ms), ` +
          `hydrate ${row.hydrateReadUnits} RCU, CPU ${row.hydrateCpuMs} ms`,
      );
    }
  }

  const dictionaries = dictionaryStudy(nodeCount, seed, bucketSizes);

  process.stdout.write(
    `\n${textTable(
      [
        'nodes/bucket',
        'level',
        'WCU/PATCH',
        'WCU/PUT',
        'WCU create',
        'CPU ms PATCH',
        'CPU ms PUT',
        'RCU/hydrate',
        'CPU ms hydrate',
        'hydrate ms',
      ],
      sweep.map((row) => [
        String(row.targetNodesPerBucket),
        String(row.compressionLevel),
        formatNumber(row.patchWriteUnits, 1),
        formatNumber(row.putWriteUnits, 1),
        formatNumber(row.createWriteUnits),
        formatNumber(row.patchCpuMs, 1),
        formatNumber(row.persistCpuMs, 1),
        formatNumber(row.hydrateReadUnits, 1),
        formatNumber(row.hydrateCpuMs, 1),
        formatNumber(row.hydrateLatencyMs),
      ]),
    )}\n\nPreset dictionary, mean compressed bucket and its write units (level ${defaultCodecOptions.compressionLevel}):\n${textTable(
      ['nodes/bucket', 'raw bytes', 'codec dictionary', 'no dictionary', 'dictionary from other workflows'],
      dictionaries.map((row) => [
        String(row.targetNodesPerBucket),
        formatNumber(row.rawBytes),
        `${formatNumber(row.codecDictionary.bytes)} B / ${row.codecDictionary.writeUnits} WCU`,
        `${formatNumber(row.noDictionary.bytes)} B / ${row.noDictionary.writeUnits} WCU`,
        `${formatNumber(row.trainedDictionary.bytes)} B / ${row.trainedDictionary.writeUnits} WCU`,
      ]),
    )}\n`,
  );
  const files = await writeResults('tune', {
    kind: 'tune',
    command: context.command,
    startedAt: context.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    nodeCount,
    podsPerUpdate,
    updates,
    defaults: defaultCodecOptions,
    sweep,
    dictionaries,
  });
  log(`Results: ${files.join(', ')}`);
}

/** Chunk item overhead besides the data: keys (`WF#<uid>`, `C#<64 hex>`), codec name, expiresAt. */
const chunkItemOverhead = 150;

/**
 * Mean compressed size of the buckets of one generated workflow with three
 * preset dictionaries. The "trained" one is canonical node JSON of other
 * seeds, most common node shapes last (zlib reads the end of a dictionary
 * first), cut to 32 KB: what a data-derived dictionary could give.
 */
export function dictionaryStudy(nodeCount: number, seed: number, bucketSizes: readonly number[]) {
  const nodes = generateNodes({ nodeCount, seed, runningFraction }) as NodeMap;
  const trained = trainedDictionary(seed + 1_000);
  return bucketSizes.map((targetNodesPerBucket) => {
    const prepared = prepareVersion(nodes, { ...defaultCodecOptions, targetNodesPerBucket });
    const sizes = { codec: [] as number[], none: [] as number[], trained: [] as number[] };
    for (const bucket of prepared.buckets) {
      const raw = Buffer.from(bucket.canonical, 'utf8');
      sizes.codec.push(compressBucket(raw).reduce((sum, part) => sum + part.length, 0));
      sizes.none.push(deflateRawSync(raw, { level: defaultCodecOptions.compressionLevel }).length);
      sizes.trained.push(
        deflateRawSync(raw, { level: defaultCodecOptions.compressionLevel, dictionary: trained }).length,
      );
    }
    const summary = (values: number[]) => ({
      bytes: round(median(values), 0),
      writeUnits: median(values.map((bytes) => writeUnitsFor(bytes + chunkItemOverhead))),
    });
    return {
      targetNodesPerBucket,
      buckets: prepared.bucketCount,
      rawBytes: round(median(prepared.buckets.map((bucket) => bucket.rawBytes)), 0),
      codecDictionary: summary(sizes.codec),
      noDictionary: summary(sizes.none),
      trainedDictionary: summary(sizes.trained),
    };
  });
}

function trainedDictionary(seed: number): Buffer {
  const samples: string[] = [];
  for (let index = 0; index < 4; index++) {
    const nodes = generateNodes({ nodeCount: 400, seed: seed + index, runningFraction: 0.5 }) as NodeMap;
    const ids = Object.keys(nodes);
    for (let pick = 0; pick < ids.length; pick += 20)
      samples.push(canonicalJson(nodes[ids[pick] as string] ?? {}));
  }
  const text = Buffer.from(samples.join(''), 'utf8');
  return text.subarray(Math.max(0, text.length - 32 * 1024));
}
