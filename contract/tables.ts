/**
 * The two DynamoDB tables as plain data: keys, indexes, TTL attribute and
 * names. The CDK stack builds them from here, the store adapter reads its key
 * and index names from here, and `npm start` and the tests create them from
 * here (`functions/store/table-definition.ts`), so every copy is the same.
 */

/** Number of partitions of the lease index; spreads renew queries and writes. */
export const leaseShardCount = 16;

/**
 * The records table: one item per workflow (its record), the commit point.
 * No TTL: a record lives until the workflow is deleted. Its two sparse
 * indexes list a namespace and find the leases the renewer must extend.
 * Its stream carries every change of a record to the change-event handler.
 */
export const table = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Each change of a record, with the record before and after: the source of the change events. */
  stream: 'NEW_AND_OLD_IMAGES',
  indexes: {
    /**
     * Lists workflows of a namespace, by name then uid. It projects nothing
     * that a commit changes: a listing reads the records it finds (one
     * BatchGetItem a page), so a commit writes nothing to it.
     */
    byNamespace: {
      indexName: 'byNamespace',
      partitionKey: 'namespaceKey',
      sortKey: 'namespaceSort',
      nonKeyAttributes: ['uid'],
    },
    /**
     * Finds the workflows whose current version's lease runs short, without a
     * scan. It projects nothing that a commit changes (the renewer reads the
     * record it finds), so a commit that keeps the lease writes nothing to it.
     */
    byLease: {
      indexName: 'byLease',
      partitionKey: 'leaseShard',
      sortKey: 'leaseExpiresAt',
      nonKeyAttributes: ['uid'],
    },
  },
} as const;

/** The name of an index of the records table. */
export type IndexName = keyof typeof table.indexes;

/**
 * The versions table: immutable manifests, history entries and chunks, each
 * with `expiresAt`, removed by DynamoDB's TTL. It has no index, so no item
 * here ever needs an index key. (Kept apart from the records table because
 * DynamoDB Local's TTL job builds delete keys from every key attribute of a
 * table, index keys included, and stops on items without them; see
 * docs/architecture.md.)
 */
export const versionTable = {
  partitionKey: 'pk',
  sortKey: 'sk',
  timeToLiveAttribute: 'expiresAt',
  /** Default name: the records table's name plus this suffix. */
  nameSuffix: '-versions',
} as const;

/** The versions table's default name for a records table name. */
export const versionTableNameFor = (recordsTableName: string): string =>
  `${recordsTableName}${versionTable.nameSuffix}`;

/** Attribute types of the key attributes, for CreateTable and TableV2. */
export const keyAttributeTypes = {
  pk: 'S',
  sk: 'S',
  namespaceKey: 'S',
  namespaceSort: 'S',
  leaseShard: 'S',
  leaseExpiresAt: 'N',
} as const satisfies Record<string, 'S' | 'N'>;
