/**
 * How change events are cut into PutEvents calls: EventBridge takes at most
 * ten entries and 256 KB per call, sized as it sizes them.
 */
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { batchesOf, entrySize } from '#lambda/event-publisher';

const entry = (detailBytes: number): PutEventsRequestEntry => ({
  Source: 'workflow-offload',
  DetailType: 'Workflow Nodes Changed',
  Detail: JSON.stringify({ pad: 'x'.repeat(Math.max(0, detailBytes - 10)) }),
});

describe('PutEvents batches', () => {
  it('sizes an entry by its source, detail-type, detail and resources in UTF-8', () => {
    expect(entrySize({ Source: 'é', DetailType: 'ab', Detail: '{}', Resources: ['r1'] })).toBe(2 + 2 + 2 + 2);
  });

  it('puts at most ten entries in a call, in order', () => {
    const entries = Array.from({ length: 23 }, () => entry(100));
    const batches = batchesOf(entries);
    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 3]);
    expect(batches.flat()).toEqual(entries);
  });

  it('starts a new call before one would pass 256 KB, and sends a large entry alone', () => {
    const entries = [entry(150_000), entry(150_000), entry(10_000), entry(200_000)];
    const batches = batchesOf(entries);
    expect(batches.map((batch) => batch.length)).toEqual([1, 2, 1]);
    for (const batch of batches)
      expect(batch.reduce((sum, item) => sum + entrySize(item), 0)).toBeLessThanOrEqual(256 * 1024);
  });
});
