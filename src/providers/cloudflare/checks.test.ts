import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/json.ts';
import { checkService, hostnameProblem } from './checks.ts';

const T = '0191dce4-9ab4-7fce-b660-8e5dec5172da';
const ipHost = { ipv4: '10.0.0.1', network: { tunnel_id: T } };

function problems(spec: JsonObject): [string, string, string][] {
  return checkService(spec).map((p) => [p.severity, p.code, p.pointer]);
}

describe('checkService: valid specs have no problems', () => {
  it.each<[string, JsonObject]>([
    ['http ipv4', { name: 'w', type: 'http', host: ipHost }],
    [
      'http ipv6',
      { name: 'w', type: 'http', host: { ipv6: 'fe80::1', network: { tunnel_id: T } } },
    ],
    [
      'dual-stack',
      {
        name: 'w',
        type: 'http',
        host: { ipv4: '10.0.0.1', ipv6: '2001:db8::1', network: { tunnel_id: T } },
      },
    ],
    [
      'hostname with resolvers',
      {
        name: 'd',
        type: 'tcp',
        tcp_port: 5432,
        app_protocol: 'postgresql',
        host: {
          hostname: 'db.internal',
          resolver_network: { tunnel_id: T, resolver_ips: ['10.0.0.53', '2001:db8::53'] },
        },
      },
    ],
    [
      'hostname without resolvers',
      {
        name: 'd',
        type: 'tcp',
        tcp_port: 1,
        host: { hostname: 'db.internal.', resolver_network: { tunnel_id: T } },
      },
    ],
    ['foreign field as null', { name: 'w', type: 'http', host: ipHost, tcp_port: null }],
    [
      'all tls modes',
      {
        name: 'w',
        type: 'http',
        host: ipHost,
        tls_settings: { cert_verification_mode: 'verify_ca' },
      },
    ],
  ])('%s', (_label, spec) => {
    expect(checkService(spec)).toEqual([]);
  });
});

