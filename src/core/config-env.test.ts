import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.ts';

const types = ['kazoo', 'cloudflare'];
const parse = (text: string, vars: Record<string, string> = {}) =>
  parseConfig('connops.yaml', '/repo', text, (n) => vars[n], types);
const sorted = (r: ReturnType<typeof parse>) =>
  [...r.diagnostics].sort((a, b) => a.line - b.line || a.col - b.col);
const brief = (r: ReturnType<typeof parse>) =>
  sorted(r).map((d) => `${d.line}:${d.col} ${d.severity} ${d.code}`);

const base = [
  'targets:',
  '  kazoo-prod:',
  '    type: kazoo',
  '    url: ${env:KAZOO_URL}',
  '    auth:',
  '      api_key: ${env:KAZOO_API_KEY}',
  '  cf:',
  '    type: cloudflare',
  '    account_id: 023e105f4ecef8ad9ca31a8372d0c353',
  '    auth: { token: "${env:KAZOO_API_KEY}" }',
  '',
].join('\n');

describe('parseConfig without secrets', () => {
  it('reports each unset credential or url variable once, as a notice, and leaves the setting out', () => {
    const r = parse(base);
    expect(brief(r)).toEqual(['4:10 notice ENV_MISSING', '6:16 notice ENV_MISSING']);
    expect(r.diagnostics[1]?.message).toContain('KAZOO_API_KEY is not set');
    const t = r.config?.targets['kazoo-prod'];
    expect(t?.url).toBeUndefined();
    expect(t?.auth).toEqual({});
    expect(t?.unset).toEqual([
      { setting: 'url', variable: 'KAZOO_URL' },
      { setting: 'auth.api_key', variable: 'KAZOO_API_KEY' },
    ]);
    expect(r.config?.targets['cf']?.unset).toEqual([
      { setting: 'auth.token', variable: 'KAZOO_API_KEY' },
    ]);
  });

  it('treats a set but empty credential as unset, with a notice', () => {
    const r = parse(base, { KAZOO_URL: 'https://k.example.net/v2', KAZOO_API_KEY: '' });
    // Empty counts as unset (GitHub passes a secret a workflow cannot see as ""),
    // and the notice names the variable.
    expect(brief(r)).toEqual(['6:16 notice ENV_MISSING']); // once per variable
    expect(r.diagnostics.map((d) => d.message).join('\n')).toContain(
      'environment variable KAZOO_API_KEY is not set',
    );
    expect(r.config?.targets['kazoo-prod']?.auth).toEqual({});
  });

  it('keeps an unset variable elsewhere (an account id) an error', () => {
    const r = parse(base.replace('023e105f4ecef8ad9ca31a8372d0c353', '${env:CF_ACCOUNT}'), {
      KAZOO_URL: 'https://k.example.net/v2',
      KAZOO_API_KEY: 'k',
    });
    expect(brief(r)).toEqual(['9:17 error ENV_MISSING']);
  });
});

describe('parseConfig reports every problem in one pass, each at its own line', () => {
  const text = [
    'targets:',
    '  kazoo-prod:',
    '    type: kazooo',
    '    concurency: 8',
    '    timeout_ms: fast',
    '  cf:',
    '    url: ftp://x',
    '    type: cloudflare',
    'polcy:',
    '  prune: false',
    'documents: 5',
    '',
  ].join('\n');
  const r = parse(text);

  it('lists them all', () => {
    expect(brief(r)).toEqual([
      '3:11 error CONFIG',
      '4:5 warning CONFIG_UNKNOWN_KEY',
      '5:17 error CONFIG',
      '7:10 error CONFIG',
      '9:1 warning CONFIG_UNKNOWN_KEY',
      '11:12 error CONFIG',
    ]);
  });

  it('says "unknown type" with a suggestion, and "did you mean" for keys', () => {
    const m = sorted(r).map((d) => d.message);
    expect(m[0]).toBe(
      'unknown type "kazooo" for target "kazoo-prod" (did you mean "kazoo"?); known types: kazoo, cloudflare',
    );
    expect(m[1]).toContain(
      'unknown setting "concurency" in target "kazoo-prod" (did you mean "concurrency"?)',
    );
    expect(m[3]).toContain('e.g. https://api.cloudflare.com/client/v4');
    expect(m[4]).toContain('unknown config key "polcy" (did you mean "policy"?)');
  });

  it('still returns the targets, so the documents can be checked', () => {
    expect(Object.keys(r.config?.targets ?? {})).toEqual(['kazoo-prod', 'cf']);
    expect(r.config?.targets['kazoo-prod']?.type).toBe('');
  });

  it('says a missing type is missing', () => {
    const m = parse('targets:\n  k:\n    url: https://x/v2\n');
    expect(m.diagnostics.map((d) => d.message)).toEqual([
      'target "k" needs `type`: one of kazoo, cloudflare',
    ]);
  });
});
