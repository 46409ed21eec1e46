import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  ContentionError,
  PayloadTooLargeError,
  StoreUnavailableError,
  UnsupportedMediaTypeError,
  ValidationError,
  VersionMissingError,
  VersionNotFoundError,
  WorkflowNotFoundError,
} from '#domain/errors';
import { httpErrorOf } from '#lambda/errors';

describe('httpErrorOf', () => {
  it.each([
    [new ValidationError('namespace is required'), 400, 'BadRequest'],
    [new WorkflowNotFoundError('wf-1'), 404, 'NotFound'],
    [new VersionNotFoundError('wf-1', 'abc'), 404, 'NotFound'],
    [new PayloadTooLargeError('too big'), 413, 'PayloadTooLarge'],
    [new UnsupportedMediaTypeError('text/plain'), 415, 'UnsupportedMediaType'],
  ])('maps %s to %i %s with its message', (error, statusCode, code) => {
    const http = httpErrorOf(error);

    expect(http.statusCode).toBe(statusCode);
    expect(http.body).toEqual({ error: code, message: error.message });
  });

  it('maps a conflict to 409 with the current state as strings', () => {
    const http = httpErrorOf(
      new ConflictError('resourceVersion is 8, not 7', { resourceVersion: '8', nodeStatusVersion: 'v8' }),
    );

    expect(http.statusCode).toBe(409);
    expect(http.body).toEqual({
      error: 'Conflict',
      message: 'resourceVersion is 8, not 7',
      current: { resourceVersion: '8', nodeStatusVersion: 'v8' },
    });
  });

  it('leaves current out of a conflict that has none', () => {
    expect(httpErrorOf(new ConflictError('lost', undefined)).body).not.toHaveProperty('current');
  });

  it('maps an unavailable store and contention to 503 with Retry-After', () => {
    const unavailable = httpErrorOf(new StoreUnavailableError('the database is busy', 2));
    const contention = httpErrorOf(new ContentionError('kept changing', 0.2));

    expect(unavailable).toMatchObject({ statusCode: 503, headers: { 'retry-after': '2' } });
    expect(unavailable.body.error).toBe('ServiceUnavailable');
    expect(contention).toMatchObject({ statusCode: 503, headers: { 'retry-after': '1' } });
  });

  it('maps middy timing out to 503', () => {
    const timeout = new Error('[AbortError]: The operation was aborted.', {
      cause: { package: '@middy/core' },
    });
    timeout.name = 'TimeoutError';

    expect(httpErrorOf(timeout).statusCode).toBe(503);
  });

  it('maps anything else, VersionMissing included, to a generic 500 that leaks nothing', () => {
    for (const error of [
      new TypeError("Cannot read properties of undefined (reading 'pk') at /var/task/index.js:12"),
      new VersionMissingError('wf-1', 'secret-version', ['C#secret-chunk']),
      'a string',
    ]) {
      const http = httpErrorOf(error, 'corr-1');

      expect(http.statusCode).toBe(500);
      expect(http.body.error).toBe('InternalError');
      expect(http.body.message).toContain('corr-1');
      expect(http.body.message).not.toMatch(/pk|var\/task|secret|string/);
    }
  });

  it('tells client errors from the rest', () => {
    expect(httpErrorOf(new ValidationError('x')).statusCode).toBeLessThan(500);
    expect(httpErrorOf(new StoreUnavailableError('x', 1)).statusCode).toBeGreaterThanOrEqual(500);
    expect(httpErrorOf(new Error('x')).statusCode).toBeGreaterThanOrEqual(500);
  });
});
