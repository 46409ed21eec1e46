/**
 * The records table's stream, as Lambda delivers it: each stream record
 * becomes the workflow record before and after the change. Images arrive as
 * DynamoDB JSON; the inline copy of a small version (binary) is not needed
 * to describe a change and is left out.
 */
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, AttributeValue as StreamAttributeValue } from 'aws-lambda';
import type { RecordChange } from '#domain/change-events';
import { ValidationError } from '#domain/errors';
import { toRecord } from '#store/items';

type Image = Record<string, StreamAttributeValue>;

function recordOf(image: Image | undefined) {
  if (image === undefined) return undefined;
  const { inline: _inline, ...rest } = image;
  return toRecord(unmarshall(rest as Parameters<typeof unmarshall>[0]));
}

/** The change one stream record carries; a record that is not a workflow record's is a ValidationError. */
export function recordChangeOf(record: DynamoDBRecord): RecordChange {
  const data = record.dynamodb;
  if (!data) throw new ValidationError('stream record without its dynamodb part');
  const before = recordOf(data.OldImage as Image | undefined);
  const after = recordOf(data.NewImage as Image | undefined);
  for (const image of [before, after]) {
    if (image && (typeof image.uid !== 'string' || typeof image.nodeStatusVersion !== 'string')) {
      throw new ValidationError('stream record of an item that is not a workflow record');
    }
  }
  if (record.eventName === 'REMOVE') return before ? { before } : {};
  return { ...(before ? { before } : {}), ...(after ? { after } : {}) };
}
