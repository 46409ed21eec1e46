/**
 * The deployable artefacts, for real: synthesise the stack with esbuild
 * bundling (as `cdk synth` does), then load every bundled handler in a fresh
 * Node process and invoke it with a realistic event against DynamoDB Local.
 * This catches what tests of the sources cannot: a module missing from a
 * bundle, a top-level import that fails, an ESM/CJS mix-up.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HandlerDescription, handlers, routes } from '#contract/api';
import { WorkflowOffloadStack } from '#infrastructure/stack';
import { generateNodes } from '#testkit/argo-generator';
import { busEvent } from '#testkit/lambda';
import { createTestTable, dynamodbEndpoint, type TestTable } from '#testkit/table';

const run = promisify(execFile);
const featureFlags = JSON.parse(readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8')).context;

let outdir: string;
let testTable: TestTable;
const bundleOf = new Map<string, string>();

/** Invokes one bundled handler in a fresh Node process: a cold start, as in Lambda. */
async function invoke(handler: HandlerDescription, event: unknown): Promise<Record<string, unknown>> {
  const eventFile = join(outdir, `event-${randomUUID()}.json`);
  writeFileSync(eventFile, JSON.stringify(event));
  const runner = join(outdir, 'runner.mjs');
  const { stdout } = await run(process.execPath, [runner, bundleOf.get(handler.name) as string, eventFile], {
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      DYNAMODB_ENDPOINT: dynamodbEndpoint(),
      WFO_TABLE_NAME: testTable.tableName,
      POWERTOOLS_SERVICE_NAME: 'workflow-offload',
      POWERTOOLS_METRICS_NAMESPACE: 'WorkflowOffload',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_DEV: 'false',
      LOG_LEVEL: 'WARN',
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  const lastLine = stdout.trim().split('\n').at(-1) as string;
  return JSON.parse(lastLine) as Record<string, unknown>;
}

function httpEvent(
  method: string,
  path: string,
  pathParameters: Record<string, string>,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const route = routes.find(
    (candidate) =>
      candidate.method === method &&
      new RegExp(`^${candidate.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path),
  );
  const routeKey = `${method} ${route?.path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    pathParameters,
    requestContext: {
      accountId: '000000000000',
      apiId: 'bundle-test',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bundle-test' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    isBase64Encoded: false,
  };
}

beforeAll(async () => {
  testTable = await createTestTable('bundles');
  outdir = mkdtempSync(join(tmpdir(), 'wfo-bundles-'));
  const app = new App({ outdir, context: { ...featureFlags, 'aws:cdk:enable-asset-metadata': true } });
  const stack = new WorkflowOffloadStack(app, 'BundleTest', { deletionProtection: false });
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as {
    Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
  };
  for (const [name, handlerFunction] of stack.functions) {
    const logicalId = stack.getLogicalId(handlerFunction.function.node.defaultChild as never);
    const assetPath = template.Resources[logicalId]?.Metadata?.['aws:asset:path'];
    if (!assetPath) throw new Error(`no bundled asset for ${name}`);
    bundleOf.set(name, join(outdir, assetPath, 'index.mjs'));
  }
  writeFileSync(
    join(outdir, 'runner.mjs'),
    [
      "import { readFileSync } from 'node:fs';",
      "import { pathToFileURL } from 'node:url';",
      'const [bundle, eventFile] = process.argv.slice(2);',
      'const { handler } = await import(pathToFileURL(bundle).href);',
      "const context = { functionName: 'bundle-test', functionVersion: '$LATEST', awsRequestId: 'r-1',",
      "  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:bundle-test', memoryLimitInMB: '1024',",
      "  getRemainingTimeInMillis: () => 30000, callbackWaitsForEmptyEventLoop: false, logGroupName: 'l', logStreamName: 's' };",
      "const result = await handler(JSON.parse(readFileSync(eventFile, 'utf8')), context);",
      "process.stdout.write('\\n' + JSON.stringify(result ?? null) + '\\n');",
    ].join('\n'),
  );
}, 300_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe('bundled handlers', () => {
  it('bundles every handler of the description as one ESM file', () => {
    expect([...bundleOf.keys()].sort()).toEqual(
      Object.values(handlers)
        .map((handler) => handler.name)
        .sort(),
    );
    const sizes = Object.fromEntries(
      [...bundleOf].map(([name, file]) => [name, `${(statSync(file).size / 1024).toFixed(0)} KiB`]),
    );
    console.info('bundle sizes:', JSON.stringify(sizes));
  });

  it('load under this Node and serve a workflow from PUT to DELETE against DynamoDB Local', async () => {
    const uid = `bundle-${Date.now()}`;
    const nodes = generateNodes({ nodeCount: 300, seed: 11 });
    const firstId = Object.keys(nodes)[0] as string;

    const health = await invoke(handlers.health, httpEvent('GET', '/healthz', {}));
    expect(health.statusCode).toBe(200);

    const put = await invoke(
      handlers.putWorkflow,
      httpEvent('PUT', `/v1/workflows/${uid}`, { uid }, { namespace: 'argo', name: 'bundled', nodes }),
    );
    expect(put.statusCode).toBe(201);
    expect((put.headers as Record<string, string>).etag ?? (put.headers as Record<string, string>).ETag).toBe(
      '"1"',
    );

    const got = await invoke(handlers.getWorkflow, httpEvent('GET', `/v1/workflows/${uid}`, { uid }));
    expect(got.statusCode).toBe(200);
    expect(JSON.parse(got.body as string).nodes).toStrictEqual(nodes);

    const patched = await invoke(
      handlers.patchNodes,
      httpEvent(
        'PATCH',
        `/v1/workflows/${uid}/nodes`,
        { uid },
        { set: { [firstId]: { id: firstId, phase: 'Succeeded' } } },
      ),
    );
    expect(patched.statusCode).toBe(200);

    const versions = await invoke(
      handlers.listVersions,
      httpEvent('GET', `/v1/workflows/${uid}/versions`, { uid }),
    );
    const items = JSON.parse(versions.body as string).items as { nodeStatusVersion: string }[];
    expect(items).toHaveLength(2);
    const oldest = items[1]?.nodeStatusVersion as string;
    const version = await invoke(
      handlers.getVersion,
      httpEvent('GET', `/v1/workflows/${uid}/versions/${oldest}`, { uid, version: oldest }),
    );
    expect(JSON.parse(version.body as string).nodes).toStrictEqual(nodes);

    const listed = await invoke(
      handlers.listWorkflows,
      httpEvent('GET', '/v1/namespaces/argo/workflows', { namespace: 'argo' }),
    );
    expect(JSON.parse(listed.body as string).items.map((item: { uid: string }) => item.uid)).toContain(uid);

    const updated = await invoke(
      handlers.onNodesUpdated,
      busEvent('Workflow Nodes Updated', {
        uid,
        set: { [firstId]: { id: firstId, phase: 'Succeeded', seen: 1 } },
      }),
    );
    expect(updated).toMatchObject({ outcome: 'applied' });

    const stopped = await invoke(
      handlers.stopWorkflow,
      httpEvent('POST', `/v1/workflows/${uid}/stop`, { uid }, { strategy: 'Stop' }),
    );
    expect(stopped.statusCode).toBe(200);
    expect(JSON.parse(stopped.body as string)).toMatchObject({ phase: 'Failed', shutdown: 'Stop' });
    const stopEvent = await invoke(
      handlers.onStopRequested,
      busEvent('Workflow Stop Requested', { uid, strategy: 'Stop' }),
    );
    expect(stopEvent).toBeDefined();

    const renewed = await invoke(handlers.renew, {
      'detail-type': 'Scheduled Event',
      source: 'aws.scheduler',
      detail: {},
    });
    expect(renewed).toMatchObject({ versionMissing: 0 });

    const deleted = await invoke(
      handlers.deleteWorkflow,
      httpEvent('DELETE', `/v1/workflows/${uid}`, { uid }),
    );
    expect(deleted.statusCode).toBe(204);
    const again = await invoke(handlers.onWorkflowDeleted, busEvent('Workflow Deleted', { uid }));
    expect(again).toBeDefined();
    const gone = await invoke(handlers.getWorkflow, httpEvent('GET', `/v1/workflows/${uid}`, { uid }));
    expect(gone.statusCode).toBe(404);
  });
});
