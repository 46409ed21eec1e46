/**
 * What is logged: node contents never reach the logs at the deployed level
 * (INFO), even when a request is rejected with a message that quotes them
 * (a JSON parser's excerpt of the body, a node's id or phase). The caller gets
 * that message in the 400; the log line gets the status and the error code.
 * The real handlers run with their middleware; no request here reaches the
 * database (each is refused first, or the service is stubbed).
 */
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  EventBridgeEvent,
} from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  // The deployed default level; nothing listens on port 9.
  process.env.WFO_TABLE_NAME = 'unit-logging';
  process.env.DYNAMODB_ENDPOINT = 'http://127.0.0.1:9';
  process.env.AWS_REGION = 'us-east-1';
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_TRACE_ENABLED = 'false';
});

import { eventSource } from '#contract/api';
import { handler as onNodesUpdated } from '#handlers/on-nodes-updated';
import { handler as patchNodes } from '#handlers/patch-nodes';
import { handler as putWorkflow } from '#handlers/put-workflow';
import { wiring } from '#lambda/wiring';

const context = {
  functionName: 'unit-logging',
  awsRequestId: 'aws-request-1',
  memoryLimitInMB: '1024',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:unit-logging',
  getRemainingTimeInMillis: () => 29_000,
} as Context;

// Short enough for the JSON parser's excerpt (about ten characters each side of the error) to hold it whole.
const secret = 'SECRET-7f';

function httpEvent(
  method: string,
  body: string,
  pathParameters: Record<string, string>,
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} /v1/workflows/{uid}`,
    rawPath: `/v1/workflows/${pathParameters.uid}`,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    pathParameters,
    requestContext: {
      http: { method, path: '/', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'request-1',
    } as APIGatewayProxyEventV2['requestContext'],
    body,
    isBase64Encoded: false,
  };
}

/** Runs `action` and returns every line it wrote to stdout and stderr. */
async function logsOf<T>(action: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const capture = (chunk: unknown) => {
    lines.push(
      ...String(chunk)
        .split('\n')
        .filter((line) => line.trim() !== ''),
    );
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    return { result: await action(), lines };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

const rejected: [string, typeof putWorkflow | typeof patchNodes, string, string][] = [
  [
    'a body that is not JSON (the parser quotes it)',
    putWorkflow,
    'PUT',
    `{"namespace":"argo","name":"x","nodes":{"a":{"id":"a","token": ${secret}}}}`,
  ],
  [
    'a node whose id disagrees with its key',
    putWorkflow,
    'PUT',
    JSON.stringify({ namespace: 'argo', name: 'x', nodes: { a: { id: secret } } }),
  ],
  [
    'a node with an unknown phase',
    putWorkflow,
    'PUT',
    JSON.stringify({ namespace: 'argo', name: 'x', nodes: { a: { id: 'a', phase: secret } } }),
  ],
  [
    'an invalid node id',
    patchNodes,
    'PATCH',
    JSON.stringify({ set: { [`bad ${secret}`]: { phase: 'Running' } } }),
  ],
  ['an id in remove no node can have', patchNodes, 'PATCH', JSON.stringify({ remove: [`../${secret}`] })],
];

describe('logs at INFO', () => {
  it.each(rejected)('quote no node contents when rejecting %s', async (_label, handler, method, body) => {
    const { result, lines } = await logsOf(
      async () =>
        (await handler(
          httpEvent(method, body, { uid: 'wf-1' }),
          context,
        )) as APIGatewayProxyStructuredResultV2,
    );

    // The caller is told, with the content quoted: that is what must stay out of the logs.
    expect(result.statusCode).toBe(400);
    expect(result.body).toContain(secret);
    expect(lines.some((line) => line.includes('"request rejected"'))).toBe(true);
    expect(lines.filter((line) => line.includes(secret))).toEqual([]);
  });

  it('quote no node contents when dropping an event that can never succeed', async () => {
    const event: EventBridgeEvent<string, unknown> = {
      version: '0',
      id: 'event-1',
      'detail-type': 'Workflow Nodes Updated',
      source: eventSource,
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [],
      detail: { uid: 'wf-1', set: { a: { id: 'a', phase: secret } } },
    };

    const { result, lines } = await logsOf(() => onNodesUpdated(event, context));

    expect(result).toMatchObject({ outcome: 'dropped', error: { code: 'BadRequest' } });
    expect(lines.some((line) => line.includes('dropping an event'))).toBe(true);
    expect(lines.filter((line) => line.includes(secret))).toEqual([]);
  });

  it('log nothing of the nodes of a write that succeeds', async () => {
    const { service } = wiring();
    vi.spyOn(service, 'persist').mockResolvedValue({
      workflow: {
        uid: 'wf-1',
        namespace: 'argo',
        name: 'x',
        phase: 'Running',
        resourceVersion: 1,
        nodeStatusVersion: 'v1',
        nodeCount: 1,
        createdAt: 't',
        updatedAt: 't',
      },
      created: true,
      write: { chunksWritten: 1, chunksReused: 0, bytesWritten: 10, writeUnits: 1 },
      conflicts: 0,
      reapplied: false,
      rawBytes: 10,
      storedBytes: 10,
    });
    const body = JSON.stringify({ namespace: 'argo', name: 'x', nodes: { a: { id: 'a', token: secret } } });

    const { result, lines } = await logsOf(
      async () =>
        (await putWorkflow(
          httpEvent('PUT', body, { uid: 'wf-1' }),
          context,
        )) as APIGatewayProxyStructuredResultV2,
    );

    expect(result.statusCode).toBe(201);
    expect(lines.filter((line) => line.includes(secret))).toEqual([]);
  });
});
