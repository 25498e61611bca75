import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/json.ts';
import {
  canonicalIp,
  canonicalIpv6,
  dropNulls,
  normalizeService,
  sameService,
} from './normalize.ts';

const T = '0191dce4-9ab4-7fce-b660-8e5dec5172da';
const ipHost = { ipv4: '10.0.0.1', network: { tunnel_id: T } };
const TLS_DEFAULT = { cert_verification_mode: 'verify_full' };

describe('normalizeService', () => {
  const cases: [string, JsonObject, JsonObject][] = [
    [
      'http: defaults 80/443 and verify_full',
      { name: 'web', type: 'http', host: ipHost },
      {
        host: ipHost,
        http_port: 80,
        https_port: 443,
        name: 'web',
        tls_settings: TLS_DEFAULT,
        type: 'http',
      },
    ],
    [
      'drops server-owned and unknown keys',
      {
        service_id: '550e8400-e29b-41d4-a716-446655440000',
        created_at: '2024-01-15T09:30:00Z',
        updated_at: '2024-01-15T09:30:00Z',
        extra: 1,
        name: 'web',
        type: 'http',
        host: { ...ipHost, junk: true, network: { tunnel_id: T, more: 1 } },
      },
      {
        host: ipHost,
        http_port: 80,
        https_port: 443,
        name: 'web',
        tls_settings: TLS_DEFAULT,
        type: 'http',
      },
    ],
    [
      'null ≡ absent for optional fields',
      {
        name: 'web',
        type: 'http',
        host: ipHost,
        http_port: null,
        https_port: null,
        tls_settings: null,
      },
      {
        host: ipHost,
        http_port: 80,
        https_port: 443,
        name: 'web',
        tls_settings: TLS_DEFAULT,
        type: 'http',
      },
    ],
    [
      'explicit values are kept',
      {
        name: 'web',
        type: 'http',
        host: ipHost,
        http_port: 8080,
        https_port: 8443,
        tls_settings: { cert_verification_mode: 'disabled' },
      },
      {
        host: ipHost,
        http_port: 8080,
        https_port: 8443,
        name: 'web',
        tls_settings: { cert_verification_mode: 'disabled' },
        type: 'http',
      },
    ],
    [
      'http: tcp fields are foreign and dropped',
      { name: 'web', type: 'http', host: ipHost, tcp_port: 22, app_protocol: 'mysql' },
      {
        host: ipHost,
        http_port: 80,
        https_port: 443,
        name: 'web',
        tls_settings: TLS_DEFAULT,
        type: 'http',
      },
    ],
    [
      'tcp: no port defaults, http fields dropped',
      {
        name: 'db',
        type: 'tcp',
        host: ipHost,
        tcp_port: 5432,
        app_protocol: 'postgresql',
        http_port: 80,
      },
      {
        app_protocol: 'postgresql',
        host: ipHost,
        name: 'db',
        tcp_port: 5432,
        tls_settings: TLS_DEFAULT,
        type: 'tcp',
      },
    ],
    [
      'tls_settings keeps only the mode',
      {
        name: 'db',
        type: 'tcp',
        host: ipHost,
        tcp_port: 1,
        tls_settings: { cert_verification_mode: 'verify_ca', x: 1 },
      },
      {
        host: ipHost,
        name: 'db',
        tcp_port: 1,
        tls_settings: { cert_verification_mode: 'verify_ca' },
        type: 'tcp',
      },
    ],
    [
      'resolver_ips [] ≡ absent ≡ null',
      {
        name: 'h',
        type: 'tcp',
        tcp_port: 1,
        host: { hostname: 'db.internal', resolver_network: { tunnel_id: T, resolver_ips: [] } },
      },
      {
        host: { hostname: 'db.internal', resolver_network: { tunnel_id: T } },
        name: 'h',
        tcp_port: 1,
        tls_settings: TLS_DEFAULT,
        type: 'tcp',
      },
    ],
    [
      'resolver_ips null',
      {
        name: 'h',
        type: 'tcp',
        tcp_port: 1,
        host: { hostname: 'db.internal', resolver_network: { tunnel_id: T, resolver_ips: null } },
      },
      {
        host: { hostname: 'db.internal', resolver_network: { tunnel_id: T } },
        name: 'h',
        tcp_port: 1,
        tls_settings: TLS_DEFAULT,
        type: 'tcp',
      },
    ],
    [
      'IPv6 canonical in host and resolvers; resolver order kept; tunnel_id lowercased',
      {
        name: 'h',
        type: 'tcp',
        tcp_port: 1,
        host: {
          hostname: 'db.internal',
          resolver_network: {
            tunnel_id: T.toUpperCase(),
            resolver_ips: ['2001:DB8:0:0:0:0:0:53', '10.0.0.53'],
          },
        },
      },
      {
        host: {
          hostname: 'db.internal',
          resolver_network: { resolver_ips: ['2001:db8::53', '10.0.0.53'], tunnel_id: T },
        },
        name: 'h',
        tcp_port: 1,
        tls_settings: TLS_DEFAULT,
        type: 'tcp',
      },
    ],
    [
      'dual-stack host',
      {
        name: 'd',
        type: 'tcp',
        tcp_port: 1,
        host: { ipv4: '10.0.0.1', ipv6: 'FE80:0000::0001', network: { tunnel_id: T } },
      },
      {
        host: { ipv4: '10.0.0.1', ipv6: 'fe80::1', network: { tunnel_id: T } },
        name: 'd',
        tcp_port: 1,
        tls_settings: TLS_DEFAULT,
        type: 'tcp',
      },
    ],
    [
      'null host keys are absent',
      {
        name: 'd',
        type: 'tcp',
        tcp_port: 1,
        host: { ipv4: '10.0.0.1', ipv6: null, network: { tunnel_id: T } },
      },
      { host: ipHost, name: 'd', tcp_port: 1, tls_settings: TLS_DEFAULT, type: 'tcp' },
    ],
  ];

  it.each(cases)('%s', (_label, input, expected) => {
    const out = normalizeService(input);
    expect(out).toEqual(expected);
    // Keys are sorted at every level.
    expect(JSON.stringify(out)).toBe(JSON.stringify(expected));
  });

  it('is idempotent', () => {
    for (const [, input] of cases)
      expect(normalizeService(normalizeService(input))).toEqual(normalizeService(input));
  });

  it('does not mutate its input', () => {
    const input: JsonObject = {
      name: 'web',
      type: 'http',
      host: { ipv6: 'FE80::1', network: { tunnel_id: T } },
    };
    const copy = structuredClone(input);
    normalizeService(input);
    expect(input).toEqual(copy);
  });

  it('host forms stay distinct (moving between network and resolver_network is a change)', () => {
    const a = {
      name: 'x',
      type: 'tcp',
      tcp_port: 1,
      host: { ipv4: '10.0.0.1', network: { tunnel_id: T } },
    };
    const b = {
      name: 'x',
      type: 'tcp',
      tcp_port: 1,
      host: { hostname: '10.0.0.1', resolver_network: { tunnel_id: T } },
    };
    expect(sameService(a, b)).toBe(false);
  });

  it('explicit 80/443 and verify_full equal the omitted form', () => {
    expect(
      sameService(
        { name: 'w', type: 'http', host: ipHost },
        {
          name: 'w',
          type: 'http',
          host: ipHost,
          http_port: 80,
          https_port: 443,
          tls_settings: TLS_DEFAULT,
        },
      ),
    ).toBe(true);
  });
});

describe('canonicalIpv6 (RFC 5952)', () => {
  it.each([
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['fe80::0001', 'fe80::1'],
    ['2001:db8::0:1', '2001:db8::1'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['::FFFF:0a00:0001', '::ffff:10.0.0.1'],
    ['::10.0.0.1', '::a00:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:0:2:3:0:0:4', '1::2:3:0:0:4'],
    ['fe80::1%eth0', 'fe80::1%eth0'],
  ])('%s → %s', (input, expected) => {
    expect(canonicalIpv6(input)).toBe(expected);
  });

  it.each([['10.0.0.1'], ['not-an-ip'], ['db.internal']])(
    'canonicalIp leaves %s alone',
    (input) => {
      expect(canonicalIp(input)).toBe(input);
    },
  );
});

describe('dropNulls', () => {
  it('drops null keys at every level and keeps array items', () => {
    expect(dropNulls({ a: null, b: { c: null, d: 1 }, e: [null, { f: null }] })).toEqual({
      b: { d: 1 },
      e: [null, {}],
    });
  });
});
