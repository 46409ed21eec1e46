import { Duration } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Operation, type TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { streams } from '#contract/api';
import {
  latencyMetricNames,
  type MetricName,
  metricNames,
  serviceDimension,
  serviceName,
} from '#contract/metrics';
import { table as tableDescription } from '#contract/tables';
import { acknowledgeNagFinding } from '#infrastructure/constructs/nag';

/** How far behind its stream the change-event handler may fall before the alarm fires. */
export const changeEventLagMinutes = 15;

export interface MonitoringProps {
  readonly metricsNamespace: string;
  /** R: the renewer-lag alarm fires when a current version's lease falls below it. */
  readonly retentionSeconds: number;
  /** How often the renewer runs; the renewer-lag alarm looks at one run per period. */
  readonly renewInterval: Duration;
  /** Every handler's function, by handler name. */
  readonly functions: ReadonlyMap<string, IFunction>;
  readonly table: TableV2;
  readonly versionsTable: TableV2;
  readonly deadLetterQueue: IQueue;
  readonly api: HttpApi;
  readonly alarmEmail?: string;
}

/** Period of the near-real-time alarms and graphs. */
const period = Duration.minutes(5);

/** Table-plus-GSI throttle events: the GSIs throttle table writes too. */
const throttleEventMetricNames = ['ReadThrottleEvents', 'WriteThrottleEvents'] as const;

/**
 * Dashboard and alarms (docs/deploy.md has a runbook per alarm). The custom metrics come from
 * `contract/metrics.ts`, the module the handlers emit them with; alarms notify
 * one SNS topic (optionally an email address). What each alarm means and
 * what to do is in docs/deploy.md.
 */
