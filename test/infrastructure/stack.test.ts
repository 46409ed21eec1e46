import { existsSync, readFileSync } from 'node:fs';
import { App, type CfnElement, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { eventRules, eventSource, type HandlerDescription, handlers, routes, streams } from '#contract/api';
import { table } from '#contract/tables';
import { handlerEntry } from '#infrastructure/constructs/handler-function';
import { keyActions } from '#infrastructure/constructs/offload-table';
import { deletesRecords, isReadOnly, settingsOf } from '#infrastructure/handler-settings';
import { WorkflowOffloadStack, type WorkflowOffloadStackProps } from '#infrastructure/stack';

// biome-ignore lint/suspicious/noExplicitAny: synthesised CloudFormation is JSON, read field by field below.
type CfnJson = any;

const featureFlags = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context;
const allHandlers = Object.values(handlers) as HandlerDescription[];
const keyArn = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
/** A customer-managed key needs a stack with a concrete region. */
const env = { account: '111122223333', region: 'eu-west-1' };

/** The stack as `cdk synth` builds it (same feature flags), without running esbuild. */
function synth(props: WorkflowOffloadStackProps = {}, build?: (app: App) => WorkflowOffloadStack) {
  const app = new App({ context: { ...featureFlags, 'aws:cdk:bundling-stacks': [] } });
  const stack = build ? build(app) : new WorkflowOffloadStack(app, 'Test', props);
  const template = Template.fromStack(stack);
  const resources: Record<string, { Type: string; Properties: CfnJson }> = template.toJSON().Resources;
  const logicalId = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const propertiesOf = (construct: IConstruct): CfnJson => {
    const resource = resources[logicalId(construct)];
    if (!resource) throw new Error(`no resource for ${construct.node.path}`);
    return resource.Properties;
  };
  const functionOf = (handler: HandlerDescription) => {
    const handlerFunction = stack.functions.get(handler.name);
    if (!handlerFunction) throw new Error(`no function for ${handler.name}`);
    return handlerFunction;
  };
  return { stack, template, resources, logicalId, propertiesOf, functionOf };
}

type Synth = ReturnType<typeof synth>;

/** Every statement of the handler's execution role, with actions and resources as arrays. */
function statementsOf({ resources, logicalId, functionOf }: Synth, handler: HandlerDescription) {
  const roleId = logicalId(functionOf(handler).role);
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .filter((policy) => policy.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
    .map((statement: { Action: string | string[]; Resource: unknown }) => ({
      actions: [statement.Action].flat(),
      resources: [statement.Resource].flat(),
    }));
}

const defaultSynth = synth();

describe('table', () => {
  it('has two tables: records with the indexes and no TTL, versions with TTL on expiresAt and no index', () => {
    const tables = Object.values(defaultSynth.template.findResources('AWS::DynamoDB::GlobalTable')).map(
      (resource) => resource.Properties as Record<string, unknown>,
    );
    expect(tables).toHaveLength(2);
    const records = tables.find((properties) => properties.GlobalSecondaryIndexes !== undefined);
    const versions = tables.find((properties) => properties.GlobalSecondaryIndexes === undefined);
    expect(records?.TimeToLiveSpecification).toBeUndefined();
    expect(versions?.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(versions?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
  });

  it('has point-in-time recovery and deletion protection on both tables, retained, by default', () => {
    defaultSynth.template.resourcePropertiesCountIs(
      'AWS::DynamoDB::GlobalTable',
      {
        Replicas: [
          Match.objectLike({
            DeletionProtectionEnabled: true,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ],
      },
      2,
    );
    defaultSynth.template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      Properties: {
        Replicas: [
          Match.objectLike({
            DeletionProtectionEnabled: true,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ],
      },
    });
  });

  it('can be deleted with a throwaway test stack', () => {
    const { template } = synth({ deletionProtection: false, tableRemovalPolicy: RemovalPolicy.DESTROY });

    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Delete',
      Properties: { Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })] },
    });
  });

  it('bills on demand, with the keys and indexes of the description', () => {
    const indexes = Object.values(table.indexes);

    defaultSynth.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: indexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.nonKeyAttributes] },
      })),
      AttributeDefinitions: Match.arrayWith([{ AttributeName: 'leaseExpiresAt', AttributeType: 'N' }]),
    });
  });

  it('encrypts with an AWS-owned key unless given a customer-managed one', () => {
    defaultSynth.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      SSESpecification: { SSEEnabled: false },
    });

    const { template } = synth({ env, encryptionKeyArn: keyArn });

    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: [Match.objectLike({ SSESpecification: { KMSMasterKeyId: keyArn } })],
    });
  });

  it('asks for a region when given a customer-managed key in a region-agnostic stack', () => {
    expect(() => synth({ encryptionKeyArn: keyArn })).toThrow(/explicit region/);
  });
});

