/**
 * The client asks for brotli or gzip and reads either, whether its fetch
 * decoded the body already (Node's does) or handed over the encoded bytes
 * (a custom fetch may); a corrupt body is an InvalidResponseError, never a
 * wrong answer.
 */
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InvalidResponseError, WfoClient } from '#client/wfo-client';

const answer = { status: 'ok' };

/** A fetch that answers with `body` under `content-encoding`, as is, and records the request headers. */
function fetchAnswering(body: Uint8Array | string, encoding?: string) {
  const requests: Headers[] = [];
  const fetch = async (_url: string | URL | Request, init?: RequestInit) => {
    requests.push(new Headers(init?.headers));
    return new Response(body, {
      status: 200,
      headers: { 'content-type': 'application/json', ...(encoding ? { 'content-encoding': encoding } : {}) },
    });
  };
  return { fetch: fetch as typeof globalThis.fetch, requests };
}

describe('response encodings', () => {
  it('asks for brotli and gzip', async () => {
    const { fetch, requests } = fetchAnswering(JSON.stringify(answer));
    await new WfoClient({ baseUrl: 'http://wfo.test', fetch }).health();
    expect(requests[0]?.get('accept-encoding')).toBe('br, gzip');
  });

  it('decodes brotli and gzip bodies a fetch left encoded, and takes decoded ones as they are', async () => {
    const json = JSON.stringify(answer);
    const brotli = brotliCompressSync(json, { params: { [constants.BROTLI_PARAM_LGWIN]: 24 } });
    for (const [body, encoding] of [
      [new Uint8Array(brotli), 'br'],
      [new Uint8Array(gzipSync(json)), 'gzip'],
      [json, 'br'],
      [json, 'gzip'],
    ] as const) {
      const { fetch } = fetchAnswering(body, encoding);
      await expect(new WfoClient({ baseUrl: 'http://wfo.test', fetch }).health(), encoding).resolves.toEqual(
        answer,
      );
    }
  });

  it('reports a corrupt brotli body as an invalid response', async () => {
    const { fetch } = fetchAnswering(new Uint8Array([0x1b, 0x03, 0x00, 0xff, 0xff]), 'br');
    await expect(new WfoClient({ baseUrl: 'http://wfo.test', fetch }).health()).rejects.toBeInstanceOf(
      InvalidResponseError,
    );
  });
});
