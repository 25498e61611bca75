import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  escapeMarkdownCell,
  escapeWorkflowData,
  escapeWorkflowProperty,
  jsonStringBody,
} from '../core/escape.ts';
import { SecretSet, formsOf, redactHeaders, redactUrl } from './redact.ts';

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

describe('SecretSet and escaped output (redaction is part of every encoding)', () => {
  const tricky = 'Sip"Usr\\Zed9%\r\nLine2:, |x`';

  it('masks a secret that a renderer escaped before redaction saw it', () => {
    const secrets = new SecretSet();
    secrets.add(tricky);
    const json = JSON.stringify({ message: `SIP user "${tricky}" rejected` });
    expect(secrets.redact(json)).toBe(JSON.stringify({ message: 'SIP user "***" rejected' }));
    // Masking whole escaped forms keeps the JSON parseable.
    expect(JSON.parse(secrets.redact(json))).toEqual({ message: 'SIP user "***" rejected' });
    expect(secrets.redact(`::error::${escapeWorkflowData(`bad ${tricky}.`)}`)).toBe(
      '::error::bad ***.',
    );
    expect(secrets.redact(`title=${escapeWorkflowProperty(tricky)}`)).toBe('title=***');
    expect(secrets.redact(`| ${escapeMarkdownCell(tricky)} |`)).toBe('| *** |');
    expect(secrets.redact(`?q=${encodeURIComponent(tricky)}&x=1`)).toBe('?q=***&x=1');
    expect(secrets.redact(Buffer.from(tricky).toString('base64'))).toBe('***');
    // Two escapings in a row: a JSON-quoted value in a JSON document, or in an annotation.
    const quoted = jsonStringBody(`"${tricky}"`);
    expect(secrets.redact(JSON.stringify({ m: JSON.stringify(tricky) }))).toBe('{"m":"\\"***\\""}');
    expect(secrets.redact(escapeWorkflowData(quoted))).not.toContain('Usr');
    expect(secrets.size).toBe(1);
  });

  it('forms of an ordinary secret are just itself and its base64', () => {
    expect([...formsOf('hunter22')].sort()).toEqual(
      ['aHVudGVyMjI=', 'aHVudGVyMjI', 'hunter22'].sort(),
    );
  });

  it('no escaped form of any secret survives (property)', () => {
    const alphabet = [
      ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)),
      '\r',
      '\n',
      '\t',
    ];
    const secret = fc
      .array(fc.constantFrom(...alphabet), { minLength: 4, maxLength: 16 })
      .map((a) => `${a.join('')}#Zq`);
    const wrap = fc.constantFrom(
      (s: string) => JSON.stringify({ a: [s] }, null, 2),
      (s: string) => `::error file=f,line=1::${escapeWorkflowData(s)}`,
      (s: string) => `::error title=${escapeWorkflowProperty(s)}::x`,
      (s: string) => `| ${escapeMarkdownCell(s)} |`,
      (s: string) => JSON.stringify(`value ${JSON.stringify(s)} bad`),
      (s: string) => escapeWorkflowData(JSON.stringify(s)),
    );
    fc.assert(
      fc.property(
        secret,
        fc.string({ maxLength: 6 }),
        fc.string({ maxLength: 6 }),
        wrap,
        (s, l, r, w) => {
          const secrets = new SecretSet();
          secrets.add(s);
          const out = secrets.redact(w(`${l}${s}${r}`));
          expect(out).not.toContain('#Zq');
        },
      ),
      { numRuns: 400, seed: 23 },
    );
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
