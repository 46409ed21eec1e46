/**
 * Expression injection: no caller input ever becomes part of a DynamoDB
 * expression string. The store is driven with hostile uids, namespaces,
 * versions, cursors and record fields through a fake client that captures
 * every command; every ConditionExpression, KeyConditionExpression,
 * UpdateExpression, ProjectionExpression and FilterExpression must be one of
 * a fixed set of constants, attribute names come from a fixed set, and the
 * inputs travel only as values (Key, Item, ExpressionAttributeValues,
 * ExclusiveStartKey). A new expression in the store fails this test on
 * purpose: add it to the list once it is reviewed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#domain/errors';
import type { Manifest, WorkflowRecord } from '#domain/store';
import { DynamoDbStore } from '#store/dynamodb-store';

/** Every expression the store may send, reviewed. */
const reviewedExpressions = new Set([
  'SET expiresAt = :expiresAt',
  'attribute_exists(pk) AND expiresAt < :expiresAt',
  'attribute_not_exists(pk) OR attribute_exists(#base)',
  'attribute_not_exists(pk)',
  'resourceVersion = :expected',
  '#namespaceKey = :namespaceKey',
  'pk = :pk AND begins_with(sk, :history)',
  '#shard = :shard AND #lease < :before',
  '#shard = :shard',
  'SET leaseExpiresAt = :lease',
  'nodeStatusVersion = :version AND leaseExpiresAt < :lease',
  'pk = :pk AND begins_with(sk, :parts)',
  'pk = :pk AND sk BETWEEN :from AND :to',
  'pk = :pk AND begins_with(sk, :prefix)',
  'nodeStatusVersion, createdAt, expiresAt, nodeCount, storedBytes, phaseCounts, parentVersion',
  'nodeStatusVersion = :version',
  'sk, chainStart, expiresAt',
]);
const reviewedNames = new Set(['namespaceKey', 'leaseShard', 'leaseExpiresAt', 'base']);
const reviewedPlaceholders = new Set([
  ':expiresAt',
  ':expected',
  ':namespaceKey',
  ':pk',
  ':history',
  ':shard',
  ':before',
  ':lease',
  ':version',
  ':parts',
  ':from',
  ':to',
  ':prefix',
]);

/** Inputs an attacker might try; none is a substring of a reviewed expression. */
const hostile = [
  "wf' OR attribute_exists(pk) OR 'x'='x",
  'wf) OR (begins_with(sk, :history',
  'INJECT #namespaceKey = :namespaceKey --',
  'INJECT:expiresAt, expiresAt = :zero',
  'INJECT SET resourceVersion = :zero REMOVE pk',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder is the attack.
  'INJECT\u0000\n\r\t"\\`${process.exit()}`',
  'INJECT 🤖 \u202e reversed',
  'INJECT'.repeat(300),
];

interface Sent {
  readonly name: string;
  readonly input: Record<string, unknown>;
}

/**
 * A client that records every command and answers with plausible outputs:
 * items are echoed from the keys asked for, a manifest asked for by
 * `deltaVersion` comes back as a delta whose base is `deltaBase`.
 */
function fakeClient(deltaVersion?: string, deltaBase?: string) {
  const sent: Sent[] = [];
  const client = {
    send: async (command: { input: Record<string, unknown>; constructor: { name: string } }) => {
      const name = command.constructor.name;
      const input = command.input;
      sent.push({ name, input });
      const key = input.Key as { pk: string; sk: string } | undefined;
      switch (name) {
        case 'GetCommand': {
          if (key?.sk === 'RECORD') {
            return {
              Item: {
                ...key,
                uid: key.pk.slice(3),
                namespace: 'argo',
                name: 'n',
                phase: 'Running',
                resourceVersion: 1,
                nodeStatusVersion: 'v',
                nodeCount: 1,
                createdAt: 't',
                updatedAt: 't',
                leaseExpiresAt: 1,
                codec: 'c',
              },
            };
          }
          const version = key?.sk.slice(2) ?? '';
          const manifest = {
            ...key,
            nodeStatusVersion: version,
            codec: 'c',
            bucketCount: 1,
            nodeCount: 1,
            rawBytes: 1,
            storedBytes: 1,
            createdAt: 't',
            expiresAt: 1,
            chunkIds: Buffer.alloc(32),
            chunkNumbers: Buffer.alloc(12),
          };
          if (version === deltaVersion && deltaBase !== undefined) {
            return { Item: { ...manifest, base: deltaBase, changedIndexes: Buffer.alloc(4) } };
          }
          return { Item: manifest };
        }
        case 'BatchGetCommand':
          return { Responses: {}, UnprocessedKeys: {} };
        case 'BatchWriteCommand':
          return { UnprocessedItems: {} };
        case 'UpdateCommand':
          return { Attributes: { ...key, expiresAt: 2 } };
        case 'DeleteCommand':
          return { Attributes: key };
        case 'QueryCommand':
          return { Items: [] };
        default:
          return {};
      }
    },
    middlewareStack: { add: () => {} },
  };
  return { sent, client: client as unknown as DynamoDBDocumentClient };
}

