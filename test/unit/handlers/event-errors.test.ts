/**
 * The event handlers' delivery policy under EventBridge's at-least-once
 * delivery: an event that can never succeed is logged and dropped (returned,
 * not thrown), anything retryable or unexpected is thrown so EventBridge
 * retries and then dead-letters it. Only failures are mocked; success paths
 * run against DynamoDB Local in test/integration/handlers.
 */
import type { Context, EventBridgeEvent, ScheduledEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.WFO_TABLE_NAME = 'unit-test-table';
  process.env.DYNAMODB_ENDPOINT = 'http://127.0.0.1:9';
  process.env.AWS_REGION = 'us-east-1';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

import { metricNames } from '#contract/metrics';
import { StoreUnavailableError, VersionMissingError } from '#domain/errors';
import { handler as onNodesUpdated } from '#handlers/on-nodes-updated';
import { handler as onStopRequested } from '#handlers/on-stop-requested';
import { handler as onWorkflowDeleted } from '#handlers/on-workflow-deleted';
import { handler as renewLeases } from '#handlers/renew-leases';
import { logger, metrics } from '#lambda/observability';
import { wiring } from '#lambda/wiring';
import { busEvent } from '#testkit/lambda';

const { documentClient, service } = wiring();

const context = {
  functionName: 'unit-test',
  awsRequestId: 'aws-request-1',
  memoryLimitInMB: '1024',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:unit-test',
  getRemainingTimeInMillis: () => 29_000,
} as Context;

const workflowEvent = (detailType: string, detail: unknown): EventBridgeEvent<string, unknown> =>
  busEvent(detailType, detail, { id: 'event-1' });

const throttled = () =>
  Object.assign(new Error('ThrottlingException: simulated'), { name: 'ThrottlingException', $metadata: {} });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('event handlers, poison events', () => {
  it.each([
    ['Workflow Nodes Updated', onNodesUpdated, { uid: 'wf/1', set: {} }],
    ['Workflow Nodes Updated', onNodesUpdated, { uid: 'wf-1', remove: 'n1' }],
    ['Workflow Stop Requested', onStopRequested, { uid: 'wf-1', strategy: 'Pause' }],
    ['Workflow Deleted', onWorkflowDeleted, {}],
  ])('drops a %s event with an invalid detail %j, without retrying', async (detailType, handler, detail) => {
    const send = vi.spyOn(documentClient, 'send');
    const warned = vi.spyOn(logger, 'warn');

    const outcome = await handler(workflowEvent(detailType, detail), context);

    expect(outcome).toEqual({
      outcome: 'dropped',
      error: { code: 'BadRequest', message: expect.any(String) },
    });
    expect(warned).toHaveBeenCalled();
    expect(send).not.toHaveBeenCalled();
  });

  it('drops an event whose detail is not an object', async () => {
    const outcome = await onStopRequested(workflowEvent('Workflow Stop Requested', 'wf-1'), context);

    expect(outcome).toMatchObject({ outcome: 'dropped' });
  });
});

describe('event handlers, retryable and unexpected failures', () => {
  it('throws on throttling so EventBridge retries', async () => {
    vi.spyOn(documentClient, 'send').mockRejectedValue(throttled());

    const delivery = onNodesUpdated(
      workflowEvent('Workflow Nodes Updated', { uid: 'wf-1', set: { n1: { id: 'n1', phase: 'Running' } } }),
      context,
    );

    await expect(delivery).rejects.toThrow(StoreUnavailableError);
  });

  it('throws on an unexpected error so the event ends in the dead-letter queue', async () => {
    vi.spyOn(service, 'deleteWorkflow').mockRejectedValue(new Error('boom'));

    await expect(
      onWorkflowDeleted(workflowEvent('Workflow Deleted', { uid: 'wf-1' }), context),
    ).rejects.toThrow('boom');
  });

  it('throws on VersionMissing, logs it at error level and counts it', async () => {
    vi.spyOn(service, 'stop').mockRejectedValue(new VersionMissingError('wf-1', 'v1', ['C#1']));
    const logged = vi.spyOn(logger, 'error');
    const counted = vi.spyOn(metrics, 'addMetric');

    const delivery = onStopRequested(
      workflowEvent('Workflow Stop Requested', { uid: 'wf-1', strategy: 'Stop' }),
      context,
    );

    await expect(delivery).rejects.toThrow(VersionMissingError);
    expect(logged).toHaveBeenCalled();
    expect(counted).toHaveBeenCalledWith(metricNames.versionMissing, 'Count', 1);
  });
});

describe('renew-leases', () => {
  const scheduled = {
    'detail-type': 'Scheduled Event',
    source: 'aws.scheduler',
    detail: {},
  } as ScheduledEvent;

  it('throws when the database is throttling, so the scheduler retries', async () => {
    vi.spyOn(documentClient, 'send').mockRejectedValue(throttled());

    await expect(renewLeases(scheduled, context)).rejects.toThrow(StoreUnavailableError);
  });

  it('counts and logs versions it found missing', async () => {
    vi.spyOn(service, 'renew').mockResolvedValue({
      examined: 3,
      renewed: 2,
      versionMissing: 1,
      minRemainingLeaseSeconds: 90_000,
      writeUnits: 2,
    });
    const counted = vi.spyOn(metrics, 'addMetric');
    const logged = vi.spyOn(logger, 'error');

    await renewLeases(scheduled, context);

    expect(counted).toHaveBeenCalledWith(metricNames.renewals, 'Count', 2);
    expect(counted).toHaveBeenCalledWith(metricNames.minRemainingLeaseSeconds, 'Seconds', 90_000);
    expect(counted).toHaveBeenCalledWith(metricNames.versionMissing, 'Count', 1);
    expect(logged).toHaveBeenCalled();
  });
});
