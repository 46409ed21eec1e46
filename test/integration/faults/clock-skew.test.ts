/**
 * Fault: writers whose clocks disagree. Two services on one store, one clock
 * behind and one ahead of the real one, persist, patch and renew in turn. A
 * live version must never come near expiry by the real clock: every item the
 * current version needs keeps `expiresAt` at least R beyond the real now (so
 * it is still readable R after it is superseded).
 *
 * What skew does, measured here: a chunk is written with a batch put, which
 * cannot be conditional, so a writer whose clock is behind can re-put a chunk
 * that already exists with an earlier `expiresAt` than the one it had; and
 * the leases that manifests and the record keep can then be above the item's
 * by as much. Both are bounded by D, the difference between the writers'
 * clocks, and the lease arithmetic absorbs them when 3s <= R/4 for clocks
 * within ±s of the real one (docs/reliability.md). A skew beyond that is
 * caught by the same check.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { bucketCountFor, bucketOf, defaultCodecOptions } from '#domain/codec';
import type { NodeMap } from '#domain/nodes';
import { WorkflowService } from '#domain/workflow-service';
import { DynamoDbStore } from '#store/dynamodb-store';
import { mulberry32 } from '#testkit/argo-generator';
import { scanTable } from '#testkit/command-log';
import { createTestTable, createTtlTestTable, type TestTable } from '#testkit/table';
import { currentVersionItemKeys } from '#testkit/version-items';

let table: TestTable;
let store: DynamoDbStore;

beforeAll(async () => {
  table = await createTestTable('fault-skew');
  store = new DynamoDbStore(table.documentClient, { tableName: table.tableName });
});

const nodes = (count = 256): NodeMap => {
  const map: NodeMap = {};
  for (let index = 0; index < count; index++) {
    map[`pod-${index}`] = { id: `pod-${index}`, phase: 'Pending', detail: `item ${index}` };
  }
  return map;
};

/** `expiresAt` of every item the current version of `uid` needs, by sort key; undefined = missing. */
async function currentItems(table: TestTable, store: DynamoDbStore, uid: string) {
  const { record, keys } = await currentVersionItemKeys(store, uid);
  const items = new Map<string, number | undefined>();
  for (const sk of new Set(keys)) {
    const { Item } = await table.documentClient.send(
      new GetCommand({
        TableName: table.versionsTableName,
        Key: { pk: `WF#${uid}`, sk },
        ConsistentRead: true,
      }),
    );
    items.set(sk, Item ? Number(Item.expiresAt) : undefined);
  }
  return { record, items };
}

interface SkewRun {
  readonly violations: string[];
  readonly operations: number;
  /** Smallest `min(expiresAt of current items) - real now` seen, in seconds. */
  readonly minimumMarginSeconds: number;
  /** Largest drop of an item's `expiresAt` seen (a re-put by a slower clock), in seconds. */
  readonly largestDropSeconds: number;
  /** Largest excess of the record's lease over an item of its current version, in seconds. */
  readonly largestOvershootSeconds: number;
}

/**
 * Runs writers and renewers on a virtual timeline (real now = `virtualNowMs`),
 * `slow` and `fast` clocks `skewSeconds` behind and ahead of it, and the
 * renewer every R/4 on the slow clock (the one that renews least). Checks the
 * current version after the clock moves and after every operation.
 */