const cursorOf = (key: unknown) => Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');

/** Every string anywhere in a value. */
function stringsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Buffer.isBuffer(value) || value instanceof Uint8Array) return out;
  else if (Array.isArray(value)) for (const item of value) stringsIn(item, out);
  else if (value !== null && typeof value === 'object') {
    for (const [name, item] of Object.entries(value)) {
      out.push(name);
      stringsIn(item, out);
    }
  }
  return out;
}

/** The checks every command must pass: reviewed expressions, names and placeholders only. */
function expectOnlyReviewedExpressions(sent: readonly Sent[], inputs: readonly string[] = []) {
  for (const { name, input } of sent) {
    for (const [field, value] of Object.entries(input)) {
      if (!field.endsWith('Expression')) continue;
      expect([...reviewedExpressions], `${name}.${field}`).toContain(value);
      for (const text of inputs) expect(String(value), `${name}.${field}`).not.toContain(text);
    }
    const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
    for (const attribute of Object.values(names)) expect([...reviewedNames], name).toContain(attribute);
    const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
    for (const placeholder of Object.keys(values))
      expect([...reviewedPlaceholders], name).toContain(placeholder);
  }
}

/** The input travels as a value: some string of the commands' keys, items or values contains it. */
function expectCarriedAsValue(sent: readonly Sent[], input: string) {
  const carried = sent.flatMap(({ input: commandInput }) =>
    stringsIn([
      commandInput.Key,
      commandInput.Item,
      commandInput.ExpressionAttributeValues,
      commandInput.ExclusiveStartKey,
      commandInput.RequestItems,
    ]),
  );
  expect(
    carried.some((text) => text.includes(input)),
    `input ${JSON.stringify(input.slice(0, 40))}`,
  ).toBe(true);
}

const record = (uid: string, text: string): WorkflowRecord => ({
  uid,
  namespace: text,
  name: text,
  phase: text,
  message: text,
  resourceVersion: 7,
  nodeStatusVersion: text,
  nodeCount: 1,
  createdAt: text,
  updatedAt: text,
  leaseExpiresAt: 1,
  codec: text,
});

const manifest = (uid: string, version: string, parentVersion?: string): Manifest => ({
  uid,
  nodeStatusVersion: version,
  codec: 'c',
  bucketCount: 2,
  nodeCount: 2,
  rawBytes: 2,
  storedBytes: 2,
  createdAt: version,
  expiresAt: 100,
  ...(parentVersion === undefined ? {} : { parentVersion }),
  chunks: [
    { chunkId: 'a'.repeat(64), parts: 1, leaseExpiresAt: 1, storedBytes: 1 },
    { chunkId: 'b'.repeat(64), parts: 2, leaseExpiresAt: 1, storedBytes: 1 },
  ],
});

