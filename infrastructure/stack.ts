import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import { type IFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  eventRules,
  eventSource,
  type HandlerDescription,
  handlers,
  parseAcceptedEventSources,
  routes,
  schedules,
  streams,
} from '#contract/api';
import { defaultMetricsNamespace } from '#contract/metrics';
import { HandlerFunction } from '#infrastructure/constructs/handler-function';
import { OffloadHttpApi } from '#infrastructure/constructs/http-api';
import { Monitoring } from '#infrastructure/constructs/monitoring';
import { acknowledgeNagFinding } from '#infrastructure/constructs/nag';
import { OffloadTable } from '#infrastructure/constructs/offload-table';
import { RenewSchedule } from '#infrastructure/constructs/renew-schedule';
import { WorkflowEvents } from '#infrastructure/constructs/workflow-events';
import { settingsOf } from '#infrastructure/handler-settings';

/** R, the retention of superseded versions (design invariant 3): 48 hours. */
export const defaultRetentionSeconds = 172_800;

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface WorkflowOffloadStackProps extends StackProps {
  /** R in seconds: how long a superseded version stays readable. @default 172800 (48 h) */
  readonly retentionSeconds?: number;
  /** Subscribe this address to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;
  /** Retention of the handler and access log groups. @default one month */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the table (and the log groups) when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /** DynamoDB deletion protection; turn off only for throwaway test stacks. @default true */
  readonly deletionProtection?: boolean;
  /** Customer-managed KMS key for the table. @default an AWS-owned key */
  readonly encryptionKey?: IKey;
  /** ARN of an existing customer-managed key, when not passing `encryptionKey`. */
  readonly encryptionKeyArn?: string;
  /** Route events from this existing bus instead of creating one. @default a new bus */
  readonly existingEventBusName?: string;
  /**
   * The event `source`s the rules accept. Any sender can set any `source`;
   * who may put events on the bus (its resource policy and the senders' IAM
   * policies) is the access boundary. Narrow the sources on a shared bus.
   * @default any source
   */
  readonly acceptedEventSources?: readonly string[];
  /** CloudWatch namespace of the custom metrics. @default 'WorkflowOffload' */
  readonly metricsNamespace?: string;
  /** Powertools log level of the handlers. @default 'INFO' */
  readonly logLevel?: LogLevel;
}

/**
 * The whole service: the tables, one function per handler,
 * the IAM-authorised HTTP API, the event bus and rules, the renew schedule,
 * one dead-letter queue, and the dashboard and alarms. Routes, rules,
 * schedules and the table come from `description.ts`, the same module the
 * local runtime reads.
 */
export class WorkflowOffloadStack extends Stack {
  readonly table: OffloadTable;
  readonly functions: ReadonlyMap<string, HandlerFunction>;
  readonly deadLetterQueue: Queue;
  readonly httpApi: OffloadHttpApi;
  readonly events: WorkflowEvents;
  readonly renewSchedules: RenewSchedule[];
  readonly monitoring: Monitoring;
  readonly retentionSeconds: number;

