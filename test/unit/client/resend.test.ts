/**
 * A kept-alive connection that the server closes as a request goes out
 * fails the request before the server sees it: the client sends an
 * idempotent request again, once, and never a POST or a PATCH.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionError, WfoClient } from '#client/wfo-client';

const closedSocket = () =>
  Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
  });
const refused = () =>
  Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
  });

/** A fetch that fails with `failures` in turn, then answers 200 `{"status":"ok"}`. */
function flakyFetch(failures: (() => Error)[]) {
  const methods: string[] = [];
  const fetch = async (_url: string | URL | Request, init?: RequestInit) => {
    methods.push(init?.method ?? 'GET');
    const failure = failures.shift();
    if (failure) throw failure();
    return new Response(JSON.stringify({ status: 'ok' }), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  };
  return { fetch: fetch as typeof globalThis.fetch, methods };
}

describe('resending after a connection closed by the server', () => {
  it('sends a GET again once and returns its answer', async () => {
    const { fetch, methods } = flakyFetch([closedSocket]);
    const client = new WfoClient({ baseUrl: 'http://wfo.test', fetch });

    await expect(client.health()).resolves.toEqual({ status: 'ok' });
    expect(methods).toEqual(['GET', 'GET']);
  });

  it('gives up with ConnectionFailed when the second attempt fails too', async () => {
    const { fetch, methods } = flakyFetch([closedSocket, closedSocket]);
    const client = new WfoClient({ baseUrl: 'http://wfo.test', fetch });

    await expect(client.health()).rejects.toBeInstanceOf(ConnectionError);
    expect(methods).toEqual(['GET', 'GET']);
  });

  it('does not resend a POST, nor a request whose connection was refused', async () => {
    const post = flakyFetch([closedSocket]);
    const refusedGet = flakyFetch([refused]);

    await expect(
      new WfoClient({ baseUrl: 'http://wfo.test', fetch: post.fetch }).stopWorkflow('wf', {
        strategy: 'Stop',
      }),
    ).rejects.toBeInstanceOf(ConnectionError);
    await expect(
      new WfoClient({ baseUrl: 'http://wfo.test', fetch: refusedGet.fetch }).health(),
    ).rejects.toBeInstanceOf(ConnectionError);
    expect(post.methods).toEqual(['POST']);
    expect(refusedGet.methods).toEqual(['GET']);
  });
});
