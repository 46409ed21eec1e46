/**
 * Puts the change events on the bus with EventBridge `PutEvents`: at most
 * ten entries and 256 KB per call, as EventBridge takes them. An entry
 * EventBridge did not accept fails the whole call with a retryable error, so
 * the stream delivers the record again (a subscriber may then see an event
 * twice, and drops the duplicate by its `id`).
 *
 * `npm start` points the client at itself (`WFO_EVENTS_ENDPOINT`): the same
 * code, the same wire format.
 */
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { changeEvent } from '#contract/api';
import type { WorkflowChangeEvent } from '#domain/change-events';
import { localEndpoint } from '#store/clients';
import type { Config } from './config.ts';

export interface ChangePublisher {
  publish(events: readonly WorkflowChangeEvent[]): Promise<void>;
}

/** EventBridge's bounds on one PutEvents call. */
const maxEntriesPerCall = 10;
const maxBytesPerCall = 256 * 1024;

/** How EventBridge sizes an entry: its source, detail-type, detail and resources, in UTF-8. */
export const entrySize = (entry: PutEventsRequestEntry): number =>
  [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])].reduce(
    (sum, text) => sum + (text === undefined ? 0 : Buffer.byteLength(text, 'utf8')),
    0,
  );

/** The entries in calls that EventBridge accepts, in order. */
export function batchesOf(entries: readonly PutEventsRequestEntry[]): PutEventsRequestEntry[][] {
  const batches: PutEventsRequestEntry[][] = [];
  let current: PutEventsRequestEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entrySize(entry);
    if (current.length > 0 && (current.length === maxEntriesPerCall || bytes + size > maxBytesPerCall)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** A failed delivery to the bus: the stream record is retried. */
export class PublishError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PublishError';
  }
}

export class EventBridgePublisher implements ChangePublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async publish(events: readonly WorkflowChangeEvent[]): Promise<void> {
    const entries = events.map(
      (event): PutEventsRequestEntry => ({
        EventBusName: this.eventBusName,
        Source: changeEvent.source,
        DetailType: changeEvent.detailType,
        Detail: JSON.stringify(event),
        Resources: [],
        Time: new Date(event.updatedAt),
      }),
    );
    for (const batch of batchesOf(entries)) {
      let response: PutEventsCommandOutput;
      try {
        response = await this.client.send(new PutEventsCommand({ Entries: batch }));
      } catch (error) {
        throw new PublishError(`the event bus did not take the change events: ${(error as Error).message}`, {
          cause: error,
        });
      }
      if ((response.FailedEntryCount ?? 0) > 0) {
        const failed = (response.Entries ?? []).find((entry) => entry.ErrorCode);
        throw new PublishError(
          `the event bus refused ${response.FailedEntryCount} of ${batch.length} change events (${failed?.ErrorCode}: ${failed?.ErrorMessage})`,
        );
      }
    }
  }
}

/** The publisher a Lambda process uses, on the bus and endpoint the configuration names. */
export function createPublisher(config: Config): ChangePublisher {
  const client = new EventBridgeClient({
    region: config.AWS_REGION,
    maxAttempts: 3,
    ...localEndpoint(config.WFO_EVENTS_ENDPOINT),
  });
  return new EventBridgePublisher(client, config.WFO_EVENT_BUS_NAME);
}
