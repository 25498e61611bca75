import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/json.ts';
import type { TargetConfig } from '../../core/model.ts';
import { validateAgainst } from '../../core/schema.ts';
import { cloudflareConnectivityService as provider } from './provider.ts';
import { CLOUDFLARE_SERVICE_SCHEMA } from './schema.ts';

const T = '0191dce4-9ab4-7fce-b660-8e5dec5172da';
const ipHost = { ipv4: '10.0.0.1', network: { tunnel_id: T } };

function target(over: Partial<TargetConfig> = {}): TargetConfig {
  return {
    name: 'cf',
    type: 'cloudflare',
    account_id: '023e105f4ecef8ad9ca31a8372d0c353',
    auth: { token: 'x'.repeat(40) },
    concurrency: 4,
    timeout_ms: 5000,
    source: { file: 'connops.yaml', line: 1, col: 1 },
    ...over,
  };
}

describe('identity', () => {
  it('describes itself', () => {
    expect(provider.kind).toBe('cloudflare/connectivity-service');
    expect(provider.targetType).toBe('cloudflare');
    expect(provider.verbs).toEqual({ create: 'POST', update: 'PUT', delete: 'DELETE' });
    expect(provider.defaultAccount(target())).toBe('023e105f4ecef8ad9ca31a8372d0c353');
    expect(provider.nameOf({ name: 'web' })).toBe('web');
    expect(provider.nameOf({})).toBeUndefined();
  });

  it('has no secrets, claims or ownership marker', () => {
    const spec = { name: 'w', type: 'http', host: ipHost };
    expect(provider.secretPointers(spec)).toEqual([]);
    expect(provider.claims(spec)).toEqual([]);
    expect(provider.isManaged(spec)).toBe(false);
    expect(provider.markManaged(spec)).toEqual(spec);
    expect(provider.checkAll([])).toEqual([]);
  });
});

describe('checkTarget', () => {
  it.each<[string, Partial<TargetConfig>, string[]]>([
    ['token', {}, []],
    ['email + api_key', { auth: { email: 'a@b.c', api_key: 'k'.repeat(37) } }, []],
    [
      'no account',
      { account_id: undefined as unknown as string },
      ['a cloudflare target needs "account_id" (the 32-character account identifier)'],
    ],
    [
      'short account',
      { account_id: 'abc' },
      [
        '"account_id" must be 32 hexadecimal characters (the Cloudflare account identifier), not "abc"',
      ],
    ],
    ['no auth', { auth: {} }, ['auth needs "token" (an API token), or both "email" and "api_key"']],
    [
      'email alone',
      { auth: { email: 'a@b.c' } },
      ['auth needs "token" (an API token), or both "email" and "api_key"'],
    ],
    [
      'both',
      { auth: { token: 't', email: 'a@b.c', api_key: 'k' } },
      ['auth has both "token" and "email"/"api_key"; use one: a token, or email with api_key'],
    ],
    [
      'unknown key',
      { auth: { token: 't', password: 'p' } },
      ['unknown auth setting "password" (use "token", or "email" with "api_key")'],
    ],
  ])('%s', (_label, over, expected) => {
    const t = target(over);
    if (over.account_id === undefined && 'account_id' in over)
      delete (t as { account_id?: string }).account_id;
    expect(provider.checkTarget(t).map((p) => p.message)).toEqual(expected);
  });
});

describe('schema', () => {
  it('compiles in ajv strict mode and accepts a dual-stack host (spec defect §9.1 avoided)', () => {
    expect(
      validateAgainst(CLOUDFLARE_SERVICE_SCHEMA, {
        name: 'w',
        type: 'http',
        host: { ...ipHost, ipv6: '::1' },
      }),
    ).toEqual([]);
  });

  it('accepts nulls for every optional field', () => {
    const spec = {
      name: 'w',
      type: 'http',
      host: ipHost,
      http_port: null,
      https_port: null,
      tcp_port: null,
      app_protocol: null,
      tls_settings: null,
    };
    expect(validateAgainst(CLOUDFLARE_SERVICE_SCHEMA, spec)).toEqual([]);
  });
});

