import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretSet, redactHeaders, redactUrl } from './redact.ts';

describe('SecretSet', () => {
  it('masks every occurrence of every registered secret', () => {
    const secrets = new SecretSet();
    secrets.add('hunter22');
    secrets.add('k'.repeat(64));
    expect(secrets.redact(`pw hunter22 and hunter22, key ${'k'.repeat(64)}.`)).toBe(
      'pw *** and ***, key ***.',
    );
    expect(secrets.has('x hunter22 y')).toBe(true);
    expect(secrets.has('nothing here')).toBe(false);
    expect(secrets.size).toBe(2);
  });

  it('ignores short and undefined values (they would mangle ordinary text)', () => {
    const secrets = new SecretSet();
    secrets.add('abc');
    secrets.add('');
    secrets.add(undefined);
    expect(secrets.size).toBe(0);
    expect(secrets.redact('abc abc')).toBe('abc abc');
  });

  it('masks a secret containing another one whole', () => {
    const secrets = new SecretSet();
    secrets.add('pass');
    secrets.add('password123');
    expect(secrets.redact('password123 pass')).toBe('*** ***');
  });

  it('masks overlapping secrets as one, so no part of either shows', () => {
    const secrets = new SecretSet();
    secrets.add('abcd');
    secrets.add('cdefgh');
    expect(secrets.redact('xx abcdefgh yy')).toBe('xx *** yy');
    expect(secrets.redact('abcdabcd')).toBe('***');
  });

  it('leaves no registered secret in any text (generated secrets that overlap a lot)', () => {
    const word = (min: number, max: number) =>
      fc.string({ unit: fc.constantFrom('a', 'b'), minLength: min, maxLength: max });
    fc.assert(
      fc.property(fc.array(word(4, 8), { maxLength: 30 }), word(0, 80), (list, text) => {
        const secrets = new SecretSet();
        for (const v of list) secrets.add(v);
        const out = secrets.redact(text);
        for (const v of list) expect(out.includes(v)).toBe(false);
        expect(secrets.has(text)).toBe(list.some((v) => text.includes(v)));
      }),
      { numRuns: 500 },
    );
  });

  it('treats secrets literally (no regular expression syntax)', () => {
    const secrets = new SecretSet();
    secrets.add('a.b*c+(d)');
    expect(secrets.redact('xa.b*c+(d)y aXbbc')).toBe('x***y aXbbc');
  });
});

describe('redactUrl', () => {
  it.each([
    ['/v2/x?auth_token=abc.def&page_size=5', '/v2/x?auth_token=***&page_size=5'],
    ['https://h/p?a=1&api_key=zzz', 'https://h/p?a=1&api_key=***'],
    ['/plain/path', '/plain/path'],
  ])('%s → %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});

describe('redactHeaders', () => {
  it('masks credential headers whatever their case', () => {
    expect(
      redactHeaders({
        'X-Auth-Token': 't0k3n',
        authorization: 'Bearer x',
        accept: 'application/json',
      }),
    ).toEqual({
      'X-Auth-Token': '***',
      authorization: '***',
      accept: 'application/json',
    });
  });
});
