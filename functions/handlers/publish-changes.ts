/**
 * The records table's stream: every change of a workflow record (a commit,
 * a stop, a re-apply, a delete) becomes one `Workflow Nodes Changed` event
 * on the bus, with the per-node changes between the versions before and
 * after (read as a diff reads them: only the chunks that differ). A lease
 * renewal changes the record but no resourceVersion, and is skipped.
 *
 * At-least-once: a record delivered again gives the same event with the same
 * `id`. A record whose event cannot be described or published yet is
 * reported in `batchItemFailures`, and the stream delivers it (and what
 * follows it on its shard) again; after the retries, the event source
 * mapping sends it to the dead-letter queue. A record that is not a
 * workflow record's is logged and skipped: it can never succeed.
 */
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { changeEvent } from '#contract/api';
import { nodePageBytes } from '#contract/limits';
import { metricNames } from '#contract/metrics';
import { ChangeDescriber, isPublishable, type WorkflowChangeEvent } from '#domain/change-events';
import { ValidationError } from '#domain/errors';
import { type ChangePublisher, createPublisher } from '#lambda/event-publisher';
import { streamHandler } from '#lambda/middleware';
import { addMetric, logger } from '#lambda/observability';
import { recordChangeOf } from '#lambda/record-stream';
import { type Wiring, wiring } from '#lambda/wiring';

/** Events put on the bus in one call at most. */
const publishBatch = 10;

export const makePublishChanges = (
  { service, config }: Wiring,
  publisher: ChangePublisher = createPublisher(config),
) => {
  const describer = new ChangeDescriber(service, changeEvent.maxDetailBytes, nodePageBytes);
  return streamHandler(async (event): Promise<DynamoDBBatchResponse> => {
    const pending: { record: DynamoDBRecord; event: WorkflowChangeEvent }[] = [];
    const flush = async (): Promise<string | undefined> => {
      if (pending.length === 0) return undefined;
      try {
        await publisher.publish(pending.map((entry) => entry.event));
      } catch (error) {
        logger.warn('could not publish change events; the stream delivers them again', {
          error: (error as Error).message,
        });
        return pending[0]?.record.dynamodb?.SequenceNumber;
      }
      addMetric(metricNames.changeEventsPublished, pending.length);
      const withoutNodes = pending.filter((entry) => entry.event.nodesOmitted).length;
      if (withoutNodes > 0) addMetric(metricNames.changeEventsWithoutNodes, withoutNodes);
      pending.length = 0;
      return undefined;
    };
    const failedAt = (sequenceNumber: string | undefined): DynamoDBBatchResponse => ({
      batchItemFailures: sequenceNumber === undefined ? [] : [{ itemIdentifier: sequenceNumber }],
    });

    for (const record of event.Records) {
      let change: ReturnType<typeof recordChangeOf>;
      try {
        change = recordChangeOf(record);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        logger.error('skipping a stream record that is not a workflow record', {
          eventId: record.eventID,
          reason: error.message,
        });
        continue;
      }
      if (!isPublishable(change)) continue;
      try {
        pending.push({ record, event: await describer.describe(change) });
      } catch (error) {
        logger.warn('could not describe a change yet; the stream delivers it again', {
          eventId: record.eventID,
          error: (error as Error).message,
        });
        const failed = await flush();
        return failedAt(failed ?? record.dynamodb?.SequenceNumber);
      }
      if (pending.length === publishBatch) {
        const failed = await flush();
        if (failed !== undefined) return failedAt(failed);
      }
    }
    return failedAt(await flush());
  });
};

export const handler = makePublishChanges(wiring());