describe('functions', () => {
  it('has a source file under functions/handlers for every handler of the description', () => {
    const missing = allHandlers.map(handlerEntry).filter((entry) => !existsSync(entry));

    expect(missing).toEqual([]);
  });

  it('builds one function per handler with the fixed defaults and the memory and timeout described', () => {
    const { stack, resources, logicalId, propertiesOf, functionOf } = defaultSynth;
    const tableId = logicalId(stack.table.table);

    for (const handler of allHandlers) {
      const handlerFunction = functionOf(handler);
      const fn = propertiesOf(handlerFunction.function);
      const logGroup = propertiesOf(handlerFunction.logGroup);

      expect(fn, handler.name).toMatchObject({
        Architectures: ['arm64'],
        Runtime: 'nodejs22.x',
        Handler: 'index.handler',
        MemorySize: settingsOf(handler).memoryMb,
        Timeout: settingsOf(handler).timeoutSeconds,
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: logicalId(handlerFunction.logGroup) } },
        Environment: {
          Variables: {
            POWERTOOLS_SERVICE_NAME: 'workflow-offload',
            POWERTOOLS_METRICS_NAMESPACE: 'WorkflowOffload',
            LOG_LEVEL: 'INFO',
            WFO_TABLE_NAME: { Ref: tableId },
            WFO_RETENTION_SECONDS: '172800',
          },
        },
      });
      expect(logGroup.RetentionInDays, handler.name).toBe(30);
    }
    expect(Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function')).toHaveLength(
      allHandlers.length,
    );
  });

  it('passes R, the metrics namespace and the log level from the stack props', () => {
    const { propertiesOf, functionOf } = synth({
      retentionSeconds: 3600,
      metricsNamespace: 'OffloadTest',
      logLevel: 'DEBUG',
    });

    const fn = propertiesOf(functionOf(handlers.putWorkflow).function);

    expect(fn.Environment.Variables).toMatchObject({
      WFO_RETENTION_SECONDS: '3600',
      POWERTOOLS_METRICS_NAMESPACE: 'OffloadTest',
      LOG_LEVEL: 'DEBUG',
    });
  });

  it('rejects a retention shorter than a minute or not whole seconds', () => {
    expect(() => synth({ retentionSeconds: 30 })).toThrow(/retentionSeconds/);
    expect(() => synth({ retentionSeconds: 90.5 })).toThrow(/retentionSeconds/);
  });
});