async function runSkewed(
  uid: string,
  retentionSeconds: number,
  skews: { slow: number; fast: number },
  steps: number,
  layout: 'log' | 'chunks' = 'log',
): Promise<SkewRun> {
  let virtualNowMs = Date.now();
  const serviceAt = (offsetSeconds: number) =>
    new WorkflowService(store, {
      retentionSeconds,
      alwaysOffload: true,
      // Short chains: folds write snapshots often, and a page's content comes back as chunks' do.
      codec: { ...defaultCodecOptions, layout, maxChainDeltas: 3 },
      now: () => virtualNowMs + offsetSeconds * 1000,
      sleep: async () => {},
    });
  const slow = serviceAt(-skews.slow);
  const fast = serviceAt(skews.fast);
  const random = mulberry32(retentionSeconds + skews.slow);
  const violations: string[] = [];
  /** The clocks' difference: how far a re-put or a recorded lease may be off. */
  const clockDifference = Math.max(0, skews.slow + skews.fast);
  const highest = new Map<string, number>();
  let minimumMarginSeconds = Number.POSITIVE_INFINITY;
  let largestDropSeconds = 0;
  let largestOvershootSeconds = 0;
  let operations = 0;

  const check = async (when: string) => {
    const realNow = Math.floor(virtualNowMs / 1000);
    const { record, items } = await currentItems(table, store, uid);
    let lowest = Number.POSITIVE_INFINITY;
    for (const [sk, expiresAt] of items) {
      if (expiresAt === undefined) {
        violations.push(`${when}: ${sk} of the current version is missing`);
        continue;
      }
      lowest = Math.min(lowest, expiresAt);
      if (expiresAt < realNow + retentionSeconds)
        violations.push(`${when}: ${sk} expires ${expiresAt - realNow} s from now, less than R`);
    }
    minimumMarginSeconds = Math.min(minimumMarginSeconds, lowest - realNow);
    largestOvershootSeconds = Math.max(largestOvershootSeconds, record.leaseExpiresAt - lowest);
    if (record.leaseExpiresAt - lowest > clockDifference)
      violations.push(`${when}: the record's lease is ${record.leaseExpiresAt - lowest} s above an item's`);
    // A renewal never lowers expiresAt; a re-put by a slower clock lowers it by at most the clocks' difference.
    for (const [key, item] of await scanTable(table.documentClient, table.tableName)) {
      if (!key.startsWith(`WF#${uid}|`) || item.expiresAt === undefined) continue;
      const expiresAt = Number(item.expiresAt);
      const drop = (highest.get(key) ?? 0) - expiresAt;
      largestDropSeconds = Math.max(largestDropSeconds, drop);
      if (drop > clockDifference) violations.push(`${when}: ${key} went down by ${drop} s`);
      highest.set(key, Math.max(expiresAt, highest.get(key) ?? 0));
    }
  };

  let map = nodes();
  await fast.persist({ uid, namespace: 'argo', name: uid, nodes: map });
  await check('created');
  const renewEveryMs = (retentionSeconds / 4) * 1000;
  let nextRenewMs = virtualNowMs + renewEveryMs;
  for (let step = 0; step < steps; step++) {
    // Advance by up to R/16, never past the next renewer run: writes close together in time
    // are the ones whose clocks' disagreement shows.
    virtualNowMs = Math.min(nextRenewMs, virtualNowMs + Math.ceil((random() * renewEveryMs) / 4));
    await check(`step ${step}, clock moved`);
    if (virtualNowMs >= nextRenewMs) {
      await slow.renew();
      nextRenewMs += renewEveryMs;
      operations++;
      await check(`step ${step}, after the renewer`);
    }
    const writer = random() < 0.5 ? slow : fast;
    // Few ids and two values each: buckets often go back to a content they had, so
    // chunks that exist already are put again, by either clock.
    const id = `pod-${Math.floor(random() * 8)}`;
    const node = { id, phase: random() < 0.5 ? 'Running' : 'Succeeded' };
    if (random() < 0.5) {
      await writer.patch({ uid, set: { [id]: node } });
    } else {
      map = { ...map, [id]: node };
      await writer.persist({ uid, namespace: 'argo', name: uid, nodes: map });
    }
    operations++;
    await check(`step ${step}, after a ${writer === slow ? 'slow' : 'fast'} writer`);
  }
  return { violations, operations, minimumMarginSeconds, largestDropSeconds, largestOvershootSeconds };
}

