/**
 * The race's negative control: a store that commits whatever the record
 * holds now instead of the version the writer read, so a stale writer
 * overwrites a newer one. It shows what the compare-and-set is for: with it,
 * the race loses acknowledged updates.
 */
import type { WorkflowRecord, WriteCost } from '#domain/store';
import { DynamoDbStore } from '#store/dynamodb-store';

/** The DynamoDB store with its commit condition defeated: last writer wins. */
export class LastWriterWinsStore extends DynamoDbStore {
  override async commitRecord(
    record: WorkflowRecord,
    _expectedResourceVersion: number | undefined,
  ): Promise<WriteCost | 'conflict'> {
    for (;;) {
      const current = await this.getRecord(record.uid);
      const outcome = await super.commitRecord(record, current?.resourceVersion);
      if (outcome !== 'conflict') return outcome;
    }
  }
}
