import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '#domain/errors';
import {
  acceptsGzip,
  decodeJsonBody,
  etagOf,
  lowerCaseHeaders,
  parseIfMatch,
  parseIfNoneMatch,
} from '#lambda/request';

const maxBytes = 64 * 1024;

const gzipBody = (value: unknown) => ({
  body: gzipSync(JSON.stringify(value)).toString('base64'),
  isBase64Encoded: true,
  headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
});

describe('decodeJsonBody', () => {
  it('parses a plain JSON body', async () => {
    const body = await decodeJsonBody(
      { body: '{"a":1}', headers: { 'content-type': 'application/json' } },
      { maxBytes },
    );

    expect(body).toEqual({ a: 1 });
  });

  it('parses a base64 body without content-encoding', async () => {
    const body = await decodeJsonBody(
      { body: Buffer.from('{"a":[1,2]}').toString('base64'), isBase64Encoded: true, headers: {} },
      { maxBytes },
    );

    expect(body).toEqual({ a: [1, 2] });
  });

  it('gunzips a gzip body', async () => {
    const value = { nodes: { n1: { id: 'n1', phase: 'Running', message: 'ü ✓' } } };

    expect(await decodeJsonBody(gzipBody(value), { maxBytes })).toEqual(value);
  });

  it('accepts a JSON content type with a UTF-8 charset, and no content type at all', async () => {
    for (const contentType of [
      'application/json; charset=utf-8',
      'Application/JSON;charset="UTF-8"',
      undefined,
    ]) {
      const headers = contentType === undefined ? {} : { 'content-type': contentType };

      expect(await decodeJsonBody({ body: '{}', headers }, { maxBytes })).toEqual({});
    }
  });

  it('returns undefined for an absent or empty body', async () => {
    expect(await decodeJsonBody({ headers: {} }, { maxBytes })).toBeUndefined();
    expect(await decodeJsonBody({ body: '', headers: {} }, { maxBytes })).toBeUndefined();
  });

  it('rejects a content type that is not JSON with 415', async () => {
    const decoding = decodeJsonBody({ body: 'a=1', headers: { 'content-type': 'text/plain' } }, { maxBytes });

    await expect(decoding).rejects.toThrow(UnsupportedMediaTypeError);
  });

  it('rejects a charset other than UTF-8 with 415', async () => {
    const decoding = decodeJsonBody(
      { body: '{}', headers: { 'content-type': 'application/json; charset=latin1' } },
      { maxBytes },
    );

    await expect(decoding).rejects.toThrow(UnsupportedMediaTypeError);
  });

  it('rejects a content encoding other than gzip with 415', async () => {
    const decoding = decodeJsonBody(
      { body: 'eHh4', isBase64Encoded: true, headers: { 'content-encoding': 'br' } },
      { maxBytes },
    );

    await expect(decoding).rejects.toThrow(UnsupportedMediaTypeError);
  });

  it('rejects an uncompressed body larger than the limit with 413', async () => {
    const decoding = decodeJsonBody(
      { body: JSON.stringify({ pad: 'x'.repeat(maxBytes) }), headers: {} },
      { maxBytes },
    );

    await expect(decoding).rejects.toThrow(PayloadTooLargeError);
  });

  it('rejects a gzip bomb with 413 without inflating it', async () => {
    // 1 MiB of zeros compresses to about 1 KiB: small on the wire, 16 times the limit inflated.
    const bomb = gzipSync(Buffer.alloc(16 * maxBytes, 0x20));
    expect(bomb.length).toBeLessThan(maxBytes);

    const decoding = decodeJsonBody(
      { body: bomb.toString('base64'), isBase64Encoded: true, headers: { 'content-encoding': 'gzip' } },
      { maxBytes },
    );

    await expect(decoding).rejects.toThrow(PayloadTooLargeError);
  });

  it('rejects a corrupt gzip body with 400', async () => {
    // Flip the stored CRC-32: the deflate data is intact, the checksum is not.
    const corrupt = gzipSync('{"a":1}');
    corrupt.writeUInt32LE((corrupt.readUInt32LE(corrupt.length - 8) ^ 0xffffffff) >>> 0, corrupt.length - 8);

    const decoding = decodeJsonBody(
      { body: corrupt.toString('base64'), isBase64Encoded: true, headers: { 'content-encoding': 'gzip' } },
      { maxBytes },
    );

    await expect(decoding).rejects.toThrow(ValidationError);
    await expect(decoding).rejects.toThrow(/not valid gzip/);
  });

  it('rejects malformed JSON with 400 and says where', async () => {
    const decoding = decodeJsonBody({ body: '{"a": 1,}', headers: {} }, { maxBytes });

    await expect(decoding).rejects.toThrow(ValidationError);
    await expect(decoding).rejects.toThrow(/not valid JSON: .*position/);
  });

  it('rejects bytes that are not UTF-8 with 400', async () => {
    const decoding = decodeJsonBody(
      { body: Buffer.from([0x7b, 0xff, 0x7d]).toString('base64'), isBase64Encoded: true, headers: {} },
      { maxBytes },
    );

    await expect(decoding).rejects.toThrow(/UTF-8/);
  });
});

describe('parseIfMatch', () => {
  it('reads a strong and a weak entity tag', () => {
    expect(parseIfMatch('"7"')).toBe('7');
    expect(parseIfMatch(' W/"12" ')).toBe('12');
  });

  it('treats an absent or empty header as no condition', () => {
    expect(parseIfMatch(undefined)).toBeUndefined();
    expect(parseIfMatch('  ')).toBeUndefined();
  });

  it('rejects a list of entity tags', () => {
    expect(() => parseIfMatch('"7", "8"')).toThrow(/not a list/);
  });

  it('rejects an unquoted, half-quoted, empty or wildcard value', () => {
    for (const value of ['7', '"7', 'W/7', '""', '*', '"a"b"']) {
      expect(() => parseIfMatch(value), value).toThrow(ValidationError);
    }
  });
});

describe('parseIfNoneMatch', () => {
  it('reads * as create only', () => {
    expect(parseIfNoneMatch('*')).toBe(true);
    expect(parseIfNoneMatch(undefined)).toBe(false);
  });

  it('rejects an entity tag', () => {
    expect(() => parseIfNoneMatch('"3"')).toThrow(ValidationError);
  });
});

describe('acceptsGzip', () => {
  it('honours gzip, x-gzip and * with their q-values', () => {
    expect(acceptsGzip('gzip, deflate, br')).toBe(true);
    expect(acceptsGzip('x-gzip')).toBe(true);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('gzip;q=0, *')).toBe(false);
    expect(acceptsGzip('br')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});

describe('headers', () => {
  it('lower-cases names and joins repeated ones', () => {
    expect(lowerCaseHeaders({ 'If-Match': '"1"', 'if-match': '"2"', Other: undefined })).toEqual({
      'if-match': '"1","2"',
    });
  });

  it('quotes an ETag', () => {
    expect(etagOf(7)).toBe('"7"');
  });
});