describe('clock skew between writers', () => {
  it('±3 minutes with R = 1 h: no live item ever comes within R of expiry by the real clock', async () => {
    const retentionSeconds = 3600;
    const run = await runSkewed('skew-3-minutes', retentionSeconds, { slow: 180, fast: 180 }, 60);

    console.info(
      `clock skew ±180 s, R=${retentionSeconds} s: ${run.operations} operations over ~${Math.round((60 * retentionSeconds) / 32 / 60)} virtual minutes; smallest lease of a current item ${run.minimumMarginSeconds} s beyond the real now; largest drop of an item's expiresAt by a re-put ${run.largestDropSeconds} s; record lease at most ${run.largestOvershootSeconds} s above an item`,
    );
    expect(run.violations).toEqual([]);
    expect(run.minimumMarginSeconds).toBeGreaterThanOrEqual(retentionSeconds);
  });

  it('±3 minutes with R = 1 h in the chunk layout: the same', async () => {
    const retentionSeconds = 3600;
    const run = await runSkewed(
      'skew-3-minutes-chunks',
      retentionSeconds,
      { slow: 180, fast: 180 },
      60,
      'chunks',
    );

    expect(run.violations).toEqual([]);
    expect(run.minimumMarginSeconds).toBeGreaterThanOrEqual(retentionSeconds);
  });

  it("a chunk put again by the slower clock loses at most the clocks' difference, and no lease kept claims more than the item has", async () => {
    const retentionSeconds = 3600;
    const skew = 180;
    const realNowMs = Date.now();
    const serviceAt = (offsetSeconds: number) =>
      new WorkflowService(store, {
        retentionSeconds,
        alwaysOffload: true,
        // A chunk of one bucket: what is put again when a bucket's content comes back.
        codec: { ...defaultCodecOptions, layout: 'chunks' },
        now: () => realNowMs + offsetSeconds * 1000,
      });
    const [slow, fast] = [serviceAt(-skew), serviceAt(skew)];
    const uid = 'skew-re-put';
    const base = nodes();
    // Three nodes in three different buckets.
    const inBucket = new Map<number, string>();
    for (const id of Object.keys(base)) inBucket.set(bucketOf(id, bucketCountFor(256)), id);
    const [b, c, d] = [...inBucket.values()] as [string, string, string];
    const running = (id: string) => ({ id, phase: 'Running' });
    const chunkOfBucket = async () => {
      const record = await store.getRecord(uid);
      const manifest = await store.getManifest(uid, record?.nodeStatusVersion as string);
      return `C#${manifest?.chunks[bucketOf(b, bucketCountFor(256))]?.chunkId}`;
    };
    const expiresAtOf = async (sk: string) =>
      Number(
        (
          await table.documentClient.send(
            new GetCommand({
              TableName: table.versionsTableName,
              Key: { pk: `WF#${uid}`, sk },
              ConsistentRead: true,
            }),
          )
        ).Item?.expiresAt,
      );

    await fast.persist({ uid, namespace: 'argo', name: uid, nodes: base });
    const original = await chunkOfBucket();
    const leaseBefore = await expiresAtOf(original);
    await fast.persist({ uid, namespace: 'argo', name: uid, nodes: { ...base, [b]: running(b) } });
    // The slow writer brings b's bucket back to its first content, and changes another bucket.
    await slow.persist({ uid, namespace: 'argo', name: uid, nodes: { ...base, [c]: running(c) } });
    const leaseAfter = await expiresAtOf(original);
    // The fast writer reuses that chunk (and brings c's bucket back to its first content too).
    await fast.persist({ uid, namespace: 'argo', name: uid, nodes: { ...base, [d]: running(d) } });
    const { record, items } = await currentItems(table, store, uid);
    const lowest = Math.min(...[...items.values()].map(Number));

    expect(await chunkOfBucket()).toBe(original);
    expect(leaseBefore - leaseAfter).toBe(2 * skew);
    expect(record.leaseExpiresAt).toBeLessThanOrEqual(lowest);
    expect(lowest - Math.floor(realNowMs / 1000)).toBeGreaterThanOrEqual(retentionSeconds);
  });

  it('±3 minutes with the default R = 48 h: the same, with a margin of hours', async () => {
    const run = await runSkewed('skew-default', 172_800, { slow: 180, fast: 180 }, 12);

    expect(run.violations).toEqual([]);
  });

  it('a clock 0.6 R behind, far beyond what the leases leave for skew, is caught by the same check', async () => {
    const retentionSeconds = 900;
    // Both writers and the renewer on the slow clock. In the chunk layout, where reused chunks
    // age (a log chain this small is folded every few writes, so its items are all young).
    const run = await runSkewed('skew-too-far', retentionSeconds, { slow: 540, fast: -540 }, 40, 'chunks');

    expect(run.violations.some((violation) => violation.includes('less than R'))).toBe(true);
    // Nothing of the current version is missing even so.
    expect(run.violations.filter((violation) => violation.includes('missing'))).toEqual([]);
  });

  it('with real TTL (R = 8 s, clocks ±1.5 s): renewals and TTL never remove a current version item', {
    timeout: 120_000,
  }, async () => {
    const retentionSeconds = 8;
    const skewMs = 1500;
    // A table of its own: DynamoDB Local's TTL job reads 20 items per 10 s, so a small table is a fast one.
    const ttlTable = await createTtlTestTable('fault-skew-ttl');
    const ttlStore = new DynamoDbStore(ttlTable.documentClient, { tableName: ttlTable.tableName });
    const serviceAt = (offsetMs: number) =>
      new WorkflowService(ttlStore, {
        retentionSeconds,
        alwaysOffload: true,
        now: () => Date.now() + offsetMs,
      });
    const slow = serviceAt(-skewMs);
    const fast = serviceAt(skewMs);
    const reader = serviceAt(0);
    const uid = 'skew-real-ttl';
    await fast.persist({ uid, namespace: 'argo', name: uid, nodes: nodes(64) });
    const superseded: string[] = [];
    const started = Date.now();
    let lastRenew = 0;
    let operations = 0;
    let minimumMargin = Number.POSITIVE_INFINITY;

    while (Date.now() - started < 30_000) {
      if (Date.now() - lastRenew >= (retentionSeconds / 4) * 1000) {
        await slow.renew();
        lastRenew = Date.now();
      }
      const writer = operations % 2 === 0 ? slow : fast;
      const before = (await ttlStore.getRecord(uid))?.nodeStatusVersion as string;
      const id = `pod-${operations % 64}`;
      await writer.patch({ uid, set: { [id]: { id, phase: 'Running', detail: `operation ${operations}` } } });
      superseded.push(before);
      operations++;

      const { items } = await currentItems(ttlTable, ttlStore, uid);
      const realNow = Math.floor(Date.now() / 1000);
      for (const [sk, expiresAt] of items) {
        expect(expiresAt, sk).toBeDefined();
        expect(expiresAt as number, sk).toBeGreaterThan(realNow);
        minimumMargin = Math.min(minimumMargin, (expiresAt as number) - realNow);
      }
      expect(Object.keys((await reader.getWorkflow(uid)).nodes)).toHaveLength(64);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }

    // TTL was at work meanwhile: the first superseded versions are gone (or going).
    const versionsGone = async () => {
      const items = [...(await scanTable(ttlTable.documentClient, ttlTable.tableName)).entries()];
      // A version is its manifest (`V#<version>`) in the chunk layout, its entry (`E#…`) in the log layout.
      const holds = (version: string) =>
        items.some(
          ([key, item]) =>
            key === `WF#${uid}|V#${version}` ||
            (key.startsWith(`WF#${uid}|E#`) && item.nodeStatusVersion === version),
        );
      return superseded.slice(0, 5).filter((version) => !holds(version)).length;
    };
    const loopEnded = Date.now();
    const deadline = loopEnded + 60_000;
    let gone = await versionsGone();
    while (gone === 0 && Date.now() < deadline) {
      // The renewer keeps running meanwhile, as it does deployed.
      await slow.renew();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      gone = await versionsGone();
    }
    console.info(
      `real TTL, clocks ±${skewMs} ms, R=${retentionSeconds} s: ${operations} writes in 30 s, smallest remaining lease of a current item ${minimumMargin} s; ${gone} of the first 5 superseded versions removed by TTL ${((Date.now() - loopEnded) / 1000).toFixed(1)} s after the writes stopped (renewing meanwhile)`,
    );
    expect(gone).toBeGreaterThan(0);
    expect(Object.keys((await reader.getWorkflow(uid)).nodes)).toHaveLength(64);
  });
});
