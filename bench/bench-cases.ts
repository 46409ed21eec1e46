/**
 * One benchmark case: a strategy, a node count N and a number of pods k per
 * update. Creates the workflow, applies the workload's updates one by one,
 * hydrates it a few times, then sums the sizes of the workflow's items.
 *
 * Per update and per hydrate it records the capacity units by DynamoDB's
 * published rules (the meter prices the items actually sent and received),
 * CPU milliseconds of this process (`process.cpuUsage` around the call:
 * encoding, hashing, compression, the SDK's marshalling) and wall-clock
 * latency against DynamoDB Local.
 */

import { isDeepStrictEqual } from 'node:util';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { NodeMap } from '#domain/nodes';
import { itemSize } from '#store/item-size';
import type { StrategyId, StrategyRunner } from './strategies/runners.ts';
import type { CapacityMeter } from './support/capacity-meter.ts';
import type { BenchTable } from './support/dynamodb.ts';
import { median, round, type Summary, summarize, timed } from './support/stats.ts';

const mean = (values: readonly number[]): number =>
  values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;

import type { Workload } from './workload.ts';

export interface CaseResult {
  readonly strategy: StrategyId;
  readonly nodeCount: number;
  readonly podsPerUpdate: number;
  /** Updates measured (fewer than asked when the workflow ran out of pods to advance). */
  readonly updates: number;
  readonly changedNodesPerUpdate: Summary;
  /** The physical limit of an update in write units (`Workload.limitUnits`). */
  readonly limitUnitsPerUpdate: Summary;
  readonly writeUnitsPerUpdate: Summary;
  /**
   * Write units per update, amortized: the mean over the first whole fold
   * cycle when the case folded (the updates from the first one to the first
   * that wrote a snapshot, both included: every delta of a chain and the fold
   * that ends it), else the mean over every update. What an update costs in
   * the long run; the median is what a typical one costs.
   */
  readonly amortizedWriteUnits: number;
  /** Updates in that fold cycle; absent when the case did not fold (or does not: A, B, BT). */
  readonly foldEvery?: number;
  /** Of the write units above, those spent deleting old versions (A and B). */
  readonly deleteUnitsPerUpdate: Summary;
  /** Of the write units above, those spent on index entries (the record's GSI keys, C and D). */
  readonly indexWriteUnitsPerUpdate: Summary;
  /** Mean write units per update by what was written (record, manifest, history, chunk, blob, index, delete, renew). */
  readonly writeUnitsByKind: Record<string, number>;
  /** Write units the service reported for itself (C and D), median; must equal the meter's. */
  readonly reportedWriteUnitsPerUpdate?: number;
  readonly readUnitsPerUpdate: Summary;
  readonly bytesWrittenPerUpdate: Summary;
  readonly cpuMsPerUpdate: Summary;
  readonly latencyMsPerUpdate: Summary;
  readonly createWriteUnits: number;
  readonly hydrates: number;
  readonly readUnitsPerHydrate: Summary;
  readonly cpuMsPerHydrate: Summary;
  readonly latencyMsPerHydrate: Summary;
  /** All items of the workflow after the updates, including garbage awaiting TTL or delete. */
  readonly storedBytes: number;
  readonly storedItems: number;
  /** Of `storedBytes`, the items the current version does not need. */
  readonly garbageBytes: number;
  /**
   * Stored bytes after 100 updates: `storedBytes` when the case ran 100,
   * otherwise projected from it with the median bytes an update adds (written
   * less deleted), since nothing expires within the retention window.
   */
  readonly storedBytesAfter100: number;
  readonly storedBytesAfter100Projected: boolean;
  readonly finalVersion: string;
}

export interface CaseOptions {
  readonly hydrates: number;
  /** Updates to run of the workload's (a prefix). */
  readonly updates: number;
  /** Check that the hydrated map equals the expected one (slow for large N; done once). */
  readonly verify: boolean;
  /**
   * Go on past `updates`, while the workload has more, until an update
   * writes a snapshot: so the case covers one whole fold cycle, and its
   * amortized cost is measured rather than guessed.
   */
  readonly untilFold?: boolean;
}

