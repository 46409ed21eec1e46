import { describe, expect, it } from 'vitest';
import { ValidationError } from '#domain/errors';
import {
  listQuerySchema,
  namespaceSchema,
  nodeDeltaSchema,
  parseWith,
  putWorkflowBodySchema,
  stopBodySchema,
  uidSchema,
} from '#lambda/schemas';

describe('uid', () => {
  it('accepts 1-128 of letters, digits and . _ : -', () => {
    for (const uid of ['a', 'wf-1', '2f1c1a3e-0b8e-4c54-9b1e-8e9c2f0a7d11', 'ns:name.v_2', 'x'.repeat(128)]) {
      expect(uidSchema.safeParse(uid).success, uid).toBe(true);
    }
  });

  it('rejects empty, too long, and other characters', () => {
    for (const uid of ['', 'x'.repeat(129), 'a/b', 'a b', 'é', 'a%2F']) {
      expect(uidSchema.safeParse(uid).success, uid).toBe(false);
    }
  });
});

describe('namespace', () => {
  it('accepts DNS labels up to 63 characters', () => {
    for (const namespace of ['argo', 'a', 'team-1', 'x'.repeat(63)]) {
      expect(namespaceSchema.safeParse(namespace).success, namespace).toBe(true);
    }
  });

  it('rejects what is not a DNS label', () => {
    for (const namespace of ['', 'Argo', '-argo', 'argo-', 'ar_go', 'a.b', 'x'.repeat(64)]) {
      expect(namespaceSchema.safeParse(namespace).success, namespace).toBe(false);
    }
  });
});

describe('request bodies', () => {
  it('ignores unknown fields and treats null as absent', () => {
    const body = parseWith(
      putWorkflowBodySchema,
      { namespace: 'argo', name: 'hello', nodes: {}, phase: null, extra: true },
      'request body',
    );

    expect(body).toEqual({ namespace: 'argo', name: 'hello', nodes: {}, phase: undefined });
  });

  it('passes the node map through without copying it', () => {
    const nodes = { n1: { id: 'n1' } };

    const body = parseWith(
      putWorkflowBodySchema,
      { namespace: 'argo', name: 'hello', nodes },
      'request body',
    );

    expect(body.nodes).toBe(nodes);
  });

  it('names every missing or invalid field', () => {
    expect(() => parseWith(putWorkflowBodySchema, { namespace: 'Argo' }, 'request body')).toThrow(
      /request body: namespace must be a DNS label.*name is required.*nodes must be a JSON object/,
    );
  });

  it('says the body is required when there is none', () => {
    expect(() => parseWith(stopBodySchema, undefined, 'request body')).toThrow(
      new ValidationError('request body is required'),
    );
  });

  it('accepts only the two stop strategies', () => {
    expect(parseWith(stopBodySchema, { strategy: 'Terminate' }, 'body').strategy).toBe('Terminate');
    expect(() => parseWith(stopBodySchema, { strategy: 'Pause' }, 'body')).toThrow(/Stop, Terminate/);
  });

  it('rejects a remove list that is not strings', () => {
    expect(() => parseWith(nodeDeltaSchema, { remove: [1] }, 'body')).toThrow(ValidationError);
  });
});

describe('list query', () => {
  it('defaults the limit to 100 and bounds it to 1-1000', () => {
    expect(parseWith(listQuerySchema, {}, 'query')).toEqual({ limit: 100 });
    expect(parseWith(listQuerySchema, { limit: '1000', next: 'abc' }, 'query')).toEqual({
      limit: 1000,
      next: 'abc',
    });
    for (const limit of ['0', '1001', '-1', '1.5', 'ten', '']) {
      expect(() => parseWith(listQuerySchema, { limit }, 'query'), limit).toThrow(ValidationError);
    }
  });
});