  constructor(scope: Construct, id: string, props: WorkflowOffloadStackProps = {}) {
    super(scope, id, props);

    const retentionSeconds = props.retentionSeconds ?? defaultRetentionSeconds;
    if (!Number.isInteger(retentionSeconds) || retentionSeconds < 60) {
      throw new Error(
        `retentionSeconds must be a whole number of seconds, at least 60; got ${retentionSeconds}`,
      );
    }
    this.retentionSeconds = retentionSeconds;
    const tableRemovalPolicy = props.tableRemovalPolicy ?? RemovalPolicy.RETAIN;
    // Logs follow the table: kept with a kept table, removed with a throwaway one.
    const logRemovalPolicy =
      tableRemovalPolicy === RemovalPolicy.DESTROY ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const metricsNamespace = props.metricsNamespace ?? defaultMetricsNamespace;

    this.table = new OffloadTable(this, 'Storage', {
      removalPolicy: tableRemovalPolicy,
      deletionProtection: props.deletionProtection ?? true,
      encryptionKey:
        props.encryptionKey ??
        (props.encryptionKeyArn ? Key.fromKeyArn(this, 'TableKey', props.encryptionKeyArn) : undefined),
    });

    // One queue for everything that could not be processed asynchronously:
    // undeliverable events (EventBridge), events a handler kept failing on
    // (Lambda's async retries), undeliverable renew runs (Scheduler), and
    // stream records the change-event handler kept failing on.
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      enforceSSL: true,
      encryption: QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeNagFinding(
      this.deadLetterQueue,
      'Serverless-SQSRedrivePolicy',
      'This queue is itself the dead-letter queue of the event rules, the asynchronously invoked handlers and the renew schedule; nothing consumes it automatically, an operator inspects and redrives its messages, so it needs no dead-letter queue of its own.',
    );

    const asyncHandlers = new Set<HandlerDescription>([
      ...eventRules.map((rule) => rule.handler),
      ...schedules.map((schedule) => schedule.handler),
    ]);
    const functions = new Map<string, HandlerFunction>();
    for (const handler of Object.values(handlers) as HandlerDescription[]) {
      const handlerFunction = new HandlerFunction(this, handler.name, {
        handler,
        tableName: this.table.table.tableName,
        versionsTableName: this.table.versions.tableName,
        retentionSeconds,
        metricsNamespace,
        logLevel: props.logLevel ?? 'INFO',
        logRetention,
        logRemovalPolicy,
        deadLetterQueue: asyncHandlers.has(handler) ? this.deadLetterQueue : undefined,
      });
      this.table.grantAccess(handlerFunction.function, settingsOf(handler).table);
      functions.set(handler.name, handlerFunction);
    }
    this.functions = functions;
    const lambdaByName = new Map<string, IFunction>(
      [...functions].map(([name, handlerFunction]) => [name, handlerFunction.function]),
    );

    this.httpApi = new OffloadHttpApi(this, 'Http', {
      routes,
      functions: lambdaByName,
      logRetention,
      logRemovalPolicy,
    });

    if (props.acceptedEventSources !== undefined) {
      // Same rules as the local runtime's WFO_ACCEPTED_EVENT_SOURCES; an empty list would match nothing.
      parseAcceptedEventSources(props.acceptedEventSources.join(','));
      if (props.acceptedEventSources.length === 0)
        throw new Error('acceptedEventSources is empty: leave it undefined to accept any source');
    }
    this.events = new WorkflowEvents(this, 'Events', {
      acceptedSources: props.acceptedEventSources,
      rules: eventRules,
      functions: lambdaByName,
      deadLetterQueue: this.deadLetterQueue,
      existingEventBusName: props.existingEventBusName,
    });

    // Change events: the records table's stream into its handler, which puts them on the bus.
    for (const handler of Object.values(handlers) as HandlerDescription[]) {
      const handlerFunction = functions.get(handler.name) as HandlerFunction;
      const handlerSettings = settingsOf(handler);
      if (handlerSettings.publishesEvents) {
        handlerFunction.function.addEnvironment('WFO_EVENT_BUS_NAME', this.events.eventBus.eventBusName);
        this.events.eventBus.grantPutEventsTo(handlerFunction.function);
      }
      if (handlerSettings.readsStream) this.table.grantStreamRead(handlerFunction.function);
      const stream = streams.find((candidate) => candidate.handler === handler);
      if (stream) {
        // A mapping of its own rather than DynamoEventSource, whose grant would
        // add key use outside DynamoDB; the stream grant above is the exact one.
        handlerFunction.function.addEventSourceMapping('RecordsStream', {
          eventSourceArn: this.table.table.tableStreamArn as string,
          startingPosition: StartingPosition.TRIM_HORIZON,
          batchSize: stream.batchSize,
          // Records of one workflow stay in order: one batch per shard at a time.
          parallelizationFactor: 1,
          reportBatchItemFailures: true,
          bisectBatchOnError: true,
          retryAttempts: stream.retryAttempts,
          maxRecordAge: Duration.days(1),
          onFailure: new SqsDlq(this.deadLetterQueue),
        });
      }
    }

    this.renewSchedules = schedules.map((schedule) => {
      const fn = lambdaByName.get(schedule.handler.name);
      if (!fn) throw new Error(`no function for scheduled handler '${schedule.handler.name}'`);
      return new RenewSchedule(this, schedule.name, {
        schedule,
        function: fn,
        retentionSeconds,
        deadLetterQueue: this.deadLetterQueue,
      });
    });
    const renewSchedule = this.renewSchedules.find(
      (schedule) => schedule.description.handler === handlers.renew,
    );

    this.monitoring = new Monitoring(this, 'Monitoring', {
      metricsNamespace,
      retentionSeconds,
      renewInterval: renewSchedule?.interval ?? Duration.seconds(retentionSeconds / 4),
      functions: lambdaByName,
      table: this.table.table,
      versionsTable: this.table.versions,
      deadLetterQueue: this.deadLetterQueue,
      api: this.httpApi.api,
      alarmEmail: props.alarmEmail,
    });

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the HTTP API (requests must be SigV4-signed for execute-api)',
      value: this.httpApi.url,
    });
    new CfnOutput(this, 'EventBusName', {
      description:
        props.acceptedEventSources === undefined
          ? `Bus to put workflow events on (any source; '${eventSource}' if the sender has no name of its own)`
          : `Bus to put workflow events on (source ${props.acceptedEventSources.join(' or ')})`,
      value: this.events.eventBus.eventBusName,
    });
    new CfnOutput(this, 'TableName', { value: this.table.table.tableName });
    new CfnOutput(this, 'VersionsTableName', { value: this.table.versions.tableName });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'RenewFunctionName', {
      description: 'The lease renewer, for a manual run (aws lambda invoke)',
      value: lambdaByName.get(handlers.renew.name)?.functionName ?? '',
    });
  }
}