describe('permissions', () => {
  /** A statement's resource as a short label: `records`, `versions`, `index/<name>`. */
  function labelOf(resource: unknown): string {
    const { stack, logicalId } = defaultSynth;
    const text = JSON.stringify(resource);
    const recordsArn = JSON.stringify({ 'Fn::GetAtt': [logicalId(stack.table.table), 'Arn'] });
    const versionsArn = JSON.stringify({ 'Fn::GetAtt': [logicalId(stack.table.versions), 'Arn'] });
    if (text === recordsArn) return 'records';
    if (text === versionsArn) return 'versions';
    if (text === JSON.stringify({ 'Fn::GetAtt': [logicalId(stack.table.table), 'StreamArn'] }))
      return 'records/stream';
    const index = /\/index\/([A-Za-z]+)"/.exec(text);
    if (index && text.includes(recordsArn)) return `index/${index[1]}`;
    return text;
  }

  /** Every DynamoDB grant of the handler as `<resource>:<action>`, sorted. */
  const dynamoGrantsOf = (handler: HandlerDescription): string[] =>
    statementsOf(defaultSynth, handler)
      .filter((statement) => statement.actions.some((action) => action.startsWith('dynamodb:')))
      .flatMap((statement) =>
        statement.resources.flatMap((resource) =>
          statement.actions.map((action) => `${labelOf(resource)}:${action.replace('dynamodb:', '')}`),
        ),
      )
      .sort();

  // What each handler's code sends (functions/store/), written out here on
  // purpose: one action more or less in the stack fails this test.
  // A version of the log layout is read with a Query: its chain (a key range), or its entry by id.
  const hydrate = ['records:GetItem', 'versions:BatchGetItem', 'versions:GetItem', 'versions:Query'];
  const write = [
    'records:GetItem',
    'records:PutItem',
    'versions:BatchGetItem',
    'versions:BatchWriteItem',
    'versions:GetItem',
    'versions:PutItem',
    'versions:Query',
    'versions:UpdateItem',
  ];
  const expectedGrants: Record<string, string[]> = {
    Health: [],
    PutWorkflow: write,
    PatchNodes: write,
    GetWorkflow: hydrate,
    ListVersions: ['records:GetItem', 'versions:Query'],
    GetVersion: hydrate,
    StopWorkflow: write,
    DeleteWorkflow: ['records:DeleteItem'],
    ListWorkflows: ['index/byNamespace:Query', 'records:BatchGetItem'],
    OnNodesUpdated: write,
    OnStopRequested: write,
    OnWorkflowDeleted: ['records:DeleteItem'],
    ReadNodes: hydrate,
    DiffVersions: hydrate,
    BeginUpload: ['records:GetItem', 'versions:GetItem', 'versions:PutItem', 'versions:Query'],
    PutUploadPart: ['versions:BatchWriteItem', 'versions:GetItem', 'versions:PutItem'],
    CommitUpload: write,
    PublishChanges: [
      'versions:BatchGetItem',
      'versions:GetItem',
      'versions:Query',
      'records/stream:DescribeStream',
      'records/stream:GetRecords',
      'records/stream:GetShardIterator',
      'records/stream:ListStreams',
    ].sort(),
    Renew: [
      'index/byLease:Query',
      'records:GetItem',
      'records:UpdateItem',
      'versions:GetItem',
      'versions:Query',
      'versions:UpdateItem',
    ],
  };

  it('grants each handler exactly the DynamoDB actions its code sends, resource by resource', () => {
    expect(Object.keys(expectedGrants).sort()).toEqual(allHandlers.map((handler) => handler.name).sort());
    for (const handler of allHandlers) {
      expect(dynamoGrantsOf(handler), handler.name).toEqual(expectedGrants[handler.name]);
    }
  });

  it('gives read-only handlers no action that writes, and DeleteItem only to the handlers that delete records', () => {
    const writeActions = ['PutItem', 'BatchWriteItem', 'UpdateItem', 'DeleteItem'];

    for (const handler of allHandlers) {
      const grants = dynamoGrantsOf(handler);
      if (isReadOnly(handler))
        expect(
          grants.filter((grant) => writeActions.includes(grant.split(':')[1] as string)),
          handler.name,
        ).toEqual([]);
      expect(grants.includes('records:DeleteItem'), handler.name).toBe(deletesRecords(handler));
    }
    expect(allHandlers.filter(deletesRecords).map((h) => h.name)).toEqual([
      'DeleteWorkflow',
      'OnWorkflowDeleted',
    ]);
    expect(allHandlers.filter(isReadOnly).map((h) => h.name)).toEqual([
      'Health',
      'GetWorkflow',
      'ListVersions',
      'GetVersion',
      'ListWorkflows',
      'ReadNodes',
      'DiffVersions',
      'PublishChanges',
    ]);
  });

  it('never lets anyone delete from the versions table: its items go by TTL only', () => {
    const { stack, logicalId } = defaultSynth;
    const versionsArn = JSON.stringify({ 'Fn::GetAtt': [logicalId(stack.table.versions), 'Arn'] });
    const recordsArn = JSON.stringify({ 'Fn::GetAtt': [logicalId(stack.table.table), 'Arn'] });
    let deleteStatements = 0;
    for (const handler of allHandlers) {
      for (const statement of statementsOf(defaultSynth, handler)) {
        if (!statement.actions.includes('dynamodb:DeleteItem')) continue;
        deleteStatements++;
        expect(JSON.stringify(statement.resources), handler.name).not.toContain(versionsArn);
        expect(JSON.stringify(statement.resources), handler.name).toContain(recordsArn);
      }
    }
    expect(deleteStatements).toBe(2);
  });

  it('never grants Scan, action wildcards or index wildcards on the table', () => {
    for (const handler of allHandlers) {
      for (const statement of statementsOf(defaultSynth, handler)) {
        expect(
          statement.actions.filter((action) => /\*|Scan/.test(action)),
          handler.name,
        ).toEqual([]);
        expect(JSON.stringify(statement.resources), handler.name).not.toContain('/index/*');
      }
    }
  });

  it('scopes each handler to the table, its two indexes, its own log group and (if async) the DLQ', () => {
    const { stack, logicalId } = defaultSynth;
    const sqsStatements = statementsOf(defaultSynth, handlers.renew).filter((statement) =>
      statement.actions.some((action) => action.startsWith('sqs:')),
    );

    expect(sqsStatements.map((statement) => statement.resources)).toEqual([
      [{ 'Fn::GetAtt': [logicalId(stack.deadLetterQueue), 'Arn'] }],
    ]);
    expect(
      statementsOf(defaultSynth, handlers.getWorkflow)
        .flatMap((s) => s.actions)
        .filter((a) => a.startsWith('sqs:')),
    ).toEqual([]);
  });

  it('grants key use through DynamoDB only: decrypt to readers, encrypt too to writers', () => {
    const synthesised = synth({}, (app) => {
      const keyStack = new Stack(app, 'Keys', { env });
      const encryptionKey = new Key(keyStack, 'TableKey');
      return new WorkflowOffloadStack(app, 'Test', { env, encryptionKey });
    });
    const kmsStatement = (handler: HandlerDescription) =>
      statementsOf(synthesised, handler).filter((s) => s.actions.some((a) => a.startsWith('kms:')));

    const [reader, ...otherReaders] = kmsStatement(handlers.getWorkflow);
    const [writer, ...otherWriters] = kmsStatement(handlers.putWorkflow);

    expect([otherReaders, otherWriters]).toEqual([[], []]);
    expect(reader?.actions.sort()).toEqual([...keyActions.read].sort());
    expect(writer?.actions.sort()).toEqual([...keyActions.read, ...keyActions.write].sort());
    expect(kmsStatement(handlers.health)).toEqual([]);
    const policies = Object.values(synthesised.resources).filter((r) => r.Type === 'AWS::IAM::Policy');
    for (const statement of policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement)) {
      if ([statement.Action].flat().some((action: string) => action.startsWith('kms:'))) {
        expect(statement.Condition).toEqual({
          StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' },
        });
      }
    }
  });
});

