import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { type HandlerDescription, handlers, streams } from '#contract/api';
import { metricNames } from '#contract/metrics';
import { changeEventLagMinutes } from '#infrastructure/constructs/monitoring';
import { WorkflowOffloadStack, type WorkflowOffloadStackProps } from '#infrastructure/stack';

// biome-ignore lint/suspicious/noExplicitAny: synthesised CloudFormation is JSON, read field by field below.
type CfnJson = any;

const featureFlags = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context;
const allHandlers = Object.values(handlers) as HandlerDescription[];

function synth(props: WorkflowOffloadStackProps = {}) {
  const app = new App({ context: { ...featureFlags, 'aws:cdk:bundling-stacks': [] } });
  const stack = new WorkflowOffloadStack(app, 'Test', props);
  const template = Template.fromStack(stack);
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
    (alarm): CfnJson => alarm.Properties,
  );
  const topicId = stack.getLogicalId(stack.monitoring.topic.node.defaultChild as never);
  return { stack, template, alarms, topicId };
}

const defaultSynth = synth();

const alarmOnMetric = (alarms: CfnJson[], metricName: string) =>
  alarms.filter((alarm) => alarm.MetricName === metricName);

describe('alarms', () => {
  it('fires on any VersionMissing, in the service namespace and dimension', () => {
    const [alarm, ...others] = alarmOnMetric(defaultSynth.alarms, metricNames.versionMissing);

    expect(others).toEqual([]);
    expect(alarm).toMatchObject({
      Namespace: 'WorkflowOffload',
      Dimensions: [{ Name: 'service', Value: 'workflow-offload' }],
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
    });
  });

  it('fires on any error and any throttle of each handler', () => {
    const errors = alarmOnMetric(defaultSynth.alarms, 'Errors');
    const throttles = alarmOnMetric(defaultSynth.alarms, 'Throttles');

    expect(errors).toHaveLength(allHandlers.length);
    expect(throttles).toHaveLength(allHandlers.length);
    for (const alarm of [...errors, ...throttles]) {
      expect(alarm).toMatchObject({
        Namespace: 'AWS/Lambda',
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: expect.any(String) } }],
      });
    }
    const functionsWatched = new Set(errors.map((alarm) => alarm.Dimensions[0].Value.Ref));
    expect(functionsWatched.size).toBe(allHandlers.length);
  });

  it('fires on DynamoDB throttle events of the table and of each index', () => {
    const [alarm] = defaultSynth.alarms.filter((a) =>
      JSON.stringify(a.Metrics ?? []).includes('WriteThrottleEvents'),
    );

    expect(alarm).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0 });
    const indexNames = alarm.Metrics.flatMap(
      (query: CfnJson) =>
        query.MetricStat?.Metric.Dimensions?.filter((d: CfnJson) => d.Name === 'GlobalSecondaryIndexName') ??
        [],
    ).map((d: CfnJson) => d.Value);
    expect(new Set(indexNames)).toEqual(new Set(['byNamespace', 'byLease']));
  });

  it('fires when the dead-letter queue holds a message', () => {
    const [alarm] = alarmOnMetric(defaultSynth.alarms, 'ApproximateNumberOfMessagesVisible');
    const queueId = defaultSynth.stack.getLogicalId(
      defaultSynth.stack.deadLetterQueue.node.defaultChild as never,
    );

    expect(alarm).toMatchObject({
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('fires when the change-event handler is more than 15 minutes behind the records stream', () => {
    const alarms = alarmOnMetric(defaultSynth.alarms, 'IteratorAge');
    const fnId = defaultSynth.stack.getLogicalId(
      defaultSynth.stack.functions.get(handlers.publishChanges.name)?.function.node.defaultChild as never,
    );
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: changeEventLagMinutes * 60 * 1000,
      EvaluationPeriods: 3,
    });
    expect(alarms[0]?.AlarmDescription).toMatch(/docs\/deploy\.md#change-events-lag/);
  });

  it('fires when the smallest remaining lease falls below R (renewer lag)', () => {
    const [byDefault] = alarmOnMetric(defaultSynth.alarms, metricNames.minRemainingLeaseSeconds);
    const [shortR] = alarmOnMetric(
      synth({ retentionSeconds: 3600 }).alarms,
      metricNames.minRemainingLeaseSeconds,
    );

    expect(byDefault).toMatchObject({
      Statistic: 'Minimum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 172_800,
      // One renewer run (every R / 4 = 12 h) per period.
      Period: 12 * 3600,
    });
    expect(shortR).toMatchObject({ Threshold: 3600, Period: 15 * 60 });
  });

  it('notifies the alarm topic on alarm and on recovery', () => {
    for (const alarm of defaultSynth.alarms) {
      expect(alarm.AlarmActions).toEqual([{ Ref: defaultSynth.topicId }]);
      expect(alarm.OKActions).toEqual([{ Ref: defaultSynth.topicId }]);
    }
    expect(defaultSynth.alarms).toHaveLength(2 * allHandlers.length + 4 + streams.length);
  });

  it('subscribes the alarm email only when one is given', () => {
    defaultSynth.template.resourceCountIs('AWS::SNS::Subscription', 0);

    synth({ alarmEmail: 'oncall@example.com' }).template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
  });

  it('watches the custom metrics in the namespace given', () => {
    const { alarms } = synth({ metricsNamespace: 'OffloadStaging' });

    expect(alarmOnMetric(alarms, metricNames.versionMissing)).toEqual([
      expect.objectContaining({ Namespace: 'OffloadStaging' }),
    ]);
  });
});

describe('dashboard', () => {
  /**
   * The widgets of the dashboard body. The body is a Fn::Join of JSON text and
   * references (function names, the region); references become placeholders.
   */
  const widgets = (): CfnJson[] => {
    const [dashboard] = Object.values(defaultSynth.template.findResources('AWS::CloudWatch::Dashboard'));
    const parts: unknown[] = dashboard?.Properties.DashboardBody['Fn::Join'][1];
    const body = parts.map((part) => (typeof part === 'string' ? part : '<ref>')).join('');
    return JSON.parse(body).widgets;
  };
  /** Each graphed metric as `namespace/name` plus its options, e.g. `{ stat: 'p99' }`. */
  const graphedMetrics = () =>
    widgets()
      .flatMap((widget) => widget.properties.metrics ?? [])
      .filter((metric: unknown[]) => typeof metric[0] === 'string')
      .map((metric: unknown[]) => {
        const options = metric.at(-1);
        const hasOptions = typeof options === 'object';
        return {
          metric: `${metric[0]}/${metric[1]}`,
          dimensions: metric.slice(2, hasOptions ? -1 : undefined),
          options: hasOptions ? (options as Record<string, unknown>) : {},
        };
      });

  it('exists and is exported by name', () => {
    defaultSynth.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(defaultSynth.template.toJSON().Outputs.DashboardName.Value).toEqual({ Ref: expect.any(String) });
  });

  it('graphs every custom metric of the service, in its namespace and service dimension', () => {
    const custom = graphedMetrics().filter((m) => m.metric.startsWith('WorkflowOffload/'));

    for (const metricName of Object.values(metricNames)) {
      expect(custom, metricName).toContainEqual(
        expect.objectContaining({
          metric: `WorkflowOffload/${metricName}`,
          dimensions: ['service', 'workflow-offload'],
        }),
      );
    }
  });

  it('graphs latency as p50 and p99 per operation', () => {
    const metrics = graphedMetrics();

    for (const metricName of ['PersistLatency', 'PatchLatency', 'HydrateLatency', 'StopLatency']) {
      for (const stat of ['p50', 'p99']) {
        expect(metrics, `${metricName} ${stat}`).toContainEqual(
          expect.objectContaining({
            metric: `WorkflowOffload/${metricName}`,
            options: expect.objectContaining({ stat }),
          }),
        );
      }
    }
  });

  it('graphs Lambda errors and throttles per handler, DynamoDB throttles and the dead-letter queue depth', () => {
    const metrics = graphedMetrics().map((m) => m.metric);
    const count = (metric: string) => metrics.filter((m) => m === metric).length;

    expect(count('AWS/Lambda/Errors')).toBe(allHandlers.length);
    expect(count('AWS/Lambda/Throttles')).toBe(allHandlers.length);
    expect(metrics).toEqual(
      expect.arrayContaining([
        'AWS/DynamoDB/ThrottledRequests',
        'AWS/DynamoDB/ReadThrottleEvents',
        'AWS/DynamoDB/WriteThrottleEvents',
        'AWS/SQS/ApproximateNumberOfMessagesVisible',
      ]),
    );
  });
});
