import { App, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { parseAcceptedEventSources } from '#contract/api';
import { applyNagPacks } from '#infrastructure/constructs/nag';
import { type LogLevel, WorkflowOffloadStack, type WorkflowOffloadStackProps } from '#infrastructure/stack';

/**
 * The CDK app (`npx cdk synth|deploy`). Every prop can be given as context
 * (`-c retentionSeconds=3600`) or as an environment variable
 * (`WFO_RETENTION_SECONDS=3600`); context wins. See docs/deploy.md.
 */

/** Context key -> environment variable. */
const settings = {
  stackName: 'WFO_STACK_NAME',
  retentionSeconds: 'WFO_RETENTION_SECONDS',
  alarmEmail: 'WFO_ALARM_EMAIL',
  logRetentionDays: 'WFO_LOG_RETENTION_DAYS',
  tableRemovalPolicy: 'WFO_TABLE_REMOVAL_POLICY',
  deletionProtection: 'WFO_DELETION_PROTECTION',
  encryptionKeyArn: 'WFO_ENCRYPTION_KEY_ARN',
  existingEventBusName: 'WFO_EVENT_BUS_NAME',
  acceptedEventSources: 'WFO_ACCEPTED_EVENT_SOURCES',
  metricsNamespace: 'WFO_METRICS_NAMESPACE',
  logLevel: 'WFO_LOG_LEVEL',
} as const;

type Setting = keyof typeof settings;

function setting(scope: Construct, name: Setting): string | undefined {
  const fromContext: unknown = scope.node.tryGetContext(name);
  const value = fromContext === undefined ? process.env[settings[name]] : String(fromContext);
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function invalid(name: Setting, value: string, expected: string): never {
  throw new Error(`invalid ${name} (context) / ${settings[name]} (env) '${value}': expected ${expected}`);
}

function integerSetting(scope: Construct, name: Setting): number | undefined {
  const value = setting(scope, name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) invalid(name, value, 'a whole number');
  return Number(value);
}

function booleanSetting(scope: Construct, name: Setting): boolean | undefined {
  const value = setting(scope, name);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') invalid(name, value, "'true' or 'false'");
  return value === 'true';
}

function oneOf<T extends string>(scope: Construct, name: Setting, allowed: readonly T[]): T | undefined {
  const value = setting(scope, name);
  if (value === undefined) return undefined;
  const match = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
  return match ?? invalid(name, value, `one of ${allowed.join(', ')}`);
}

function logRetention(scope: Construct): RetentionDays | undefined {
  const days = integerSetting(scope, 'logRetentionDays');
  if (days === undefined) return undefined;
  const allowed = Object.values(RetentionDays).filter(
    (value): value is RetentionDays => typeof value === 'number',
  );
  return allowed.includes(days)
    ? days
    : invalid('logRetentionDays', String(days), `one of ${allowed.join(', ')}`);
}

/** The stack props from context and environment, validated. */
export function stackPropsFromSettings(scope: Construct): WorkflowOffloadStackProps {
  const removalPolicies = Object.values(RemovalPolicy);
  return {
    retentionSeconds: integerSetting(scope, 'retentionSeconds'),
    alarmEmail: setting(scope, 'alarmEmail'),
    logRetention: logRetention(scope),
    tableRemovalPolicy: oneOf(scope, 'tableRemovalPolicy', removalPolicies) as RemovalPolicy | undefined,
    deletionProtection: booleanSetting(scope, 'deletionProtection'),
    encryptionKeyArn: setting(scope, 'encryptionKeyArn'),
    existingEventBusName: setting(scope, 'existingEventBusName'),
    acceptedEventSources: parseAcceptedEventSources(setting(scope, 'acceptedEventSources')),
    metricsNamespace: setting(scope, 'metricsNamespace'),
    logLevel: oneOf<LogLevel>(scope, 'logLevel', ['DEBUG', 'INFO', 'WARN', 'ERROR']),
  };
}

const app = new App();
const stackName = setting(app, 'stackName') ?? 'WorkflowOffload';
new WorkflowOffloadStack(app, stackName, {
  ...stackPropsFromSettings(app),
  description: 'workflow-offload: versioned node-status storage for large workflows (Lambda, DynamoDB)',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
applyNagPacks(app);