describe('HTTP API', () => {
  const routeResources = () =>
    Object.values(defaultSynth.resources).filter((resource) => resource.Type === 'AWS::ApiGatewayV2::Route');

  it('serves exactly the routes of the description', () => {
    const routeKeys = routeResources().map((route) => route.Properties.RouteKey);

    expect(routeKeys.sort()).toEqual(routes.map((route) => `${route.method} ${route.path}`).sort());
  });

  it('requires IAM (SigV4) authorisation on every route', () => {
    const routesWithoutIam = routeResources().filter(
      (route) => route.Properties.AuthorizationType !== 'AWS_IAM',
    );

    expect(routeResources().length).toBeGreaterThan(0);
    expect(routesWithoutIam).toEqual([]);
  });

  it('sends each route to the function of the handler the description names', () => {
    const { resources, logicalId, functionOf } = defaultSynth;

    for (const route of routes) {
      const routeResource = routeResources().find(
        (r) => r.Properties.RouteKey === `${route.method} ${route.path}`,
      );
      // Target is `integrations/<integration id>`, a Fn::Join with a Ref.
      const integrationId = routeResource?.Properties.Target['Fn::Join'][1][1].Ref;
      const integration = resources[integrationId]?.Properties;

      expect(integration?.IntegrationUri, `${route.method} ${route.path}`).toEqual({
        'Fn::GetAtt': [logicalId(functionOf(route.handler).function), 'Arn'],
      });
    }
  });

  it('throttles the default stage and writes JSON access logs to a log group with retention', () => {
    const { stack, resources, logicalId, propertiesOf } = defaultSynth;
    const stage = Object.values(resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Stage')?.Properties;

    expect(stage).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [logicalId(stack.httpApi.accessLogGroup), 'Arn'] },
      },
    });
    expect(JSON.parse(stage?.AccessLogSettings.Format)).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      userArn: '$context.identity.userArn',
    });
    expect(propertiesOf(stack.httpApi.accessLogGroup).RetentionInDays).toBe(30);
  });
});