/** Calls every store method with `text` in every caller-controlled position. */
async function driveEveryMethod(text: string): Promise<Sent[]> {
  const { sent, client } = fakeClient(text, `${text}-base`);
  const store = new DynamoDbStore(client, { tableName: 'records', sleep: async () => {} });
  const refs = [{ chunkId: text, parts: 1 }];
  await store.getRecord(text);
  await store.getManifest(text, text);
  await store.getChunks(text, refs);
  await store.putChunks(text, [{ chunkId: text, codec: text, parts: [new Uint8Array([1])] }], 100);
  await store.renewChunks(text, [{ chunkId: text, parts: 2 }], 100);
  await store.putManifest(manifest(text, text, text));
  await store.putManifest(manifest(text, `${text}-next`), {
    base: manifest(text, text),
    changedIndexes: [1],
  });
  await store.extendManifestLease(text, text, 1_000);
  await store.renewManifest({ ...manifest(text, text), base: manifest(text, `${text}-base`) }, 200);
  await store.commitRecord(record(text, text), undefined);
  await store.commitRecord(record(text, text), 6);
  await store.deleteRecord(text);
  await store.listRecords('argo', 10);
  await store.listRecords(
    text,
    10,
    cursorOf({ pk: text, sk: text, namespaceKey: `NS#${text}`, namespaceSort: text }),
  );
  await store.listVersions(text, 10);
  await store.findShortLeases(100, 10);
  await store.findShortLeases(
    100,
    10,
    cursorOf({
      shard: 3,
      key: cursorOf({ pk: text, sk: text, leaseShard: text, leaseExpiresAt: 5 }),
    }),
  );
  await store.minimumLease();
  await store.renewRecordLease(text, text, 300);
  await store.putUpload({
    uid: text,
    uploadId: text,
    namespace: text,
    name: text,
    phase: text,
    message: text,
    nodeCount: 1,
    bucketCount: 1,
    baseVersion: text,
    createdAt: text,
    expiresAt: 100,
  });
  await store.getUpload(text, text);
  await store.putUploadPart(text, text, { partNumber: 1, buckets: [], expiresAt: 100 });
  await store.listUploadParts(text, text);
  await store.putLogEntry({
    uid: text,
    key: { seq: 3, tag: 'a1b2' },
    kind: 'delta',
    nodeStatusVersion: text,
    parentVersion: text,
    parent: { seq: 2, tag: 'c3d4' },
    base: { kind: 'manifest', nodeStatusVersion: text },
    chainStart: 2,
    codec: text,
    bucketCount: 1,
    nodeCount: 1,
    rawBytes: 1,
    storedBytes: 1,
    createdAt: text,
    expiresAt: 100,
    data: new Uint8Array(1),
  });
  await store.getLogEntries(text, 2, { seq: 3, tag: 'a1b2' }, false);
  await store.findLogVersion(text, text);
  await store.listLogVersions(text, 10);
  await store.renewLogItems(text, [{ seq: 3, tag: 'a1b2' }], 100);
  return sent;
}

describe('DynamoDB expressions', () => {
  it('are string literals of the store, each one reviewed, never built from a template or a variable', () => {
    // Every module of the DynamoDB adapter.
    const storeFolder = new URL('../../../functions/store/', import.meta.url);
    const source = readdirSync(storeFolder)
      .filter((file) => file.endsWith('.ts'))
      .map((file) => readFileSync(new URL(file, storeFolder), 'utf8'))
      .join('\n');
    // Each `...Expression:` property: a plain single-quoted literal (group 2), or anything else (group 3).
    const assigned = [...source.matchAll(/(\w*Expression):\s*(?:'([^'`$\n]*)'|(\S+))/g)].filter(
      ([, field]) => field !== 'ExpressionAttributeValues' && field !== 'ExpressionAttributeNames',
    );
    const literals = assigned.map(([, , literal]) => literal);

    expect(assigned.length).toBeGreaterThan(0);
    expect(literals.filter((literal) => literal === undefined)).toEqual([]);
    expect(new Set(literals)).toEqual(reviewedExpressions);
  });

  it.each(hostile.map((text) => [text.slice(0, 50), text]))(
    'carry %j as a value only, in every method of the store',
    async (_label, text) => {
      const sent = await driveEveryMethod(text);

      expect(new Set(sent.map((command) => command.name))).toEqual(
        new Set([
          'GetCommand',
          'BatchGetCommand',
          'BatchWriteCommand',
          'UpdateCommand',
          'PutCommand',
          'DeleteCommand',
          'QueryCommand',
        ]),
      );
      expectOnlyReviewedExpressions(sent, [text]);
      expectCarriedAsValue(sent, text);
    },
  );

  it('stay the reviewed constants whatever the input (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 200, unit: 'binary' }), async (text) => {
        const sent = await driveEveryMethod(text);
        expectOnlyReviewedExpressions(sent);
        expectCarriedAsValue(sent, text);
      }),
      { numRuns: 100 },
    );
  });

  it('refuse a page cursor the service did not issue before sending anything', async () => {
    const forged = [
      'not base64 json',
      cursorOf({ pk: 'x' }),
      cursorOf({ pk: 'x', sk: 'y', namespaceKey: 'NS#other', namespaceSort: 'z' }),
      cursorOf({ pk: { S: 'x' }, sk: 'y', namespaceKey: 'NS#argo', namespaceSort: 'z' }),
      cursorOf({ pk: 'x', sk: 'y', namespaceKey: 'NS#argo', namespaceSort: 'z', extra: 'field' }),
      cursorOf(['pk', 'sk']),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom(...forged), fc.string({ minLength: 1, maxLength: 100 })),
        async (cursor) => {
          const { sent, client } = fakeClient();
          const store = new DynamoDbStore(client, { tableName: 'records' });
          await expect(store.listRecords('argo', 10, cursor)).rejects.toBeInstanceOf(ValidationError);
          expect(sent).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