describe('checkService: problems with exact pointers', () => {
  it.each<[string, JsonObject, [string, string, string][]]>([
    [
      'bad ipv4',
      { name: 'w', type: 'http', host: { ipv4: '10.0.0.300', network: { tunnel_id: T } } },
      [['error', 'IP_ADDRESS', '/host/ipv4']],
    ],
    [
      'ipv6 given as ipv4',
      { name: 'w', type: 'http', host: { ipv4: '::1', network: { tunnel_id: T } } },
      [['error', 'IP_ADDRESS', '/host/ipv4']],
    ],
    [
      'bad ipv6',
      { name: 'w', type: 'http', host: { ipv6: 'fe80::g', network: { tunnel_id: T } } },
      [['error', 'IP_ADDRESS', '/host/ipv6']],
    ],
    [
      'tunnel_id not a UUID',
      { name: 'w', type: 'http', host: { ipv4: '10.0.0.1', network: { tunnel_id: 'my-tunnel' } } },
      [['error', 'TUNNEL_ID', '/host/network/tunnel_id']],
    ],
    [
      'resolver tunnel_id not a UUID',
      {
        name: 'w',
        type: 'tcp',
        tcp_port: 1,
        host: { hostname: 'x.internal', resolver_network: { tunnel_id: '123' } },
      },
      [['error', 'TUNNEL_ID', '/host/resolver_network/tunnel_id']],
    ],
    [
      'resolver ip not an IP',
      {
        name: 'w',
        type: 'tcp',
        tcp_port: 1,
        host: {
          hostname: 'x.internal',
          resolver_network: { tunnel_id: T, resolver_ips: ['10.0.0.53', 'dns.google'] },
        },
      },
      [['error', 'IP_ADDRESS', '/host/resolver_network/resolver_ips/1']],
    ],
    [
      'tcp without tcp_port',
      { name: 'd', type: 'tcp', host: ipHost },
      [['error', 'TCP_PORT_REQUIRED', '/tcp_port']],
    ],
    [
      'tcp with tcp_port null',
      { name: 'd', type: 'tcp', host: ipHost, tcp_port: null },
      [['error', 'TCP_PORT_REQUIRED', '/tcp_port']],
    ],
    [
      'http with tcp fields',
      { name: 'w', type: 'http', host: ipHost, tcp_port: 22, app_protocol: 'mysql' },
      [
        ['error', 'FOREIGN_FIELD', '/tcp_port'],
        ['error', 'FOREIGN_FIELD', '/app_protocol'],
      ],
    ],
    [
      'tcp with http fields',
      { name: 'd', type: 'tcp', tcp_port: 1, host: ipHost, http_port: 80, https_port: 443 },
      [
        ['error', 'FOREIGN_FIELD', '/http_port'],
        ['error', 'FOREIGN_FIELD', '/https_port'],
      ],
    ],
    [
      'undocumented cert mode is a warning',
      { name: 'w', type: 'http', host: ipHost, tls_settings: { cert_verification_mode: 'strict' } },
      [['warning', 'CERT_VERIFICATION_MODE', '/tls_settings/cert_verification_mode']],
    ],
    [
      'unknown and read-only keys',
      {
        name: 'w',
        type: 'http',
        host: ipHost,
        service_id: 'x',
        colour: 'red',
        tls_settings: { cert_verification_mode: 'disabled', sni: 'x' },
      },
      [
        ['error', 'READ_ONLY_FIELD', '/service_id'],
        ['error', 'UNKNOWN_KEY', '/colour'],
        ['error', 'UNKNOWN_KEY', '/tls_settings/sni'],
      ],
    ],
    [
      'unknown keys inside host and networks',
      {
        name: 'w',
        type: 'http',
        host: { ipv4: '10.0.0.1', port: 80, network: { tunnel_id: T, vnet: 'x' } },
      },
      [
        ['error', 'UNKNOWN_KEY', '/host/port'],
        ['error', 'UNKNOWN_KEY', '/host/network/vnet'],
      ],
    ],
    [
      'mixed host forms',
      {
        name: 'w',
        type: 'http',
        host: { ipv4: '10.0.0.1', hostname: 'x.internal', network: { tunnel_id: T } },
      },
      [['error', 'HOST_SHAPE', '/host']],
    ],
    ['empty host', { name: 'w', type: 'http', host: {} }, [['error', 'HOST_SHAPE', '/host']]],
    [
      'ip without network',
      { name: 'w', type: 'http', host: { ipv4: '10.0.0.1' } },
      [['error', 'HOST_SHAPE', '/host/network']],
    ],
    [
      'network without ip',
      { name: 'w', type: 'http', host: { network: { tunnel_id: T } } },
      [['error', 'HOST_SHAPE', '/host']],
    ],
    [
      'hostname without resolver_network',
      { name: 'w', type: 'http', host: { hostname: 'x.internal' } },
      [['error', 'HOST_SHAPE', '/host/resolver_network']],
    ],
    [
      'resolver_network without hostname',
      { name: 'w', type: 'http', host: { resolver_network: { tunnel_id: T } } },
      [['error', 'HOST_SHAPE', '/host/hostname']],
    ],
    [
      'hostname with a scheme',
      {
        name: 'w',
        type: 'http',
        host: { hostname: 'https://x.internal', resolver_network: { tunnel_id: T } },
      },
      [['error', 'HOSTNAME', '/host/hostname']],
    ],
  ])('%s', (_label, spec, expected) => {
    expect(problems(spec)).toEqual(expected);
  });

  it('messages name the field and the reason', () => {
    const [p] = checkService({ name: 'w', type: 'http', host: ipHost, tcp_port: 22 });
    expect(p?.message).toBe('"tcp_port" belongs to services of type "tcp", not "http"; remove it');
    expect(p?.atKey).toBe(true);
  });

  it('is defensive about wrong types (the schema reports those)', () => {
    expect(() =>
      checkService({ name: 1, type: [], host: 'x', tls_settings: 'y' } as unknown as JsonObject),
    ).not.toThrow();
  });
});

describe('hostnameProblem (wrangler rules)', () => {
  it.each([
    ['db.internal', undefined],
    ['localhost', undefined],
    ['my_service.corp', undefined],
    ['', 'it is empty'],
    ['db internal', 'it contains whitespace'],
    ['db.internal\n', 'it contains whitespace'],
    ['http://db.internal', 'remove the scheme (e.g. "https://")'],
    ['postgres://db', 'remove the scheme (e.g. "https://")'],
    ['db.internal/path', 'remove the path'],
    ['db.internal:5432', 'remove the port; ports go in http_port/https_port/tcp_port'],
    ['10.0.0.1', 'it is an IP address; use "ipv4"/"ipv6" with "network" instead'],
    ['::1', 'it is an IP address; use "ipv4"/"ipv6" with "network" instead'],
    ['a..b', 'it has an empty label ("..")'],
    [
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`,
      'it is longer than 253 characters',
    ],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, undefined],
  ])('%j → %s', (name, expected) => {
    expect(hostnameProblem(name)).toBe(expected);
  });
});