describe('events', () => {
  const rules = (synthesised: Synth) =>
    Object.values(synthesised.resources).filter((resource) => resource.Type === 'AWS::Events::Rule');

  it('routes each detail-type of the description, from any source by default, to its handler', () => {
    const { stack, logicalId, functionOf } = defaultSynth;

    for (const rule of eventRules) {
      defaultSynth.template.hasResourceProperties('AWS::Events::Rule', {
        EventBusName: { Ref: logicalId(stack.events.eventBus) },
        EventPattern: { 'detail-type': [rule.detailType], source: Match.absent() },
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [logicalId(functionOf(rule.handler).function), 'Arn'] },
          }),
        ],
      });
    }
    expect(rules(defaultSynth)).toHaveLength(eventRules.length);
  });

  it('narrows the rules to the accepted sources when the stack prop lists them', () => {
    const narrowed = synth({ acceptedEventSources: ['argo.workflows', eventSource] });

    for (const rule of eventRules) {
      narrowed.template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: { source: ['argo.workflows', eventSource], 'detail-type': [rule.detailType] },
      });
    }
    expect(rules(narrowed)).toHaveLength(eventRules.length);
  });

  it('refuses an empty or malformed list of accepted sources', () => {
    expect(() => synth({ acceptedEventSources: [] })).toThrow(/acceptedEventSources is empty/);
    expect(() => synth({ acceptedEventSources: ['argo workflows'] })).toThrow(/without spaces/);
  });

  it('retries and then dead-letters every event target', () => {
    const { stack, logicalId } = defaultSynth;
    const targets = rules(defaultSynth).flatMap((rule) => rule.Properties.Targets);

    expect(targets).toHaveLength(eventRules.length);
    for (const target of targets) {
      expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 });
      expect(target.DeadLetterConfig).toEqual({
        Arn: { 'Fn::GetAtt': [logicalId(stack.deadLetterQueue), 'Arn'] },
      });
    }
  });

  it('dead-letters events a handler keeps failing on, after Lambda retries them', () => {
    const { stack, logicalId, propertiesOf, functionOf } = defaultSynth;
    const asyncHandlers = [...eventRules.map((rule) => rule.handler), handlers.renew];

    for (const handler of allHandlers) {
      const fn = propertiesOf(functionOf(handler).function);
      const expected = asyncHandlers.includes(handler)
        ? { TargetArn: { 'Fn::GetAtt': [logicalId(stack.deadLetterQueue), 'Arn'] } }
        : undefined;

      expect(fn.DeadLetterConfig, handler.name).toEqual(expected);
    }
  });

  it('keeps the dead-letter queue encrypted, TLS-only and for 14 days', () => {
    defaultSynth.template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    defaultSynth.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('uses an existing bus by name instead of creating one', () => {
    const synthesised = synth({ existingEventBusName: 'argo-events' });

    synthesised.template.resourceCountIs('AWS::Events::EventBus', 0);
    for (const rule of rules(synthesised)) expect(rule.Properties.EventBusName).toBe('argo-events');
    expect(synthesised.template.toJSON().Outputs.EventBusName.Value).toBe('argo-events');
  });
});

