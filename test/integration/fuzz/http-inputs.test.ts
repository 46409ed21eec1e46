/**
 * Bad input, property-based (fast-check), over the real HTTP runtime: `npm
 * start`'s process on the suite's DynamoDB Local. Every generated request is
 * wrong by construction; each must get a 4xx with the contract's error JSON
 * (`{"error", "message"}`, the code matching the status), never a 5xx and
 * never a hang. Afterwards the runtime still serves, and a workflow stored
 * before the first request (most requests aim at it) is byte-identical.
 *
 * Cases per category and their statuses are printed at the end (and quoted
 * in docs/reliability.md).
 */
import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '#contract/api';
import { generateNodes } from '#testkit/argo-generator';
import { type RuntimeProcess, spawnRuntime } from '#testkit/runtime-process';
import { dynamodbEndpoint } from '#testkit/table';

/** Small enough that a body over it is cheap to send; the node-count limit stays the default (200,000). */
const maxBodyBytes = 16 * 1024 * 1024;
const storedUid = 'fuzz-stored';
const numRuns = 50;

let runtime: RuntimeProcess;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
let storedBefore: Buffer;
let maxRssBytes = 0;

interface Spec {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string | string[]>;
  readonly body?: Buffer | string;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  readonly milliseconds: number;
}

/** node:http, so that anything (duplicate headers, raw bytes) goes out as written. */
function send(spec: Spec, timeoutMs = 60_000, reuseConnection = true): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      new URL(spec.path, runtime.baseUrl),
      { method: spec.method, headers: spec.headers, agent: reuseConnection ? agent : false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
            milliseconds: performance.now() - started,
          }),
        );
        response.on('error', reject);
      },
    );
    request.setTimeout(timeoutMs, () =>
      request.destroy(new Error(`no answer within ${timeoutMs} ms: a hang`)),
    );
    request.on('error', (error: NodeJS.ErrnoException) => {
      // A kept-alive connection the server closed as idle just as this request
      // went out: the request never reached it. Node's documented remedy is to
      // send it again on a new connection.
      if (request.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
        send(spec, timeoutMs, false).then(resolve, reject);
        return;
      }
      reject(error);
    });
    request.end(spec.body);
  });
}

const contractStatus: Record<string, number> = {
  BadRequest: 400,
  NotFound: 404,
  Conflict: 409,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
};

/** Outcomes per category: status -> count. */
const outcomes = new Map<string, Map<number, number>>();
const slowest = new Map<string, number>();

/** Sends a request that is wrong by construction and checks the contract's 4xx. */
async function expectRejected(category: string, spec: Spec, allowed: readonly number[]): Promise<void> {
  const answer = await send(spec);
  const counts = outcomes.get(category) ?? new Map<number, number>();
  counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1);
  outcomes.set(category, counts);
  slowest.set(category, Math.max(slowest.get(category) ?? 0, answer.milliseconds));
  const where = `${spec.method} ${spec.path.slice(0, 120)} -> ${answer.status} ${answer.body.toString('utf8', 0, 300)}`;
  expect(allowed, where).toContain(answer.status);
  expect(String(answer.headers['content-type']), where).toMatch(/^application\/json/);
  const body = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
  expect(
    Object.keys(body).every((key) => ['error', 'message', 'current'].includes(key)),
    where,
  ).toBe(true);
  expect(contractStatus[String(body.error)], where).toBe(answer.status);
  expect(typeof body.message === 'string' && body.message.length > 0, where).toBe(true);
}

async function property<T>(arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>, runs = numRuns) {
  await fc.assert(fc.asyncProperty(arbitrary, check), { numRuns: runs });
}

const json = { 'content-type': 'application/json' };
const workflowPath = (uid = storedUid) => `/v1/workflows/${encodeURIComponent(uid)}`;
const validPut = (nodes: unknown = { a: { id: 'a', phase: 'Running' } }) => ({
  namespace: 'argo',
  name: 'changed-by-a-fuzz-case',
  nodes,
});
const put = (body: unknown, headers: Record<string, string | string[]> = {}, uid = storedUid): Spec => ({
  method: 'PUT',
  path: workflowPath(uid),
  headers: { ...json, ...headers },
  body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
});
const patch = (body: unknown, headers: Record<string, string | string[]> = {}): Spec => ({
  method: 'PATCH',
  path: `${workflowPath()}/nodes`,
  headers: { ...json, ...headers },
  body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
});

