/**
 * One contract, two runtimes: every route of `contract/api.ts`
 * is served by the local runtime (`npm start`'s code) through its handler.
 * test/infrastructure/stack.test.ts proves the same routes, and only they,
 * are in the synthesised template.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '#contract/api';
import { type LocalRuntime, startLocalRuntime } from '#local/runtime';
import { dynamodbEndpoint } from '#testkit/table';

let runtime: LocalRuntime;
const uid = `routes-${Date.now()}`;

beforeAll(async () => {
  runtime = await startLocalRuntime({
    port: 0,
    dynamodbEndpoint: dynamodbEndpoint(),
    tableName: `routes-${randomUUID()}`,
    renew: false,
    log: () => {},
  });
});

afterAll(() => runtime?.stop());

/** A request for the route, with its placeholders filled and a valid body where it needs one. */
function requestFor(route: (typeof routes)[number]): { path: string; init: RequestInit } {
  const path = route.path
    .replace('{uid}', uid)
    .replace('{namespace}', 'argo')
    .replace('{version}', 'f'.repeat(64));
  const body =
    route.method === 'PUT'
      ? { namespace: 'argo', name: 'routes', nodes: { a: { id: 'a', phase: 'Running' } } }
      : route.method === 'PATCH'
        ? { set: { a: { id: 'a', phase: 'Succeeded' } } }
        : route.method === 'POST'
          ? { strategy: 'Stop' }
          : undefined;
  return {
    path,
    init: {
      method: route.method,
      headers: { 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    },
  };
}

describe('routes of the description', () => {
  it('are each answered by their handler, not by the runtime as unknown', async () => {
    // PUT first so the other routes find the workflow; DELETE last.
    const ordered = [...routes].sort(
      (a, b) =>
        Number(b.method === 'PUT') - Number(a.method === 'PUT') ||
        Number(a.method === 'DELETE') - Number(b.method === 'DELETE'),
    );
    const answered: string[] = [];
    for (const route of ordered) {
      const { path, init } = requestFor(route);
      const response = await fetch(`${runtime.baseUrl}${path}`, init);
      const body = response.status === 204 ? undefined : ((await response.json()) as { message?: string });
      expect(body?.message ?? '', `${route.method} ${route.path}`).not.toMatch(/^no route for/);
      expect(response.status, `${route.method} ${route.path}`).toBeLessThan(500);
      answered.push(`${route.method} ${route.path} ${response.status}`);
    }
    expect(answered).toHaveLength(routes.length);
    console.info(answered.join('\n'));
  });

  it('answers a path outside the description as unknown', async () => {
    const response = await fetch(`${runtime.baseUrl}/v1/nothing-here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({
      error: 'NotFound',
      message: expect.stringMatching(/^no route for/),
    });
  });
});