describe('change events', () => {
  it('streams new and old images of the records table, and none of the versions table', () => {
    const { stack, propertiesOf } = defaultSynth;
    expect(propertiesOf(stack.table.table).StreamSpecification).toEqual({
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
    expect(propertiesOf(stack.table.versions).StreamSpecification).toBeUndefined();
  });

  it('reads the stream into the change-event handler in order, reporting failed records, retrying, then dead-lettering them', () => {
    const { stack, logicalId, resources, functionOf } = defaultSynth;
    const mappings = Object.values(resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::EventSourceMapping',
    );
    const [stream] = streams;
    expect(mappings).toHaveLength(streams.length);
    expect(mappings[0]?.Properties).toEqual({
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.table.table), 'StreamArn'] },
      FunctionName: { Ref: logicalId(functionOf(handlers.publishChanges).function) },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: stream?.batchSize,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: stream?.retryAttempts,
      MaximumRecordAgeInSeconds: 86_400,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(stack.deadLetterQueue), 'Arn'] } },
      },
    });
  });

  it('lets the change-event handler put events on the service bus, which it names in its environment', () => {
    const { stack, logicalId, propertiesOf, functionOf } = defaultSynth;
    const fn = propertiesOf(functionOf(handlers.publishChanges).function);
    expect(fn.Environment.Variables.WFO_EVENT_BUS_NAME).toEqual({ Ref: logicalId(stack.events.eventBus) });
    expect(statementsOf(defaultSynth, handlers.publishChanges)).toContainEqual({
      actions: ['events:PutEvents'],
      resources: [{ 'Fn::GetAtt': [logicalId(stack.events.eventBus), 'Arn'] }],
    });
    for (const handler of allHandlers.filter((candidate) => candidate !== handlers.publishChanges)) {
      const actions = statementsOf(defaultSynth, handler).flatMap((statement) => statement.actions);
      expect(actions, handler.name).not.toContain('events:PutEvents');
    }
  });
});

describe('renew schedule', () => {
  it('runs the renewer every R / 4, by default every 12 hours', () => {
    const { stack, logicalId, functionOf } = defaultSynth;

    defaultSynth.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(12 hours)',
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [logicalId(functionOf(handlers.renew).function), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack.deadLetterQueue), 'Arn'] } },
      },
    });
  });

  it('follows a shorter R, in whole minutes', () => {
    synth({ retentionSeconds: 3600 }).template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(15 minutes)',
    });
    synth({ retentionSeconds: 300 }).template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
    });
  });
});

describe('outputs', () => {
  it('exports the API URL, bus, table and dashboard names', () => {
    const outputs = defaultSynth.template.toJSON().Outputs;

    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['ApiUrl', 'EventBusName', 'TableName', 'DashboardName']),
    );
  });
});
