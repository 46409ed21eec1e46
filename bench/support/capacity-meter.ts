/**
 * Prices every request a document client sends by DynamoDB's published
 * capacity rules (`functions/store/item-size.ts`), from the items actually
 * sent and received. It is independent of what the stores report about
 * themselves, and of DynamoDB Local's own counters.
 *
 * - PutItem, and each put of a BatchWriteItem: one write unit per started KB
 *   of the item;
 * - DeleteItem and each delete of a BatchWriteItem: priced by the size of the
 *   item deleted (the meter remembers the size of every item it saw written;
 *   an unknown item costs 1);
 * - UpdateItem: by the size of the item after the update (`ALL_NEW`), else
 *   the remembered size; a failed condition still costs its write;
 * - GetItem and each item of a BatchGetItem: one read unit per started 4 KB
 *   (half for an eventually consistent read); a miss costs the minimum;
 * - Query and Scan: the sizes of all returned items summed, then rounded up
 *   to 4 KB;
 * - global secondary indexes: a put of an item that carries an index's keys
 *   writes the index entry too (its projected attributes), twice when the
 *   index key changed (delete of the old entry, put of the new one), and a
 *   delete of such an item deletes its entry. These are counted apart
 *   (`indexWriteUnits`) and included in `writeUnits`.
 */
import { isDeepStrictEqual } from 'node:util';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { table } from '#contract/tables';
import { pageCodecName } from '#domain/codec';
import { itemSize, readUnitsFor, writeUnitsFor } from '#store/item-size';

type Item = Record<string, unknown>;

export interface CapacityTotals {
  writeUnits: number;
  readUnits: number;
  /** Item bytes written (puts and updates). */
  bytesWritten: number;
  itemsWritten: number;
  itemsDeleted: number;
  /** Bytes of the items deleted. */
  bytesDeleted: number;
  deleteUnits: number;
  /** Of `writeUnits`, those spent on global secondary index entries. */
  indexWriteUnits: number;
  /**
   * `writeUnits` by what was written: record, manifest, history, chunk, blob, index, delete,
   * renew; in the log layout, snapshot, delta, lookup and page.
   */
  writeUnitsByKind: Record<string, number>;
  itemsRead: number;
  bytesRead: number;
  requests: number;
}

const zero = (): CapacityTotals => ({
  writeUnits: 0,
  readUnits: 0,
  bytesWritten: 0,
  itemsWritten: 0,
  itemsDeleted: 0,
  bytesDeleted: 0,
  deleteUnits: 0,
  indexWriteUnits: 0,
  writeUnitsByKind: {},
  itemsRead: 0,
  bytesRead: 0,
  requests: 0,
});

/** `PutItemCommand` (low-level name) and `PutCommand` (document client) are the same request. */
const commandOf = (name: unknown): string => String(name).replace('ItemCommand', 'Command');

const keyOf = (item: Item | undefined): string => `${String(item?.pk)}|${String(item?.sk)}`;

const itemKinds: Record<string, string> = { 'V#': 'manifest', 'T#': 'history', 'C#': 'chunk', 'B#': 'blob' };
/** What an item is, by its sort key (and, when the item is at hand, its kind or codec). */
const kindOf = (item: Item | undefined): string => {
  const sortKey = String(item?.sk ?? '');
  if (sortKey === 'RECORD') return 'record';
  // Log layout: entries (a snapshot or a delta), version lookups (`V#<version>#<seq>#<tag>`), pages.
  if (sortKey.startsWith('E#')) return typeof item?.kind === 'string' ? item.kind : 'entry';
  if (sortKey.startsWith('V#') && sortKey.indexOf('#', 2) > 0) return 'lookup';
  if (sortKey.startsWith('C#') && item?.codec === pageCodecName) return 'page';
  return itemKinds[sortKey.slice(0, 2)] ?? 'other';
};

const indexes = Object.values(table.indexes).map((index) => ({
  keys: [index.partitionKey, index.sortKey] as string[],
  attributes: ['pk', 'sk', index.partitionKey, index.sortKey, ...index.nonKeyAttributes] as string[],
}));

/** An index entry: what the index projects of an item, or undefined when the item lacks its keys. */
function indexEntry(item: Item | undefined, index: (typeof indexes)[number]): Item | undefined {
  if (!item || index.keys.some((key) => item[key] === undefined)) return undefined;
  return Object.fromEntries(
    index.attributes.filter((name) => item[name] !== undefined).map((name) => [name, item[name]]),
  );
}

export class CapacityMeter {
  private totals = zero();
  private readonly sizes = new Map<string, number>();
  /** The last item written under each key that carries index keys, to price index updates. */
  private readonly indexed = new Map<string, Item>();
  /** Off while the harness itself scans the table. */
  enabled = true;

