/**
 * The access claims of docs/security.md, checked on the synthesised template:
 * who can invoke what, what every role may do and on which resources, which
 * resource policies exist, and what is encrypted. Each `describe` names the
 * section of docs/security.md it backs.
 */
import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { type HandlerDescription, handlers, routes } from '#contract/api';
import { deletesRecords, isReadOnly } from '#infrastructure/handler-settings';
import { WorkflowOffloadStack } from '#infrastructure/stack';

// biome-ignore lint/suspicious/noExplicitAny: synthesised CloudFormation is JSON, read field by field below.
type CfnJson = any;
interface Resource {
  readonly Type: string;
  readonly Properties: CfnJson;
}

const featureFlags = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context;
const allHandlers = Object.values(handlers) as HandlerDescription[];

/** The stack as `cdk synth` builds it, without running esbuild. */
function synth(withKey = false) {
  const app = new App({ context: { ...featureFlags, 'aws:cdk:bundling-stacks': [] } });
  const env = { account: '111122223333', region: 'eu-west-1' };
  const stack = withKey
    ? new WorkflowOffloadStack(app, 'Test', {
        env,
        encryptionKey: new Key(new Stack(app, 'Keys', { env }), 'TableKey'),
      })
    : new WorkflowOffloadStack(app, 'Test');
  const resources: Record<string, Resource> = Template.fromStack(stack).toJSON().Resources;
  const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
  const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as never);
  return { stack, resources, ofType, logicalId };
}

const template = synth();
const { stack, resources, ofType, logicalId } = template;
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

/** Statements of the identity policies attached to a role, actions and resources as arrays. */
function statementsOfRole(roleId: string) {
  return ofType('AWS::IAM::Policy')
    .filter(([, policy]) => policy.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleId))
    .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as CfnJson[])
    .map((statement) => ({
      effect: statement.Effect as string,
      actions: [statement.Action].flat() as string[],
      resources: [statement.Resource].flat() as unknown[],
      condition: statement.Condition as unknown,
    }));
}

const roleOf = (handler: HandlerDescription) => {
  const handlerFunction = stack.functions.get(handler.name);
  if (!handlerFunction) throw new Error(`no function for ${handler.name}`);
  return logicalId(handlerFunction.role);
};

describe('who can call what (docs/security.md: callers)', () => {
  it('has exactly the routes of the description, each with AWS_IAM authorisation, and no catch-all route', () => {
    const routeResources = ofType('AWS::ApiGatewayV2::Route').map(([, route]) => route.Properties);

    expect(routeResources.map((route) => route.RouteKey).sort()).toEqual(
      routes.map((route) => `${route.method} ${route.path}`).sort(),
    );
    expect(routeResources.filter((route) => route.AuthorizationType !== 'AWS_IAM')).toEqual([]);
    expect(routeResources.map((route) => route.RouteKey)).not.toContain('$default');
  });

  it('has no other way in: no CORS, no function URL, no other API or stage, a throttled stage', () => {
    const [[, api] = []] = ofType('AWS::ApiGatewayV2::Api');
    const stages = ofType('AWS::ApiGatewayV2::Stage');

    expect(ofType('AWS::ApiGatewayV2::Api')).toHaveLength(1);
    expect(api?.Properties.CorsConfiguration).toBeUndefined();
    expect(ofType('AWS::Lambda::Url')).toEqual([]);
    expect(ofType('AWS::ApiGateway::RestApi')).toEqual([]);
    expect(stages).toHaveLength(1);
    expect(stages[0]?.[1].Properties.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: expect.any(Number),
      ThrottlingBurstLimit: expect.any(Number),
    });
  });

  it('lets API Gateway invoke a function only from this API, EventBridge only from its rule, nobody else at all', () => {
    const apiId = ofType('AWS::ApiGatewayV2::Api')[0]?.[0] as string;
    const ruleIds = new Set(ofType('AWS::Events::Rule').map(([id]) => id));
    const permissions = ofType('AWS::Lambda::Permission').map(([, permission]) => permission.Properties);

    expect(permissions.length).toBe(routes.length + ruleIds.size);
    for (const permission of permissions) {
      if (permission.Principal === 'apigateway.amazonaws.com') {
        expect(JSON.stringify(permission.SourceArn)).toContain(JSON.stringify({ Ref: apiId }));
      } else {
        expect(permission.Principal).toBe('events.amazonaws.com');
        expect(ruleIds.has(permission.SourceArn['Fn::GetAtt'][0])).toBe(true);
      }
    }
  });

  it('has no resource policy on the event bus: only principals of this account allowed events:PutEvents can send', () => {
    expect(ofType('AWS::Events::EventBusPolicy')).toEqual([]);
  });

  it('lets the scheduler role only invoke the renewer and dead-letter a failed run, and only the scheduler of this account assume it', () => {
    const functionRoles = new Set(allHandlers.map(roleOf));
    const [[roleId, role] = []] = ofType('AWS::IAM::Role').filter(([id]) => !functionRoles.has(id));
    const renewArn = getAtt(logicalId(stack.functions.get(handlers.renew.name)?.function as never));
    const statements = statementsOfRole(roleId as string);

    expect(role?.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
    expect(statements.map((statement) => statement.actions)).toEqual([
      ['lambda:InvokeFunction'],
      ['sqs:SendMessage'],
    ]);
    expect(statements[0]?.resources).toEqual([renewArn, { 'Fn::Join': ['', [renewArn, ':*']] }]);
    expect(statements[1]?.resources).toEqual([getAtt(logicalId(stack.deadLetterQueue))]);
  });
});

