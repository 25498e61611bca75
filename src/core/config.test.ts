/**
 * Credentials go only over TLS to a host that is not this machine
 * (INVARIANTS.md 16, issue 23 item 4): plain http to anything but loopback is
 * an error at the url's position for a target with credentials, unless the
 * target sets `insecure_http: true`, which turns it into a warning.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig, plainHttpHost } from './config.ts';

const ENV: Record<string, string> = {
  KEY: 'k'.repeat(64),
  URL: 'http://kazoo.env.example:8000/v2',
};

function config(target: string[]): string {
  return [
    'targets:',
    '  prod:',
    '    type: kazoo',
    ...target.map((l) => `    ${l}`),
    'documents:',
    "  - 'docs/*.yaml'",
    '',
  ].join('\n');
}

const parse = (text: string) =>
  parseConfig('connops.yaml', '/p', text, (n) => ENV[n], ['kazoo', 'cloudflare']);

describe('plain http', () => {
  it('is an error at the url for a target with credentials', () => {
    const r = parse(
      config(['url: http://kazoo.prod.example.net:8000/v2', 'auth:', '  api_key: ${env:KEY}']),
    );
    // The config still comes back (its documents get checked); the error stops plan and apply.
    expect(r.diagnostics.some((d) => d.severity === 'error')).toBe(true);
    expect(r.diagnostics).toMatchObject([
      { severity: 'error', code: 'INSECURE_HTTP', file: 'connops.yaml', line: 4, col: 10 },
    ]);
    expect(r.diagnostics[0]?.message).toContain('kazoo.prod.example.net');
    expect(r.diagnostics[0]?.message).toContain('insecure_http: true');
  });

  it('is an error when the url comes from ${env:} (positioned at the url line)', () => {
    const r = parse(config(['url: ${env:URL}', 'auth:', '  api_key: ${env:KEY}']));
    expect(r.diagnostics).toMatchObject([{ code: 'INSECURE_HTTP', line: 4 }]);
  });

  it('is a warning with insecure_http: true (given every time the config is read)', () => {
    const r = parse(
      config([
        'url: http://kazoo.lab.example:8000/v2',
        'insecure_http: true',
        'auth:',
        '  api_key: ${env:KEY}',
      ]),
    );
    expect(r.config?.targets['prod']?.url).toBe('http://kazoo.lab.example:8000/v2');
    expect(r.diagnostics).toMatchObject([
      { severity: 'warning', code: 'INSECURE_HTTP', line: 4, col: 10 },
    ]);
  });

  it('insecure_http must be a boolean', () => {
    const r = parse(
      config(['url: https://k.example/v2', 'insecure_http: "yes"', 'auth:', '  api_key: x1234']),
    );
    expect(r.diagnostics).toMatchObject([{ severity: 'error', code: 'CONFIG', line: 5, col: 20 }]);
  });

  it.each([
    'http://127.0.0.1:8000/v2',
    'http://127.200.3.4/v2',
    'http://127.1:8000/v2',
    'http://localhost:8000/v2',
    'http://LOCALHOST/v2',
    'http://[::1]:8000/v2',
    'https://kazoo.prod.example.net:8443/v2',
  ])('%s is allowed without insecure_http', (url) => {
    const r = parse(config([`url: ${url}`, 'auth:', '  api_key: ${env:KEY}']));
    expect(r.diagnostics).toEqual([]);
    expect(r.config).toBeDefined();
  });

  it.each([
    ['http://127.0.0.1.nip.io/v2', '127.0.0.1.nip.io'],
    ['http://localhost.example.com/v2', 'localhost.example.com'],
    ['http://10.0.0.5:8000/v2', '10.0.0.5'],
    ['http://[::ffff:127.0.0.1]/v2', '[::ffff:7f00:1]'],
    ['http://[2001:db8::1]/v2', '[2001:db8::1]'],
    ['http://0.0.0.0/v2', '0.0.0.0'],
  ])('%s is not loopback', (url, host) => {
    expect(plainHttpHost(url)).toBe(host);
  });

  it('a target without credentials may use plain http (it sends none)', () => {
    const r = parse(config(['url: http://kazoo.prod.example.net:8000/v2']));
    expect(r.diagnostics).toEqual([]);
  });
});
