/**
 * Faults injected into a DynamoDB client through its middleware stack, inside
 * the SDK's retry loop (finalizeRequest step, after the retry middleware), so
 * every attempt meets the fault and the SDK's own retry and backoff apply as
 * they would against a throttling DynamoDB.
 */
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * - `throttle`: the attempt fails with ProvisionedThroughputExceededException;
 * - `unprocessed`: a BatchWriteItem / BatchGetItem returns every item or key
 *   unprocessed, as DynamoDB does when a batch is throttled part-way;
 * - `pass`: the attempt goes to DynamoDB.
 */
export type Fault = 'throttle' | 'unprocessed' | 'pass';

export interface Attempt {
  /** Low-level command name, e.g. `PutItemCommand`. */
  readonly command: string;
  /** 1 for the first attempt, as the SDK counts them (`amz-sdk-request: attempt=N`). */
  readonly attempt: number;
  readonly fault: Fault;
}

export interface FaultInjector {
  /** Every attempt seen while installed, in order. */
  readonly attempts: Attempt[];
  /** Decides the fault of each attempt; replace it at any time. */
  decide: (command: string, attempt: number) => Fault;
  remove(): void;
}

let installed = 0;

export function injectFaults(client: DynamoDBDocumentClient): FaultInjector {
  const name = `faultInjection-${++installed}`;
  const injector: FaultInjector = {
    attempts: [],
    decide: () => 'pass',
    remove: () => {
      client.middlewareStack.remove(name);
      client.middlewareStack.remove(`${name}-input`);
    },
  };
  // The document client marshals just before serialising and unmarshals just after
  // deserialising, both inside the retry loop: a made-up response must carry the
  // items in the document form the caller sent, captured here before marshalling.
  const documentInputs = new WeakMap<object, { RequestItems?: unknown }>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      documentInputs.set(context, args.input as { RequestItems?: unknown });
      return next(args);
    },
    { step: 'initialize', name: `${name}-input` },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName);
      const headers = (args.request as { headers?: Record<string, string> } | undefined)?.headers ?? {};
      const attempt = Number(/attempt=(\d+)/.exec(headers['amz-sdk-request'] ?? '')?.[1] ?? 1);
      const fault = injector.decide(command, attempt);
      injector.attempts.push({ command, attempt, fault });
      if (fault === 'throttle') {
        throw new ProvisionedThroughputExceededException({
          message: 'The level of configured provisioned throughput for the table was exceeded (injected)',
          $metadata: { httpStatusCode: 400 },
        });
      }
      const input = documentInputs.get(context) ?? {};
      if (fault === 'unprocessed' && command === 'BatchWriteItemCommand') {
        return { response: {}, output: { $metadata: {}, UnprocessedItems: input.RequestItems } as never };
      }
      if (fault === 'unprocessed' && command === 'BatchGetItemCommand') {
        return {
          response: {},
          output: { $metadata: {}, Responses: {}, UnprocessedKeys: input.RequestItems } as never,
        };
      }
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name },
  );
  return injector;
}