export async function runCase(
  runner: StrategyRunner,
  workload: Workload,
  table: BenchTable,
  meter: CapacityMeter,
  uid: string,
  options: CaseOptions,
): Promise<CaseResult> {
  const { cost: created } = await meter.measure(() => runner.create(uid, workload.initial));

  // Changed in place (a copy per update would cost O(N)); runners read it only during their call.
  const state: NodeMap = { ...workload.initial };
  const samples = {
    writeUnits: [] as number[],
    deleteUnits: [] as number[],
    indexUnits: [] as number[],
    byKind: {} as Record<string, number>,
    reported: [] as number[],
    readUnits: [] as number[],
    bytesWritten: [] as number[],
    bytesDeleted: [] as number[],
    cpuMs: [] as number[],
    wallMs: [] as number[],
  };
  let finalVersion = '';
  let foldAt: number | undefined;
  const updates: NodeMap[] = [];
  for (let index = 0; ; index++) {
    if (index >= options.updates && (!options.untilFold || foldAt !== undefined)) break;
    if (index >= workload.updates.length && !workload.extend(index + 1)) break;
    const set = workload.updates[index] as NodeMap;
    updates.push(set);
    Object.assign(state, set);
    const { result, cost } = await meter.measure(() => timed(() => runner.update(uid, state, set)));
    if (foldAt === undefined && (cost.writeUnitsByKind.snapshot ?? 0) > 0) foldAt = index;
    samples.writeUnits.push(cost.writeUnits);
    samples.deleteUnits.push(cost.deleteUnits);
    samples.indexUnits.push(cost.indexWriteUnits);
    for (const [kind, units] of Object.entries(cost.writeUnitsByKind)) {
      samples.byKind[kind] = (samples.byKind[kind] ?? 0) + units;
    }
    samples.readUnits.push(cost.readUnits);
    samples.bytesWritten.push(cost.bytesWritten);
    samples.bytesDeleted.push(cost.bytesDeleted);
    samples.cpuMs.push(result.cpuMs);
    samples.wallMs.push(result.wallMs);
    if (result.result.reportedWriteUnits !== undefined)
      samples.reported.push(result.result.reportedWriteUnits);
    finalVersion = result.result.version;
  }

  const hydrate = { readUnits: [] as number[], cpuMs: [] as number[], wallMs: [] as number[] };
  for (let index = 0; index < options.hydrates; index++) {
    const { result, cost } = await meter.measure(() => timed(() => runner.hydrate(uid)));
    hydrate.readUnits.push(cost.readUnits);
    hydrate.cpuMs.push(result.cpuMs);
    hydrate.wallMs.push(result.wallMs);
    if (options.verify && index === 0 && !isDeepStrictEqual(result.result, state)) {
      throw new Error(`${runner.id}: the hydrated map of ${uid} differs from what was written`);
    }
  }

  meter.enabled = false;
  try {
    const isLive = await runner.liveItems(uid);
    const stored = await workflowItems(table, uid);
    let storedBytes = 0;
    let garbageBytes = 0;
    for (const item of stored) {
      const size = itemSize(item);
      storedBytes += size;
      if (!isLive(String(item.sk))) garbageBytes += size;
    }
    return {
      strategy: runner.id,
      nodeCount: workload.nodeCount,
      podsPerUpdate: workload.podsPerUpdate,
      updates: updates.length,
      changedNodesPerUpdate: summarize(workload.changedNodes.slice(0, updates.length)),
      limitUnitsPerUpdate: summarize(workload.limitUnits.slice(0, updates.length)),
      writeUnitsPerUpdate: summarize(samples.writeUnits),
      amortizedWriteUnits: round(
        mean(samples.writeUnits.slice(0, foldAt === undefined ? undefined : foldAt + 1)),
      ),
      ...(foldAt === undefined ? {} : { foldEvery: foldAt + 1 }),
      deleteUnitsPerUpdate: summarize(samples.deleteUnits),
      indexWriteUnitsPerUpdate: summarize(samples.indexUnits),
      writeUnitsByKind: Object.fromEntries(
        Object.entries(samples.byKind).map(([kind, units]) => [
          kind,
          round(units / Math.max(1, updates.length)),
        ]),
      ),
      ...(samples.reported.length > 0
        ? { reportedWriteUnitsPerUpdate: summarize(samples.reported).median }
        : {}),
      readUnitsPerUpdate: summarize(samples.readUnits),
      bytesWrittenPerUpdate: summarize(samples.bytesWritten),
      cpuMsPerUpdate: summarize(samples.cpuMs),
      latencyMsPerUpdate: summarize(samples.wallMs),
      createWriteUnits: round(created.writeUnits),
      hydrates: options.hydrates,
      readUnitsPerHydrate: summarize(hydrate.readUnits),
      cpuMsPerHydrate: summarize(hydrate.cpuMs),
      latencyMsPerHydrate: summarize(hydrate.wallMs),
      storedBytes,
      storedItems: stored.length,
      garbageBytes,
      storedBytesAfter100:
        updates.length >= 100
          ? storedBytes
          : Math.round(
              storedBytes +
                (100 - updates.length) *
                  Math.max(0, median(samples.bytesWritten) - median(samples.bytesDeleted)),
            ),
      storedBytesAfter100Projected: updates.length < 100,
      finalVersion,
    };
  } finally {
    meter.enabled = true;
  }
}

/**
 * Every item of one workflow, in every table of the strategy: its partition,
 * read page by page (the same items a scan of a table holding only this
 * workflow would return).
 */
async function workflowItems(table: BenchTable, uid: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (const tableName of table.tableNames) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await table.documentClient.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `WF#${uid}` },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(output.Items ?? []));
      startKey = output.LastEvaluatedKey;
    } while (startKey);
  }
  return items;
}