/** Printable ASCII (what a header may carry), at most `maxLength`. */
const printable = (maxLength: number, minLength = 0) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
    minLength,
    maxLength,
  });

const uidPattern = /^[A-Za-z0-9._:-]{1,128}$/;
const namespacePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const nodeIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:()\-[\]]{0,252}$/;
const phases = ['Pending', 'Running', 'Succeeded', 'Skipped', 'Failed', 'Error', 'Omitted'];

beforeAll(async () => {
  runtime = await spawnRuntime({
    DYNAMODB_ENDPOINT: dynamodbEndpoint(),
    WFO_TABLE_NAME: `fuzz-${randomUUID()}`,
    WFO_MAX_BODY_BYTES: String(maxBodyBytes),
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
  const nodes = generateNodes({ nodeCount: 300, seed: 6 });
  const created = await send(put({ namespace: 'argo', name: 'stored', nodes }));
  expect(created.status).toBe(201);
  storedBefore = (await send({ method: 'GET', path: workflowPath() })).body;
}, 180_000);

afterAll(async () => {
  agent.destroy();
  const rows = [...outcomes].map(
    ([category, counts]) =>
      `${category.padEnd(22)} ${String([...counts.values()].reduce((sum, count) => sum + count, 0)).padStart(5)}  ${[
        ...counts,
      ]
        .sort(([a], [b]) => a - b)
        .map(([status, count]) => `${status}×${count}`)
        .join(' ')
        .padEnd(28)} slowest ${Math.round(slowest.get(category) ?? 0)} ms`,
  );
  const total = [...outcomes.values()].flatMap((counts) => [...counts.values()]).reduce((a, b) => a + b, 0);
  console.info(
    `bad inputs over HTTP: ${total} cases, all 4xx with the contract's error JSON; runtime RSS at most ${Math.round(maxRssBytes / 2 ** 20)} MiB, ${Math.round((runtime?.rssBytes() ?? 0) / 2 ** 20)} MiB at the end\n${rows.join('\n')}`,
  );
  await runtime?.stop();
});

const sampleRss = () => {
  maxRssBytes = Math.max(maxRssBytes, runtime.rssBytes() ?? 0);
};

describe('bad input over HTTP', () => {
  it('malformed JSON: 400', async () => {
    const valid = JSON.stringify(validPut());
    const broken = fc.oneof(
      fc.nat({ max: valid.length - 1 }).map((cut) => valid.slice(0, cut)),
      fc
        .tuple(
          fc.nat({ max: valid.length }),
          fc.constantFrom('{', '}', '"', ',', ':', '[', 'x', '\\', '\u0000'),
        )
        .map(([at, insert]) => valid.slice(0, at) + insert + valid.slice(at)),
      fc.string({ minLength: 1, maxLength: 200 }),
      fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
    );
    // Decoded as the service decodes (UTF-8, fatal, a BOM dropped), so that nothing it could parse slips in.
    const notJson = broken.filter((body) => {
      try {
        JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(body)));
        return false;
      } catch {
        return true;
      }
    });
    const route = fc.constantFrom(
      (body: string | Buffer) => put(body),
      (body: string | Buffer) => patch(body),
      (body: string | Buffer): Spec => ({
        method: 'POST',
        path: `${workflowPath()}/stop`,
        headers: json,
        body,
      }),
      (body: string | Buffer): Spec => ({ method: 'POST', path: '/events', headers: json, body }),
    );
    await property(fc.tuple(notJson, route), ([body, to]) =>
      expectRejected('malformed JSON', to(body), [400]),
    );
  });

  it('wrong types: 400', async () => {
    const notString = fc.oneof(
      fc.integer(),
      fc.boolean(),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
    );
    const notObject = fc.oneof(
      fc.integer(),
      fc.boolean(),
      fc.string({ maxLength: 20 }),
      fc.array(fc.integer(), { maxLength: 3 }),
    );
    const cases: fc.Arbitrary<Spec>[] = [
      // The body itself is not an object.
      fc.oneof(notObject, fc.constant(null)).map((body) => put(JSON.stringify(body))),
      // A required field of the wrong type (null counts as missing).
      fc
        .tuple(fc.constantFrom('namespace', 'name'), fc.oneof(notString, fc.constant(null)))
        .map(([field, value]) => put({ ...validPut(), [field]: value })),
      fc.oneof(notObject, fc.constant(null)).map((nodes) => put({ ...validPut(), nodes })),
      // An optional field of the wrong type.
      fc
        .tuple(fc.constantFrom('phase', 'message', 'baseVersion'), notString)
        .map(([field, value]) => put({ ...validPut(), [field]: value })),
      // A node that is not an object, or whose message / finishedAt is not a string.
      fc.oneof(notObject, fc.constant(null)).map((node) => put(validPut({ a: node }))),
      fc
        .tuple(
          fc.constantFrom('message', 'finishedAt'),
          fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.integer())),
        )
        .map(([field, value]) => put(validPut({ a: { id: 'a', [field]: value } }))),
      // PATCH: set not a map, remove not a list of strings.
      notObject.map((set) => patch({ set })),
      fc
        .oneof(
          fc.integer(),
          fc.string(),
          fc.array(fc.oneof(fc.integer(), fc.constant(null)), { minLength: 1 }),
        )
        .map((remove) => patch({ remove })),
      // Stop: an unknown strategy, a message that is not a string.
      fc
        .oneof(
          notString,
          fc.string().filter((text) => text !== 'Stop' && text !== 'Terminate'),
        )
        .map(
          (strategy): Spec => ({
            method: 'POST',
            path: `${workflowPath()}/stop`,
            headers: json,
            body: JSON.stringify({ strategy }),
          }),
        ),
      // PutEvents of the wrong shape.
      fc
        .oneof(notObject, fc.record({ Entries: fc.oneof(notObject, fc.constant([])) }))
        .map(
          (body): Spec => ({ method: 'POST', path: '/events', headers: json, body: JSON.stringify(body) }),
        ),
      // Query strings: a limit that is not an integer from 1 to 1000, an empty next.
      fc
        .oneof(
          fc
            .string({ maxLength: 8 })
            .filter((text) => !/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > 1000),
          fc.constant('0'),
          fc.constant('1001'),
        )
        .map(
          (limit): Spec => ({
            method: 'GET',
            path: `/v1/namespaces/argo/workflows?limit=${encodeURIComponent(limit)}`,
          }),
        ),
    ];
    await property(fc.oneof(...cases), (spec) => expectRejected('wrong types', spec, [400]), numRuns * 2);
  });

  it('huge strings: 400, or 413 past the body limit', async () => {
    const long = (min: number, max: number) => fc.integer({ min, max }).map((length) => 'x'.repeat(length));
    const cases: fc.Arbitrary<Spec>[] = [
      long(129, 4000).map((uid): Spec => ({ method: 'GET', path: workflowPath(uid) })),
      long(64, 4000).map(
        (namespace): Spec => ({ method: 'GET', path: `/v1/namespaces/${namespace}/workflows` }),
      ),
      long(129, 4000).map(
        (version): Spec => ({ method: 'GET', path: `${workflowPath()}/versions/${version}` }),
      ),
      long(254, 200_000).map((name) => put({ ...validPut(), name })),
      long(32_769, 1_000_000).map((message) => put({ ...validPut(), message })),
      long(65, 100_000).map((phase) => put({ ...validPut(), phase })),
      long(254, 100_000).map((id) => put(validPut({ [id]: { phase: 'Running' } }))),
      long(254, 100_000).map((id) => patch({ remove: [id] })),
      long(8, 100_000).map((phase) => put(validPut({ a: { id: 'a', phase } }))),
      long(4097, 6000).map(
        (next): Spec => ({ method: 'GET', path: `/v1/namespaces/argo/workflows?next=${next}` }),
      ),
      long(100, 6000).map((tag) => put(validPut(), { 'if-match': tag })),
    ];
    await property(fc.oneof(...cases), (spec) => expectRejected('huge strings', spec, [400]), numRuns * 2);
    // Past the body limit, plain and gzip.
    const huge = JSON.stringify(validPut({ a: { id: 'a', blob: 'y'.repeat(maxBodyBytes + 1024) } }));
    await expectRejected('huge strings', put(huge), [413]);
    await expectRejected('huge strings', put(gzipSync(huge), { 'content-encoding': 'gzip' }), [413]);
    sampleRss();
  });

  it('deeply nested nodes: 400', async () => {
    const nested = fc
      .tuple(fc.integer({ min: 101, max: 200_000 }), fc.constantFrom('[', '{"a":'))
      .map(([depth, open]) => `${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`);
    const cases = fc.oneof(
      nested.map((deep) =>
        put(`{"namespace":"argo","name":"deep","nodes":{"n1":{"id":"n1","deep":${deep}}}}`),
      ),
      nested.map((deep) => patch(`{"set":{"n1":{"id":"n1","phase":"Running","deep":${deep}}}}`)),
      nested.map((deep) => put(`{"namespace":${deep},"name":"deep","nodes":{}}`)),
    );
    await property(cases, (spec) => expectRejected('deeply nested', spec, [400]));
    sampleRss();
  });

  it('1,000,000-node maps, gzip-compressed: 413 or 400, quickly and without exhausting memory', async () => {
    const million = (node: (index: number) => string) => {
      const parts: string[] = [];
      for (let index = 0; index < 1_000_000; index++) parts.push(`"n${index}":${node(index)}`);
      return `{${parts.join(',')}}`;
    };
    const tiny = million(() => '{}');
    const realistic = million((index) => `{"id":"n${index}","phase":"Running","templateName":"work-item"}`);
    const gzip = { 'content-encoding': 'gzip' };
    const cases: [string, Spec][] = [
      ['empty nodes, PUT', put(gzipSync(`{"namespace":"argo","name":"million","nodes":${tiny}}`), gzip)],
      ['empty nodes, PATCH', patch(gzipSync(`{"set":${tiny}}`), gzip)],
      [
        'real-looking nodes, PUT',
        put(gzipSync(`{"namespace":"argo","name":"million","nodes":${realistic}}`), gzip),
      ],
    ];
    for (const [label, spec] of cases) {
      const started = performance.now();
      await expectRejected('1,000,000 nodes', spec, [400, 413]);
      const milliseconds = Math.round(performance.now() - started);
      sampleRss();
      console.info(
        `1,000,000 nodes (${label}, ${(spec.body as Buffer).length} bytes of gzip): answered in ${milliseconds} ms; runtime RSS then ${Math.round((runtime.rssBytes() ?? 0) / 2 ** 20)} MiB`,
      );
    }
  });

  it('invalid uids, namespaces, node ids and versions: 400 (404 where no route matches)', async () => {
    const anyText = fc.string({ minLength: 1, maxLength: 60, unit: 'grapheme' });
    const cases: fc.Arbitrary<Spec>[] = [
      anyText
        .filter((uid) => !uidPattern.test(uid))
        .map((uid): Spec => ({ method: 'GET', path: workflowPath(uid) })),
      anyText.filter((uid) => !uidPattern.test(uid)).map((uid) => put(validPut(), {}, uid)),
      anyText
        .filter((namespace) => !namespacePattern.test(namespace) || namespace.length > 63)
        .map(
          (namespace): Spec => ({
            method: 'GET',
            path: `/v1/namespaces/${encodeURIComponent(namespace)}/workflows`,
          }),
        ),
      anyText
        .filter((namespace) => !namespacePattern.test(namespace) || namespace.length > 63)
        .map((namespace) => put({ ...validPut(), namespace })),
      anyText
        .filter((id) => !nodeIdPattern.test(id))
        .map((id) => put(validPut({ [id]: { phase: 'Running' } }))),
      anyText
        .filter((id) => !nodeIdPattern.test(id))
        .map((id) => patch({ set: { [id]: { phase: 'Running' } } })),
      anyText.filter((id) => !nodeIdPattern.test(id)).map((id) => patch({ remove: [id] })),
      anyText
        .filter((version) => !uidPattern.test(version))
        .map(
          (version): Spec => ({
            method: 'GET',
            path: `${workflowPath()}/versions/${encodeURIComponent(version)}`,
          }),
        ),
      anyText
        .filter((version) => !uidPattern.test(version))
        .map((baseVersion) => put({ ...validPut(), baseVersion })),
      fc
        .constantFrom('/v1/workflows/', '/v1/workflows//nodes', '/v1/namespaces//workflows')
        .map((path): Spec => ({ method: 'GET', path })),
    ];
    await property(
      fc.oneof(...cases),
      (spec) => expectRejected('invalid ids', spec, [400, 404]),
      numRuns * 3,
    );
  });

  it('an id that disagrees with its key: 400', async () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
    const otherId = fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.boolean(), fc.constant(null));
    const mismatched = fc.tuple(key, otherId).filter(([k, id]) => id !== k);
    await property(
      fc.oneof(
        mismatched.map(([k, id]) => put(validPut({ [k]: { id, phase: 'Running' } }))),
        mismatched.map(([k, id]) => patch({ set: { [k]: { id, phase: 'Running' } } })),
      ),
      (spec) => expectRejected('id disagrees with key', spec, [400]),
    );
  });

  it('unknown phases: 400', async () => {
    const unknown = fc.oneof(
      fc.string({ maxLength: 30 }).filter((phase) => !phases.includes(phase)),
      fc.constantFrom('running', 'SUCCEEDED', 'Succeeded ', ' Failed', 'Completed', 'Terminated'),
      fc.integer(),
      fc.constant(null),
      fc.boolean(),
    );
    await property(
      fc.oneof(
        unknown.map((phase) => put(validPut({ a: { id: 'a', phase } }))),
        unknown.map((phase) => patch({ set: { a: { id: 'a', phase } } })),
      ),
      (spec) => expectRejected('unknown phase', spec, [400]),
    );
  });

  it('invalid, duplicated and stale If-Match; invalid If-None-Match: 400, stale 409', async () => {
    const tag = fc.stringMatching(/^[0-9a-z]{1,8}$/);
    const invalid = fc.oneof(
      printable(40, 1).filter(
        (value) => !/^(?:W\/)?"[\x21\x23-\x7e]*"$/.test(value.trim()) && value.trim() !== '',
      ),
      fc.constant('*'),
      fc.constant('""'),
      fc.array(tag, { minLength: 2, maxLength: 4 }).map((tags) => tags.map((t) => `"${t}"`).join(', ')),
    );
    const duplicated = fc.array(tag, { minLength: 2, maxLength: 3 }).map((tags) => tags.map((t) => `"${t}"`));
    // A well-formed tag that is not the stored resourceVersion ("1"): a lost compare-and-set.
    const stale = tag.filter((t) => t !== '1').map((t) => `"${t}"`);
    const cases = fc.oneof(
      invalid.map((value) => ({ spec: put(validPut(), { 'if-match': value }), allowed: [400] })),
      invalid.map((value) => ({
        spec: patch({ set: { a: { id: 'a' } } }, { 'if-match': value }),
        allowed: [400],
      })),
      duplicated.map((values) => ({ spec: put(validPut(), { 'if-match': values }), allowed: [400] })),
      stale.map((value) => ({ spec: put(validPut(), { 'if-match': value }), allowed: [409] })),
      stale.map((value) => ({
        spec: patch({ set: { a: { id: 'a' } } }, { 'if-match': value }),
        allowed: [409],
      })),
      printable(20, 1)
        .filter((value) => value.trim() !== '*' && value.trim() !== '')
        .map((value) => ({ spec: put(validPut(), { 'if-none-match': value }), allowed: [400] })),
    );
    await property(cases, ({ spec, allowed }) => expectRejected('If-Match', spec, allowed), numRuns * 2);
  });

  it('corrupt gzip and gzip bombs: 400 and 413', async () => {
    const valid = gzipSync(JSON.stringify(validPut()));
    const corrupt = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      fc.nat({ max: valid.length - 2 }).map((cut) => valid.subarray(0, cut + 1)),
      fc
        .tuple(fc.integer({ min: 10, max: valid.length - 1 }), fc.integer({ min: 1, max: 255 }))
        .map(([at, xor]) => {
          const flipped = Buffer.from(valid);
          flipped[at] = (flipped[at] as number) ^ xor;
          return flipped;
        }),
      fc.constant(Buffer.from(JSON.stringify(validPut()))),
      fc.constant(gzipSync(valid)),
    );
    await property(corrupt, (body) =>
      expectRejected('corrupt gzip', put(body, { 'content-encoding': 'gzip' }), [400]),
    );
    // Bombs: gzip members of zeros, concatenated; each inflates 1,000-fold.
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024));
    for (const members of [2, 8, 64]) {
      const bomb = Buffer.concat(Array.from({ length: members }, () => member));
      await expectRejected('gzip bomb', put(bomb, { 'content-encoding': 'gzip' }), [413]);
      await expectRejected('gzip bomb', patch(bomb, { 'content-encoding': 'gzip' }), [413]);
      sampleRss();
    }
  });

  it('a content type or encoding other than JSON and gzip: 415', async () => {
    const isJson = (type: string) => {
      const [media = '', ...parameters] = type.split(';').map((part) => part.trim().toLowerCase());
      if (media !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(media)) return false;
      return parameters.every((parameter) => {
        const [name, value = ''] = parameter.split('=').map((part) => part.trim().replace(/^"|"$/g, ''));
        return name !== 'charset' || value === 'utf-8' || value === 'utf8';
      });
    };
    const contentType = fc
      .oneof(
        fc.constantFrom(
          'text/plain',
          'application/xml',
          'multipart/form-data; boundary=x',
          'application/x-www-form-urlencoded',
          'application/json; charset=latin1',
          'application/json; charset=utf-16',
          'application/jsonx',
          'text/json',
        ),
        fc
          .tuple(fc.stringMatching(/^[a-z]{1,10}$/), fc.stringMatching(/^[a-z0-9.+-]{1,15}$/))
          .map(([type, sub]) => `${type}/${sub}`),
      )
      .filter((type) => !isJson(type));
    const encoding = fc
      .oneof(
        fc.constantFrom('br', 'deflate', 'compress', 'zstd', 'gzip, br', 'gzip, gzip'),
        fc.stringMatching(/^[a-z]{1,10}$/),
      )
      .filter((coding) => !['gzip', 'x-gzip', 'identity'].includes(coding));
    await property(
      fc.oneof(
        contentType.map((type) => put(validPut(), { 'content-type': type })),
        contentType.map((type) => patch({ set: { a: { id: 'a' } } }, { 'content-type': type })),
        encoding.map((coding) => put(validPut(), { 'content-encoding': coding })),
      ),
      (spec) => expectRejected('content type', spec, [415]),
    );
  });

  it('an unknown route or method: 404', async () => {
    // No `.` or `..` segment: URL resolution would remove it and could land on a real route.
    const segment = fc
      .stringMatching(/^[A-Za-z0-9._~-]{1,20}$/)
      .filter((text) => text !== '.' && text !== '..');
    const method = fc.constantFrom(
      'GET',
      'PUT',
      'PATCH',
      'POST',
      'DELETE',
      'OPTIONS',
      'PROPFIND',
      'MKCOL',
      'COPY',
      'LOCK',
      'SEARCH',
    );
    // Every route of the contract, and the local runtime's event door, as method and path pattern.
    const known = [...routes, { method: 'POST', path: '/events' }].map(({ method: m, path }) => ({
      method: m,
      pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }));
    const isKnown = (m: string, path: string) =>
      known.some((route) => route.method === m && route.pattern.test(path));
    const paths = fc.oneof(
      fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => `/${parts.join('/')}`),
      fc.constantFrom(
        '/healthz',
        `/v1/workflows/${storedUid}`,
        `/v1/workflows/${storedUid}/nodes`,
        `/v1/workflows/${storedUid}/stop`,
        '/v1/namespaces/argo/workflows',
        '/events',
        `/v1/workflows/${storedUid}/versions`,
        `/v1/workflows/${storedUid}/diff`,
        `/v1/workflows/${storedUid}/uploads`,
      ),
    );
    await property(
      fc.tuple(method, paths).filter(([m, path]) => !isKnown(m, path)),
      ([m, path]) => expectRejected('unknown route or method', { method: m, path, headers: json }, [404]),
      numRuns * 2,
    );
  });

  it('afterwards: the runtime still serves, and the stored workflow is byte-identical', async () => {
    sampleRss();
    const health = await send({ method: 'GET', path: '/healthz' });
    const storedAfter = (await send({ method: 'GET', path: workflowPath() })).body;

    expect(runtime.exited()).toBe(false);
    expect(health.status).toBe(200);
    expect(storedAfter.equals(storedBefore)).toBe(true);
    expect(runtime.output()).not.toMatch(/failed|InternalError/);
  });
});