describe('least privilege (docs/security.md: roles)', () => {
  const tableArns = () => [
    getAtt(logicalId(stack.table.table)),
    getAtt(logicalId(stack.table.versions)),
    ...['byLease', 'byNamespace'].map((index) => ({
      'Fn::Join': ['', [getAtt(logicalId(stack.table.table)), `/index/${index}`]],
    })),
    { 'Fn::GetAtt': [logicalId(stack.table.table), 'StreamArn'] },
  ];
  const allowedActions = new Set([
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    'xray:PutTelemetryRecords',
    'xray:PutTraceSegments',
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:BatchWriteItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:DescribeStream',
    'dynamodb:GetRecords',
    'dynamodb:GetShardIterator',
    'dynamodb:ListStreams',
    'events:PutEvents',
    'sqs:SendMessage',
    // The stream mapping's on-failure destination: CDK's send grant reads the queue's attributes too.
    'sqs:GetQueueAttributes',
    'sqs:GetQueueUrl',
  ]);

  it('lets every function role be assumed by Lambda only', () => {
    for (const handler of allHandlers) {
      const role = resources[roleOf(handler)];
      expect(role?.Properties.AssumeRolePolicyDocument.Statement, handler.name).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
      expect(role?.Properties.ManagedPolicyArns, handler.name).toBeUndefined();
    }
  });

  it('grants each handler only listed actions, each on named resources; * only for the X-Ray actions that allow nothing else', () => {
    for (const handler of allHandlers) {
      const statements = statementsOfRole(roleOf(handler));
      const logGroup = getAtt(logicalId(stack.functions.get(handler.name)?.logGroup as never));
      for (const statement of statements) {
        expect(statement.effect).toBe('Allow');
        for (const action of statement.actions)
          expect(allowedActions, `${handler.name}: ${action}`).toContain(action);
        if (statement.resources.includes('*')) {
          expect(
            statement.actions.every((action) => action.startsWith('xray:')),
            handler.name,
          ).toBe(true);
        }
        if (statement.actions.some((action) => action.startsWith('logs:'))) {
          expect(statement.resources, handler.name).toEqual([logGroup]);
        }
        if (statement.actions.some((action) => action.startsWith('sqs:'))) {
          expect(statement.resources, handler.name).toEqual([getAtt(logicalId(stack.deadLetterQueue))]);
          if (handler !== handlers.publishChanges)
            expect(statement.actions, handler.name).toEqual(['sqs:SendMessage']);
        }
        if (statement.actions.includes('events:PutEvents')) {
          // Only the change-event handler publishes, and only to the service's bus.
          expect(handler.name).toBe(handlers.publishChanges.name);
          expect(statement.actions).toEqual(['events:PutEvents']);
          expect(statement.resources).toEqual([getAtt(logicalId(stack.events.eventBus as never))]);
        }
        if (
          statement.actions.some((action) =>
            /^dynamodb:(DescribeStream|ListStreams|GetRecords|GetShardIterator)$/.test(action),
          )
        ) {
          expect(handler.name).toBe(handlers.publishChanges.name);
          expect(statement.resources).toEqual([
            { 'Fn::GetAtt': [logicalId(stack.table.table), 'StreamArn'] },
          ]);
        }
        if (statement.actions.some((action) => action.startsWith('dynamodb:'))) {
          for (const resource of statement.resources)
            expect(tableArns(), handler.name).toContainEqual(resource);
        }
      }
    }
  });

  it('gives read-only handlers no action that writes, and DeleteItem, on the records table only, to the two delete handlers', () => {
    const writes = [
      'dynamodb:PutItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    ];
    for (const handler of allHandlers) {
      const statements = statementsOfRole(roleOf(handler));
      const actions = statements.flatMap((statement) => statement.actions);
      if (isReadOnly(handler))
        expect(
          actions.filter((a) => writes.includes(a)),
          handler.name,
        ).toEqual([]);
      const deletes = statements.filter((statement) => statement.actions.includes('dynamodb:DeleteItem'));
      expect(deletes.length, handler.name).toBe(deletesRecords(handler) ? 1 : 0);
      for (const statement of deletes) {
        expect(statement.resources).toEqual([getAtt(logicalId(stack.table.table))]);
      }
    }
  });
});

describe('resource policies and transport (docs/security.md: network)', () => {
  it('allows no wildcard principal anywhere, and denies requests without TLS to the queue and the topic', () => {
    const policies = [...ofType('AWS::SQS::QueuePolicy'), ...ofType('AWS::SNS::TopicPolicy')];
    const statements = policies.flatMap(
      ([, policy]) => policy.Properties.PolicyDocument.Statement as CfnJson[],
    );
    const wildcard = (principal: unknown) => principal === '*' || JSON.stringify(principal) === '{"AWS":"*"}';

    expect(policies).toHaveLength(2);
    for (const statement of statements.filter((s) => wildcard(s.Principal))) {
      expect(statement.Effect).toBe('Deny');
      expect(statement.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
    }
    for (const [, policy] of policies) {
      expect(
        (policy.Properties.PolicyDocument.Statement as CfnJson[]).some(
          (s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
        ),
      ).toBe(true);
    }
    // The queue takes messages only from this stack's rules and schedule.
    for (const statement of statements.filter((s) => s.Effect === 'Allow')) {
      expect(statement.Principal).toEqual({ Service: 'events.amazonaws.com' });
      expect(statement.Condition.ArnEquals['aws:SourceArn']['Fn::GetAtt'][0]).toMatch(/Rule/);
    }
  });
});

describe('encryption at rest (docs/security.md: data)', () => {
  it('encrypts both tables (AWS-owned key by default, the given KMS key otherwise) and the dead-letter queue', () => {
    const withKey = synth(true);
    const keyed = withKey.ofType('AWS::DynamoDB::GlobalTable').map(([, table]) => table.Properties);

    for (const [, table] of ofType('AWS::DynamoDB::GlobalTable')) {
      // DynamoDB always encrypts at rest; SSEEnabled false means with an AWS-owned key.
      expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: false });
    }
    expect(keyed).toHaveLength(2);
    for (const table of keyed) {
      expect(table.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
      expect(table.Replicas[0].SSESpecification.KMSMasterKeyId).toBeDefined();
    }
    expect(ofType('AWS::SQS::Queue')[0]?.[1].Properties.SqsManagedSseEnabled).toBe(true);
  });
});

describe('logging (docs/security.md: what is logged)', () => {
  it('never logs whole events, and logs at INFO unless the operator asks for more', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      const variables = fn.Properties.Environment?.Variables ?? {};
      if (variables.WFO_TABLE_NAME === undefined) continue;
      expect(variables.POWERTOOLS_LOGGER_LOG_EVENT).toBeUndefined();
      expect(variables.LOG_LEVEL).toBe('INFO');
    }
  });
});