export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];
  private readonly props: MonitoringProps;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.props = props;

    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: 'workflow-offload alarms',
      enforceSSL: true,
    });
    if (props.alarmEmail) {
      const subscription = this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
      acknowledgeNagFinding(
        subscription,
        'Serverless-SNSRedrivePolicy',
        'An email subscription only carries alarm notifications, which SNS retries by its delivery policy; a notification that still fails is not lost information, since the alarm state stays visible in CloudWatch.',
      );
    }

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(6) });
    this.addDashboardWidgets();
    this.addAlarms();
  }

  /** A custom metric of the service (namespace prop, `service` dimension). */
  private custom(metricName: MetricName, statistic: string, label?: string): Metric {
    return new Metric({
      namespace: this.props.metricsNamespace,
      metricName,
      dimensionsMap: { [serviceDimension]: serviceName },
      statistic,
      period,
      // No default label: an alarm on a labelled metric renders as a metric-math query.
      label,
    });
  }

  private get functionEntries(): [string, IFunction][] {
    return [...this.props.functions.entries()];
  }

  private throttleEventMetrics(): Metric[] {
    const { table, versionsTable } = this.props;
    const indexNames = Object.values(tableDescription.indexes).map((index) => index.indexName);
    return throttleEventMetricNames.flatMap((metricName) => [
      table.metric(metricName, { statistic: 'Sum', period, label: `${metricName} (records)` }),
      versionsTable.metric(metricName, { statistic: 'Sum', period, label: `${metricName} (versions)` }),
      ...indexNames.map((indexName) =>
        table.metric(metricName, {
          statistic: 'Sum',
          period,
          label: `${metricName} (${indexName})`,
          dimensionsMap: { TableName: table.tableName, GlobalSecondaryIndexName: indexName },
        }),
      ),
    ]);
  }

  private addDashboardWidgets(): void {
    const { table, versionsTable, deadLetterQueue, api } = this.props;
    const graph = (title: string, left: IMetric[], right: IMetric[] = [], width = 8) =>
      new GraphWidget({ title, left, right, width, height: 6 });

    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# workflow-offload\nLatency per operation, write efficiency, lease health, errors and dead letters. ' +
          'Alarms and what to do about them: `docs/deploy.md`.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      ...latencyMetricNames.map((metricName) =>
        graph(
          `${metricName.replace('Latency', '')} latency (ms)`,
          [this.custom(metricName, 'p50', 'p50'), this.custom(metricName, 'p99', 'p99')],
          [],
          6,
        ),
      ),
    );
    this.dashboard.addWidgets(
      graph('Commit retries, 409 conflicts and re-applies', [
        this.custom(metricNames.commitRetries, 'Sum'),
        this.custom(metricNames.conflictResponses, 'Sum'),
        this.custom(metricNames.reapplies, 'Sum'),
      ]),
      graph('Bytes written: raw vs stored', [
        this.custom(metricNames.rawBytes, 'Sum'),
        this.custom(metricNames.storedBytes, 'Sum'),
      ]),
      graph('Chunks written vs reused', [
        this.custom(metricNames.chunksWritten, 'Sum'),
        this.custom(metricNames.chunksReused, 'Sum'),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Change events published, and those without their nodes', [
        this.custom(metricNames.changeEventsPublished, 'Sum'),
        this.custom(metricNames.changeEventsWithoutNodes, 'Sum'),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Write units', [this.custom(metricNames.writeUnits, 'Sum')]),
      graph('VersionMissing (must stay 0)', [this.custom(metricNames.versionMissing, 'Sum')]),
      new GraphWidget({
        title: 'Renewals and minimum remaining lease',
        left: [this.custom(metricNames.renewals, 'Sum')],
        right: [this.custom(metricNames.minRemainingLeaseSeconds, 'Minimum')],
        rightAnnotations: [{ value: this.props.retentionSeconds, label: 'R (alarm below)' }],
        width: 8,
        height: 6,
      }),
    );
    this.dashboard.addWidgets(
      graph(
        'Lambda errors',
        this.functionEntries.map(([name, fn]) => fn.metricErrors({ period, label: name })),
      ),
      graph(
        'Lambda throttles',
        this.functionEntries.map(([name, fn]) => fn.metricThrottles({ period, label: name })),
      ),
      graph(
        'Lambda duration p99 (ms)',
        this.functionEntries.map(([name, fn]) =>
          fn.metricDuration({ period, statistic: 'p99', label: name }),
        ),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'DynamoDB throttled requests',
        [
          table.metricThrottledRequestsForOperations({
            operations: [
              Operation.GET_ITEM,
              Operation.BATCH_GET_ITEM,
              Operation.QUERY,
              Operation.PUT_ITEM,
              Operation.BATCH_WRITE_ITEM,
              Operation.UPDATE_ITEM,
              Operation.DELETE_ITEM,
            ],
            period,
            label: 'ThrottledRequests (all operations)',
          }),
        ],
        this.throttleEventMetrics(),
      ),
      graph('DynamoDB consumed capacity', [
        table.metricConsumedReadCapacityUnits({ period, statistic: 'Sum', label: 'Read units (records)' }),
        table.metricConsumedWriteCapacityUnits({ period, statistic: 'Sum', label: 'Write units (records)' }),
        versionsTable.metricConsumedReadCapacityUnits({
          period,
          statistic: 'Sum',
          label: 'Read units (versions)',
        }),
        versionsTable.metricConsumedWriteCapacityUnits({
          period,
          statistic: 'Sum',
          label: 'Write units (versions)',
        }),
      ]),
      graph('Dead-letter queue depth', [
        deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'HTTP API requests and errors',
        [api.metricCount({ period }), api.metricClientError({ period }), api.metricServerError({ period })],
        [],
        12,
      ),
      graph(
        'HTTP API latency (ms)',
        [
          api.metricLatency({ period, statistic: 'p99' }),
          api.metricIntegrationLatency({ period, statistic: 'p99' }),
        ],
        [],
        12,
      ),
    );
  }

  private alarm(id: string, props: ConstructorParameters<typeof Alarm>[2]): Alarm {
    const alarm = new Alarm(this, id, props);
    alarm.addAlarmAction(new SnsAction(this.topic));
    alarm.addOkAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }

  private addAlarms(): void {
    const { retentionSeconds, renewInterval, deadLetterQueue } = this.props;

    this.alarm('VersionMissingAlarm', {
      alarmDescription:
        'A reader followed a version pointer to an item that no longer exists: node status was lost. ' +
        'See docs/deploy.md#versionmissing.',
      metric: this.custom(metricNames.versionMissing, 'Sum'),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    for (const [name, fn] of this.functionEntries) {
      this.alarm(`${name}ErrorsAlarm`, {
        alarmDescription: `The ${name} handler failed (unhandled error or timeout). See docs/deploy.md#handler-errors.`,
        metric: fn.metricErrors({ period, statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      this.alarm(`${name}ThrottlesAlarm`, {
        alarmDescription: `Lambda throttled the ${name} handler. See docs/deploy.md#lambda-throttles.`,
        metric: fn.metricThrottles({ period, statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }

    const throttleEvents = this.throttleEventMetrics();
    this.alarm('TableThrottlesAlarm', {
      alarmDescription:
        'DynamoDB throttled reads or writes on the table or an index. See docs/deploy.md#dynamodb-throttles.',
      metric: new MathExpression({
        expression: throttleEvents.map((_, index) => `FILL(e${index}, 0)`).join(' + '),
        usingMetrics: Object.fromEntries(throttleEvents.map((metric, index) => [`e${index}`, metric])),
        period,
        label: 'Throttle events (table and indexes)',
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.alarm('DeadLetterQueueAlarm', {
      alarmDescription:
        'Events or scheduled runs could not be processed and are waiting in the dead-letter queue. ' +
        'See docs/deploy.md#dead-letter-queue.',
      metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // Change events are late when the stream handler falls behind (or keeps
    // failing on a record, which holds its shard until the retries run out).
    for (const stream of streams) {
      const fn = this.props.functions.get(stream.handler.name);
      if (!fn) continue;
      this.alarm(`${stream.handler.name}IteratorAgeAlarm`, {
        alarmDescription:
          `The ${stream.handler.name} handler is more than ${changeEventLagMinutes} minutes behind the ${stream.table} table's stream: ` +
          'change events are late. See docs/deploy.md#change-events-lag.',
        metric: fn.metric('IteratorAge', { period, statistic: 'Maximum' }),
        threshold: changeEventLagMinutes * 60 * 1000,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }

    // The renewer reports once per run, so one run per period; a day at most
    // (the longest alarm period), five minutes at least.
    const renewPeriodMinutes = Math.min(24 * 60, Math.max(5, renewInterval.toMinutes()));
    this.alarm('RenewerLagAlarm', {
      alarmDescription:
        `The smallest remaining lease of a current version fell below R (${retentionSeconds} s): ` +
        'the renewer is behind and superseded data may expire too early. See docs/deploy.md#renewer-lag.',
      metric: new Metric({
        namespace: this.props.metricsNamespace,
        metricName: metricNames.minRemainingLeaseSeconds,
        dimensionsMap: { [serviceDimension]: serviceName },
        statistic: 'Minimum',
        period: Duration.minutes(renewPeriodMinutes),
      }),
      threshold: retentionSeconds,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