  /** Adds the meter to a client's middleware stack. */
  attach(client: DynamoDBDocumentClient): this {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as Item;
        try {
          const output = await next(args);
          if (this.enabled) this.price(commandOf(context.commandName), input, output.output as Item, false);
          return output;
        } catch (error) {
          if (this.enabled && (error as Error).name === 'ConditionalCheckFailedException') {
            this.price(commandOf(context.commandName), input, {}, true);
          }
          throw error;
        }
      },
      { step: 'initialize', name: `capacityMeter-${Math.random()}` },
    );
    return this;
  }

  /** Totals since the last reset. */
  snapshot(): CapacityTotals {
    return { ...this.totals, writeUnitsByKind: { ...this.totals.writeUnitsByKind } };
  }

  private charge(kind: string, units: number): void {
    this.totals.writeUnits += units;
    this.totals.writeUnitsByKind[kind] = (this.totals.writeUnitsByKind[kind] ?? 0) + units;
  }

  reset(): void {
    this.totals = zero();
  }

  /** Runs `work` and returns what it cost. Calls must not overlap other metered work. */
  async measure<T>(work: () => Promise<T>): Promise<{ result: T; cost: CapacityTotals }> {
    this.reset();
    const result = await work();
    return { result, cost: this.snapshot() };
  }

  private write(item: Item): void {
    const size = itemSize(item);
    this.sizes.set(keyOf(item), size);
    this.charge(kindOf(item), writeUnitsFor(size));
    this.totals.bytesWritten += size;
    this.totals.itemsWritten++;
    this.writeIndexes(this.indexed.get(keyOf(item)), item);
  }

  private writeIndexes(before: Item | undefined, after: Item | undefined): void {
    let units = 0;
    for (const index of indexes) {
      const old = indexEntry(before, index);
      const next = indexEntry(after, index);
      // An update that changes nothing the index projects does not write to it.
      if (old && next && isDeepStrictEqual(old, next)) continue;
      const keyChanged = old && next && index.keys.some((key) => old[key] !== next[key]);
      if (old && (!next || keyChanged)) units += writeUnitsFor(itemSize(old));
      if (next) units += writeUnitsFor(itemSize(next));
    }
    const key = keyOf(after ?? before);
    if (after && indexes.some((index) => indexEntry(after, index))) this.indexed.set(key, after);
    else this.indexed.delete(key);
    this.charge('index', units);
    this.totals.indexWriteUnits += units;
  }

  private delete(key: Item): void {
    const size = this.sizes.get(keyOf(key));
    this.sizes.delete(keyOf(key));
    const before = this.indexed.get(keyOf(key));
    if (before) this.writeIndexes(before, undefined);
    const units = size === undefined ? 1 : writeUnitsFor(size);
    this.charge('delete', units);
    this.totals.deleteUnits += units;
    this.totals.bytesDeleted += size ?? 0;
    this.totals.itemsDeleted++;
  }

  private read(items: readonly Item[], consistent: boolean, perItem: boolean): void {
    const sizes = items.map((item) => itemSize(item));
    const bytes = sizes.reduce((sum, size) => sum + size, 0);
    this.totals.itemsRead += items.length;
    this.totals.bytesRead += bytes;
    if (perItem) {
      for (const size of sizes) this.totals.readUnits += readUnitsFor(size, consistent);
    } else {
      this.totals.readUnits += readUnitsFor(bytes, consistent);
    }
  }

  private price(command: string, input: Item, output: Item, conditionFailed: boolean): void {
    this.totals.requests++;
    switch (command) {
      case 'PutCommand': {
        const item = input.Item as Item;
        if (conditionFailed) {
          this.charge(`failed ${kindOf(item)}`, writeUnitsFor(itemSize(item)));
          return;
        }
        this.write(item);
        return;
      }
      case 'UpdateCommand': {
        const key = input.Key as Item;
        const after = output.Attributes as Item | undefined;
        const size = after ? itemSize(after) : (this.sizes.get(keyOf(key)) ?? 1);
        if (after) this.sizes.set(keyOf(key), size);
        this.charge(`renew ${kindOf(key)}`, writeUnitsFor(size));
        if (!conditionFailed) {
          this.totals.bytesWritten += size;
          this.totals.itemsWritten++;
        }
        return;
      }
      case 'DeleteCommand':
        this.delete(input.Key as Item);
        return;
      case 'BatchWriteCommand': {
        const unprocessed = new Set<unknown>();
        for (const requests of Object.values((output.UnprocessedItems ?? {}) as Record<string, Item[]>)) {
          for (const request of requests) unprocessed.add(JSON.stringify(request));
        }
        for (const requests of Object.values(input.RequestItems as Record<string, Item[]>)) {
          for (const request of requests) {
            if (unprocessed.size > 0 && unprocessed.has(JSON.stringify(request))) continue;
            const put = request.PutRequest as { Item: Item } | undefined;
            const del = request.DeleteRequest as { Key: Item } | undefined;
            if (put) this.write(put.Item);
            if (del) this.delete(del.Key);
          }
        }
        return;
      }
      case 'GetCommand': {
        const item = output.Item as Item | undefined;
        this.read(item ? [item] : [], input.ConsistentRead === true, true);
        if (!item) this.totals.readUnits += readUnitsFor(0, input.ConsistentRead === true);
        return;
      }
      case 'BatchGetCommand': {
        const requests = input.RequestItems as Record<string, { ConsistentRead?: boolean }>;
        for (const [table, items] of Object.entries((output.Responses ?? {}) as Record<string, Item[]>)) {
          this.read(items, requests[table]?.ConsistentRead === true, true);
        }
        return;
      }
      case 'QueryCommand':
      case 'ScanCommand':
        this.read((output.Items ?? []) as Item[], input.ConsistentRead === true, false);
        return;
      default:
        return;
    }
  }
}