describe('checkSpec', () => {
  function pointers(spec: JsonObject): [string, string, string][] {
    return provider.checkSpec(spec, target()).map((p) => [p.severity, p.code, p.pointer]);
  }

  it('a valid spec has no problems', () => {
    expect(
      provider.checkSpec({ name: 'w', type: 'http', host: ipHost, http_port: 8080 }, target()),
    ).toEqual([]);
  });

  it.each<[string, JsonObject, [string, string, string][]]>([
    [
      'missing required keys',
      { host: ipHost },
      [
        ['error', 'SCHEMA', '/name'],
        ['error', 'SCHEMA', '/type'],
      ],
    ],
    ['missing host', { name: 'w', type: 'http' }, [['error', 'SCHEMA', '/host']]],
    ['bad type', { name: 'w', type: 'udp', host: ipHost }, [['error', 'SCHEMA', '/type']]],
    [
      'port 0',
      { name: 'w', type: 'http', host: ipHost, http_port: 0 },
      [['error', 'SCHEMA', '/http_port']],
    ],
    [
      'port 65536',
      { name: 'w', type: 'http', host: ipHost, https_port: 65536 },
      [['error', 'SCHEMA', '/https_port']],
    ],
    [
      'port as text',
      { name: 'w', type: 'http', host: ipHost, http_port: '80' },
      [['error', 'SCHEMA', '/http_port']],
    ],
    [
      'bad app_protocol',
      { name: 'd', type: 'tcp', tcp_port: 1, host: ipHost, app_protocol: 'redis' },
      [['error', 'SCHEMA', '/app_protocol']],
    ],
    [
      'tls without mode',
      { name: 'w', type: 'http', host: ipHost, tls_settings: {} },
      [['error', 'SCHEMA', '/tls_settings/cert_verification_mode']],
    ],
    // One clear HOST_SHAPE message, not the oneOf branch noise.
    [
      'mixed host',
      { name: 'w', type: 'http', host: { ...ipHost, hostname: 'x.internal' } },
      [['error', 'HOST_SHAPE', '/host']],
    ],
    [
      'ip host without network',
      { name: 'w', type: 'http', host: { ipv4: '10.0.0.1' } },
      [['error', 'HOST_SHAPE', '/host/network']],
    ],
    // The UUID pattern problem is stated once, by checks.
    [
      'bad tunnel id',
      { name: 'w', type: 'http', host: { ipv4: '10.0.0.1', network: { tunnel_id: 'x' } } },
      [['error', 'TUNNEL_ID', '/host/network/tunnel_id']],
    ],
    [
      'ipv4 of the wrong type',
      { name: 'w', type: 'http', host: { ipv4: 5, network: { tunnel_id: T } } },
      [['error', 'SCHEMA', '/host/ipv4']],
    ],
    [
      'foreign field',
      { name: 'w', type: 'http', host: ipHost, tcp_port: 22 },
      [['error', 'FOREIGN_FIELD', '/tcp_port']],
    ],
    [
      'cert mode warning',
      { name: 'w', type: 'http', host: ipHost, tls_settings: { cert_verification_mode: 'x' } },
      [['warning', 'CERT_VERIFICATION_MODE', '/tls_settings/cert_verification_mode']],
    ],
  ])('%s', (_label, spec, expected) => {
    expect(pointers(spec)).toEqual(expected);
  });
});

describe('buildCreate', () => {
  it('keeps writable keys, drops nulls, unknown and server-owned keys', () => {
    expect(
      provider.buildCreate(
        {
          name: 'w',
          type: 'tcp',
          tcp_port: 5432,
          app_protocol: null,
          service_id: 'x',
          extra: 1,
          host: { hostname: 'db.internal', resolver_network: { tunnel_id: T, resolver_ips: null } },
        },
        target(),
      ),
    ).toEqual({
      name: 'w',
      type: 'tcp',
      tcp_port: 5432,
      host: { hostname: 'db.internal', resolver_network: { tunnel_id: T } },
    });
  });
});

describe('buildUpdate', () => {
  const n = (b: JsonObject): JsonObject => provider.normalize(b, target());

  it('sends the complete desired body as PUT', () => {
    const live = { service_id: 'id', name: 'w', type: 'http', host: ipHost, http_port: 8080 };
    const desired = { name: 'w', type: 'http', host: ipHost, http_port: 8081 };
    expect(provider.buildUpdate(n(live), n(desired), desired)).toEqual({
      method: 'PUT',
      body: desired,
    });
  });

  it('removes a dropped port with null and a dropped tls_settings by leaving it out (REMOVAL_FORM)', () => {
    const live = {
      name: 'w',
      type: 'http',
      host: ipHost,
      http_port: 8080,
      tls_settings: { cert_verification_mode: 'disabled' },
    };
    const desired = { name: 'w', type: 'http', host: ipHost };
    expect(provider.buildUpdate(n(live), n(desired), desired)).toEqual({
      method: 'PUT',
      body: { name: 'w', type: 'http', host: ipHost, http_port: null },
    });
  });

  it('no null where live already equals the default', () => {
    const live = { name: 'w', type: 'http', host: ipHost, http_port: 80, https_port: 9443 };
    const desired = {
      name: 'w',
      type: 'http',
      host: { ...ipHost, ipv4: '10.0.0.2' },
      https_port: 9443,
    };
    expect(provider.buildUpdate(n(live), n(desired), desired).body).toEqual(desired);
  });

  it('clears the old variant’s fields when the type changes', () => {
    const live = { name: 's', type: 'http', host: ipHost, http_port: 8080 };
    const desired = { name: 's', type: 'tcp', host: ipHost, tcp_port: 22 };
    expect(provider.buildUpdate(n(live), n(desired), desired).body).toEqual({
      ...desired,
      http_port: null,
      https_port: null,
    });
  });
});
