/**
 * Item sizes and capacity units by DynamoDB's published rules, so write
 * costs come from what is written, not from DynamoDB Local's counters:
 *
 * - an item's size is the sum, over attributes, of the UTF-8 length of the
 *   name plus the size of the value;
 * - strings: UTF-8 length; binary: byte length; numbers: about 1 byte per two
 *   significant digits plus 1; booleans and null: 1 byte;
 * - lists and maps: 3 bytes plus, per element, its size plus 1 byte;
 * - a standard write costs one write unit per started KB of the item;
 *   an eventually consistent read costs half a read unit per started 4 KB.
 */
export function attributeValueSize(value: unknown): number {
  if (value === null || value === undefined) return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'boolean') return 1;
  if (typeof value === 'number' || typeof value === 'bigint') {
    const digits = String(value).replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
    return Math.ceil(Math.max(1, digits.length) / 2) + 1;
  }
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value))
    return 3 + value.reduce((sum: number, item) => sum + attributeValueSize(item) + 1, 0);
  if (value instanceof Set)
    return [...value].reduce((sum: number, item) => sum + attributeValueSize(item), 0);
  if (typeof value === 'object') {
    return (
      3 +
      Object.entries(value as Record<string, unknown>).reduce(
        (sum, [name, item]) => sum + Buffer.byteLength(name, 'utf8') + attributeValueSize(item) + 1,
        0,
      )
    );
  }
  return 0;
}

export function itemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += Buffer.byteLength(name, 'utf8') + attributeValueSize(value);
  }
  return size;
}

export const writeUnitsFor = (sizeBytes: number): number => Math.max(1, Math.ceil(sizeBytes / 1024));

export const readUnitsFor = (sizeBytes: number, consistent: boolean): number =>
  Math.max(1, Math.ceil(sizeBytes / 4096)) * (consistent ? 1 : 0.5);
