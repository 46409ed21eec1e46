import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { keyAttributeTypes, type TableAccess, table, versionTable } from '#infrastructure/description';

export interface OffloadTableProps {
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Off only for throwaway test stacks. @default true */
  readonly deletionProtection?: boolean;
  /** Customer-managed key. @default an AWS-owned key (no KMS charge, no key policy to manage) */
  readonly encryptionKey?: IKey;
}

/** What a handler may do to the table, beyond its tableAccess level. */
export interface TableGrantOptions {
  /** Grant `dynamodb:DeleteItem` (record deletion only; see invariant 5). */
  readonly deletesRecords?: boolean;
}

type KeyAttributeName = keyof typeof keyAttributeTypes;

const attribute = (name: KeyAttributeName) => ({
  name,
  type: keyAttributeTypes[name] === 'N' ? AttributeType.NUMBER : AttributeType.STRING,
});

/**
 * Exactly what the domain store calls, nothing more: no Scan (listing uses
 * the namespace index, the renewer the lease index), no table management.
 */
const itemReadActions = ['dynamodb:GetItem', 'dynamodb:BatchGetItem'];
const queryActions = ['dynamodb:Query'];
const writeActions = ['dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'];
const deleteActions = ['dynamodb:DeleteItem'];

/**
 * With a customer-managed key, what DynamoDB needs from the caller to use it
 * on the caller's behalf, spelled out instead of `GenerateDataKey*` and
 * `ReEncrypt*`, and only through DynamoDB (kms:ViaService).
 */
const keyReadActions = ['kms:Decrypt', 'kms:DescribeKey'];
const keyWriteActions = ['kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'];

/**
 * The service's two tables, built from the description: the records table
 * (`description.table`: `pk`/`sk`, the namespace and lease indexes, no TTL)
 * and the versions table (`description.versionTable`: `pk`/`sk`, TTL on
 * `expiresAt`, no index). Both on-demand, with point-in-time recovery and
 * deletion protection.
 */
export class OffloadTable extends Construct {
  /** The records table. */
  readonly table: TableV2;
  /** The versions table: manifests, history and chunks, expiring by TTL. */
  readonly versions: TableV2;
  private readonly encryptionKey?: IKey;

  constructor(scope: Construct, id: string, props: OffloadTableProps = {}) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    if (props.encryptionKey && Token.isUnresolved(Stack.of(this).region)) {
      // TableV2 names the key per replica region; CloudFormation cannot pick it at deploy time.
      throw new Error('a customer-managed encryptionKey needs a stack with an explicit region (env.region)');
    }
    const common = {
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      encryption: props.encryptionKey
        ? TableEncryptionV2.customerManagedKey(props.encryptionKey)
        : TableEncryptionV2.dynamoOwnedKey(),
    };
    this.versions = new TableV2(this, 'Versions', {
      ...common,
      partitionKey: { name: versionTable.partitionKey, type: AttributeType.STRING },
      sortKey: { name: versionTable.sortKey, type: AttributeType.STRING },
      timeToLiveAttribute: versionTable.timeToLiveAttribute,
    });
    this.table = new TableV2(this, 'Table', {
      ...common,
      partitionKey: attribute(table.partitionKey),
      sortKey: attribute(table.sortKey),
      globalSecondaryIndexes: Object.values(table.indexes).map((index) => ({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: attribute(index.sortKey),
        projectionType: ProjectionType.INCLUDE,
        nonKeyAttributes: [...index.nonKeyAttributes],
      })),
    });
  }

  /** ARNs of the global secondary indexes, named one by one so no policy needs `index/*`. */
  get indexArns(): string[] {
    return Object.values(table.indexes).map((index) => `${this.table.tableArn}/index/${index.indexName}`);
  }

  /**
   * Least-privilege data access for a handler, on both tables: 'read' gets
   * item reads and queries only; 'readWrite' adds puts and updates; DeleteItem
   * only with `deletesRecords`, and only on the records table (the write path
   * never deletes versions). With a customer-managed key, the matching KMS grant.
   */
  grantAccess(grantee: IGrantable, access: TableAccess, options: TableGrantOptions = {}): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: itemReadActions,
        resources: [this.table.tableArn, this.versions.tableArn],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: queryActions,
        resources: [this.table.tableArn, ...this.indexArns, this.versions.tableArn],
      }),
    );
    if (access === 'readWrite') {
      grantee.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({
          actions: writeActions,
          resources: [this.table.tableArn, this.versions.tableArn],
        }),
      );
      if (options.deletesRecords) {
        grantee.grantPrincipal.addToPrincipalPolicy(
          new PolicyStatement({ actions: deleteActions, resources: [this.table.tableArn] }),
        );
      }
    }
    if (this.encryptionKey) {
      grantee.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({
          actions: [...keyReadActions, ...(access === 'readWrite' ? keyWriteActions : [])],
          resources: [this.encryptionKey.keyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` },
          },
        }),
      );
    }
  }
}

/** Every data-plane action a handler can be granted, for tests and reviews. */
export const tableActions = {
  read: [...itemReadActions, ...queryActions],
  write: writeActions,
  delete: deleteActions,
  keyRead: keyReadActions,
  keyWrite: keyWriteActions,
} as const;
