import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import {
  AttributeType,
  Billing,
  ProjectionType,
  StreamViewType,
  TableEncryptionV2,
  TableV2,
} from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { type IndexName, keyAttributeTypes, table, versionTable } from '#contract/tables';
import { type TableAction, type TableGrants, writeTableActions } from '#infrastructure/handler-settings';

export interface OffloadTableProps {
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Off only for throwaway test stacks. @default true */
  readonly deletionProtection?: boolean;
  /** Customer-managed key. @default an AWS-owned key (no KMS charge, no key policy to manage) */
  readonly encryptionKey?: IKey;
}

type KeyAttributeName = keyof typeof keyAttributeTypes;

const attribute = (name: KeyAttributeName) => ({
  name,
  type: keyAttributeTypes[name] === 'N' ? AttributeType.NUMBER : AttributeType.STRING,
});

/**
 * With a customer-managed key, what DynamoDB needs from the caller to use it
 * on the caller's behalf, spelled out instead of `GenerateDataKey*` and
 * `ReEncrypt*`, and only through DynamoDB (kms:ViaService).
 */
const keyReadActions = ['kms:Decrypt', 'kms:DescribeKey'];
/** The stream actions a stream consumer's role needs (the event source mapping calls them). */
export const streamReadActions = ['DescribeStream', 'GetRecords', 'GetShardIterator', 'ListStreams'] as const;
const keyWriteActions = ['kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'];

/**
 * The service's two tables, built from the description: the records table
 * (`description.table`: `pk`/`sk`, the namespace and lease indexes, no TTL,
 * a stream of new and old images)
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
      dynamoStream: StreamViewType[table.stream],
      globalSecondaryIndexes: Object.values(table.indexes).map((index) => ({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: attribute(index.sortKey),
        projectionType: ProjectionType.INCLUDE,
        nonKeyAttributes: [...index.nonKeyAttributes],
      })),
    });
  }

  /**
   * Exactly the data access a handler's description lists, resource by
   * resource (least privilege): no Scan, no table management, no index
   * wildcard, DeleteItem only where listed (the records table of the delete
   * handlers). With a customer-managed key, decrypt for any table access and
   * encrypt too for handlers that write.
   */
  grantAccess(grantee: IGrantable, grants: TableGrants): void {
    const grant = (actions: readonly TableAction[] | undefined, resources: string[]) => {
      if (!actions || actions.length === 0) return;
      grantee.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({ actions: actions.map((action) => `dynamodb:${action}`), resources }),
      );
    };
    grant(grants.records, [this.table.tableArn]);
    grant(grants.versions, [this.versions.tableArn]);
    if (grants.indexes && grants.indexes.length > 0) {
      grant(
        ['Query'],
        grants.indexes.map((index) => this.indexArn(index)),
      );
    }
    const all = [
      ...(grants.records ?? []),
      ...(grants.versions ?? []),
      ...(grants.indexes ? ['Query' as const] : []),
    ];
    if (this.encryptionKey && all.length > 0) {
      const writes = all.some((action) => writeTableActions.includes(action));
      grantee.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({
          actions: [...keyReadActions, ...(writes ? keyWriteActions : [])],
          resources: [this.encryptionKey.keyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` },
          },
        }),
      );
    }
  }

  /**
   * What a Lambda event source mapping on the records table's stream needs
   * from the function's role, on that table's stream only. (With a
   * customer-managed key, the handler's table reads already hold the
   * decrypt that the stream records need.)
   */
  grantStreamRead(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: streamReadActions.map((action) => `dynamodb:${action}`),
        resources: [this.table.tableStreamArn as string],
      }),
    );
  }

  /** ARN of one index, named so that no policy needs `index/*`. */
  indexArn(index: IndexName): string {
    return `${this.table.tableArn}/index/${table.indexes[index].indexName}`;
  }
}

/** The KMS actions a handler can be granted, for tests and reviews. */
export const keyActions = { read: keyReadActions, write: keyWriteActions } as const;
