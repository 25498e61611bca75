import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/json.ts';
import { checkKazooSpec, closest, didProblem, REQUEST_CONTROL_KEYS } from './checks.ts';

const ip = (extra: JsonObject = {}): JsonObject => ({
  auth: { auth_method: 'ip', ip: '192.0.2.1' },
  options: {},
  ...extra,
});
const problems = (spec: JsonObject) =>
  checkKazooSpec(spec, '4.3').map((p) => [p.severity, p.code, p.pointer]);

describe('didProblem (kazoo-api.md §7.6.1)', () => {
  it.each([
    ['+14155550100', undefined],
    ['+442071838750', undefined],
    ['4155550100', /for a NANP number: "\+14155550100"/],
    ['14155550100', /e\.g\. "\+14155550100"/],
    ['+1415555010', /\+1 must be followed by exactly 10 digits/],
    ['+0123456', /not a \+E\.164 number/],
    ['+1-415-555-0100', /not a \+E\.164 number/],
    ['', /not a \+E\.164 number/],
    ['+1234567890123456', /not a \+E\.164 number/], // 16 digits
  ])('%j', (did, want) => {
    const got = didProblem(did);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(want);
  });
});

describe('checkKazooSpec', () => {
  it.each([
    ['a valid IP server', { servers: [ip()] }, []],
    [
      'coercible strings pass ("5060", "true")',
      {
        servers: [
          ip({
            auth: { auth_method: 'ip', ip: '192.0.2.1', port: '5060' },
            options: { enabled: 'true' },
          }),
        ],
      },
      [],
    ],
    [
      '"yes" for a boolean',
      { servers: [ip({ options: { enabled: 'yes' } })] },
      [['error', 'SCHEMA', '/servers/0/options/enabled']],
    ],
    ['a server without auth', { servers: [{ options: {} }] }, [['error', 'SCHEMA', '/servers/0']]],
    [
      'password auth without user, password and options',
      { servers: [{ auth: { auth_method: 'password' } }] },
      [
        ['error', 'PASSWORD_AUTH', '/servers/0/auth'],
        ['error', 'PASSWORD_AUTH', '/servers/0/auth'],
        ['error', 'PASSWORD_AUTH', '/servers/0'],
      ],
    ],
    [
      '"Password" is password auth too (the server lower-cases it)',
      { servers: [{ auth: { auth_method: 'Password', auth_user: 'u' }, options: {} }] },
      [['error', 'PASSWORD_AUTH', '/servers/0/auth']],
    ],
    [
      'IP auth without auth.ip',
      { servers: [{ auth: { auth_method: 'IP' }, options: {} }] },
      [['error', 'IP_AUTH', '/servers/0/auth']],
    ],
    [
      'a DID not in +E.164',
      { servers: [ip({ DIDs: { '4155550100': {} } })] },
      [['error', 'DID_FORMAT', '/servers/0/DIDs/4155550100']],
    ],
    [
      'a DID failover not in +E.164',
      { servers: [ip({ DIDs: { '+14155550100': { failover: { e164: '4155550199' } } } })] },
      [['error', 'DID_FORMAT', '/servers/0/DIDs/+14155550100/failover/e164']],
    ],
    [
      'a server failover not in +E.164',
      { servers: [ip({ options: { failover: { e164: '555' } } })] },
      [['error', 'DID_FORMAT', '/servers/0/options/failover/e164']],
    ],
    [
      'a SIP failover is not an E.164 number',
      { servers: [ip({ options: { failover: { sip: 'sip:a@b.example' } } })] },
      [],
    ],
    [
      'an unknown field is a warning',
      { servers: [ip({ options: { inbund_format: 'e164' } })] },
      [['warning', 'UNKNOWN_FIELD', '/servers/0/options/inbund_format']],
    ],
    [
      'an inbound_format outside the enum',
      { servers: [ip({ options: { inbound_format: 'e.164' } })] },
      [['error', 'SCHEMA', '/servers/0/options/inbound_format']],
    ],
  ] as const)('%s', (_name, spec, want) => {
    expect(problems(spec as unknown as JsonObject)).toEqual(want);
  });

  it('suggests the closest known key', () => {
    const [p] = checkKazooSpec({ servers: [ip({ options: { media_handlin: 'bypass' } })] }, '4.3');
    expect(p?.message).toContain('did you mean "media_handling"?');
    expect(closest('zzzzzz', ['enabled'])).toBeUndefined();
  });
});

describe('fields something else reads are not "unknown"', () => {
  /** A connectivity document as MonsterUI's PBX Connector writes it (reference §13). */
  const monsterUi: JsonObject = {
    account: { credits: { prepay: '0.00' }, trunks: 0, inbound_trunks: 0, auth_realm: 'r.local' },
    billing_account_id: '3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9',
    DIDs_Unassigned: {},
    ui_metadata: { version: '4.3', ui: 'monster-ui', origin: 'pbxs' },
    servers: [
      {
        DIDs: { '+14155550100': {} },
        options: {
          enabled: true,
          inbound_format: 'e164',
          international: false,
          caller_id: {},
          e911_info: {},
          failover: {},
          media_handling: 'process',
          codecs: ['PCMU', 'G722'],
        },
        permissions: { users: [] },
        monitor: { monitor_enabled: false },
        server_name: 'PBX 0',
        server_type: 'FreePBX',
        cfg: { register_time: '360' },
        auth: { auth_method: 'Password', auth_user: 'u', auth_password: 'p' },
      },
    ],
  };

  it('MonsterUI fields and trunkstore’s options.codecs give no warning', () => {
    expect(checkKazooSpec(monsterUi, '4.3')).toEqual([]);
  });

  it('a typo next to them still does', () => {
    const spec = structuredClone(monsterUi);
    ((spec['servers'] as JsonObject[])[0] as JsonObject)['server_nmae'] = 'x';
    expect(checkKazooSpec(spec, '4.3').map((p) => [p.code, p.pointer])).toEqual([
      ['UNKNOWN_FIELD', '/servers/0/server_nmae'],
    ]);
  });
});

describe('checkKazooSpec: keys Kazoo reads as request controls (§6.1, §14)', () => {
  it.each(Object.keys(REQUEST_CONTROL_KEYS))('top-level "%s" is an error at its key', (key) => {
    const found = checkKazooSpec({ servers: [ip()], [key]: 'GET' }, '4.3');
    expect(found.map((p) => [p.severity, p.code, p.pointer, p.atKey])).toEqual([
      ['error', 'REQUEST_CONTROL', `/${key}`, true],
    ]);
    expect(found[0]?.message).toContain(`"${key}" cannot be a field of a connectivity document`);
  });

  it('says what verb tunnelling would do', () => {
    const [p] = checkKazooSpec({ verb: 'GET' }, '5');
    expect(p?.message).toMatch(/"GET" would turn connops' write into a read .*nothing written/);
  });

  it('only the top level of data is read: nested or differently cased keys are just unknown', () => {
    expect(
      problems({ servers: [ip({ verb: 'GET' })], Verb: 'GET' }).map(([s, c]) => `${s} ${c}`),
    ).toEqual(['warning UNKNOWN_FIELD', 'warning UNKNOWN_FIELD']);
  });
});
