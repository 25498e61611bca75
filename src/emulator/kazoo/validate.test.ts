import { describe, expect, it } from 'vitest';
import { kazooConnectivitySchema } from '../../providers/kazoo/schema.ts';
import {
  dottedPath,
  kazooValidationErrors,
  mergePatch,
  normalizeNumber,
  prepareWrite,
} from './validate.ts';

describe('dottedPath (§3.3)', () => {
  it.each([
    [['servers', '0', 'auth'], 'servers.0.auth'],
    [['servers', '0', 'DIDs', '+14155550100'], 'servers.0.DIDs.+14155550100'],
    [['custom', 'a.b'], 'custom.a%2Eb'],
  ])('%j → %s', (tokens, expected) => {
    expect(dottedPath(tokens)).toBe(expected);
  });
});

describe('kazooValidationErrors', () => {
  it('keeps only the later validator when two fail on one path', () => {
    const errors = kazooValidationErrors([
      {
        pointer: '/x',
        keyword: 'type',
        message: '',
        missing: false,
        params: { type: 'integer' },
        value: 'a',
      },
      {
        pointer: '/x',
        keyword: 'enum',
        message: '',
        missing: false,
        params: { allowedValues: [1] },
        value: 'a',
      },
    ]);
    expect(errors).toEqual({
      x: {
        enum: { message: 'Value not found in enumerated list of values', target: [1], value: 'a' },
      },
    });
  });
});

describe('prepareWrite', () => {
  it('coerces, defaults and validates in Kazoo order; private keys and id are dropped', () => {
    const out = prepareWrite(kazooConnectivitySchema('4.3'), {
      id: 'x',
      _rev: '1-a',
      pvt_x: 1,
      servers: [{ auth: {}, options: { port: '5060' } }],
    });
    expect(out).toEqual({
      ok: true,
      doc: {
        servers: [
          {
            auth: { auth_method: 'password' },
            options: {
              port: 5060,
              delay: 0,
              enabled: true,
              force_outbound: false,
              hunt_non_reconcilable: false,
              inbound_format: 'npan',
              media_handling: 'bypass',
            },
          },
        ],
      },
    });
  });

  it('4.0 leaves server options unchecked (malformed schema, §2.5)', () => {
    const out = prepareWrite(kazooConnectivitySchema('4.0'), {
      servers: [{ auth: {}, options: { inbound_format: 'x' } }],
    });
    expect(out.ok).toBe(true);
  });
});

describe('mergePatch (§1.7)', () => {
  it('drops stored nulls and leaves the inputs untouched', () => {
    const stored = { a: null, b: { c: 1 } };
    const request = { b: { d: 2 } };
    expect(mergePatch(request, stored)).toEqual({ b: { c: 1, d: 2 } });
    expect(stored).toEqual({ a: null, b: { c: 1 } });
  });
});

describe('normalizeNumber', () => {
  it.each([
    ['+14155550100', '+14155550100'],
    ['4155550100', '+14155550100'],
    ['14155550100', '+14155550100'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeNumber(input)).toBe(expected);
  });
});
