import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isObject, type JsonObject, type JsonValue } from '../../core/json.ts';
import { validateAgainst } from '../../core/schema.ts';
import { kazooConnectivitySchema, resolveKazooSchemaVersion } from './schema.ts';

/** Flattens our schema into seed-table rows: dotted key → "type|min..max|default|required|enum". */
function flatten(
  schema: JsonObject,
  prefix = '',
  required = false,
  out = new Map<string, string>(),
): Map<string, string> {
  const type = String(schema['type']);
  const min = schema['minLength'];
  const max = schema['maxLength'];
  const len = min !== undefined || max !== undefined ? `${min ?? 0}..${max ?? ''}` : '';
  const def = schema['default'] !== undefined ? JSON.stringify(schema['default']) : '';
  const en = Array.isArray(schema['enum']) ? (schema['enum'] as string[]).join(',') : '';
  if (prefix) out.set(prefix, `${type}|${len}|${def}|${required}|${en}`);
  const req = Array.isArray(schema['required']) ? (schema['required'] as string[]) : [];
  const props = schema['properties'];
  if (isObject(props))
    for (const [k, v] of Object.entries(props))
      flatten(v as JsonObject, prefix ? `${prefix}.${k}` : k, req.includes(k), out);
  const pats = schema['patternProperties'];
  if (isObject(pats))
    for (const [k, v] of Object.entries(pats))
      flatten(v as JsonObject, `${prefix}./${k}/`, false, out);
  if (isObject(schema['items'])) flatten(schema['items'] as JsonObject, `${prefix}.[]`, false, out);
  return out;
}

const SEED = readFileSync(
  join(import.meta.dirname, '../../../test/fixtures/seed-003-kazoo-4.3.txt'),
  'utf8',
)
  .split('\n')
  .filter((l) => /^(account|name|servers)/.test(l));

/**
 * Matches a seed-003 row to one of our keys. The rows run the cells together
 * (key, description, type, default, required), so the key is the longest of
 * ours that the row starts with and that is followed by a description
 * (capitalised) or directly by the type.
 */
function rowKey(line: string, keys: readonly string[]): string | undefined {
  return keys
    .filter(
      (k) =>
        line.startsWith(k) &&
        /^([A-Z][^]*?)?`?(string|integer|boolean|object|array)\(/.test(line.slice(k.length)),
    )
    .sort((a, b) => b.length - a.length)[0];
}

describe('kazoo/connectivity schemas', () => {
  it.each(['4.0', '4.1', '4.3', '5'] as const)('schema %s compiles under ajv strict mode', (v) => {
    expect(validateAgainst(kazooConnectivitySchema(v), {})).toEqual([]);
  });

  it('4.3 has exactly the keys of seed 003, with its types, lengths, defaults and required flags', () => {
    const ours = flatten(kazooConnectivitySchema('4.3'));
    // The seed lists array items only for arrays of strings.
    const keys = [...ours.keys()].filter(
      (k) => !(k.endsWith('.[]') && ours.get(k)?.startsWith('object')),
    );
    const matched = new Set<string>();
    for (const line of SEED) {
      const key = rowKey(line, keys);
      expect(key, `seed row without a schema key: ${line}`).toBeDefined();
      if (!key) continue;
      matched.add(key);
      const [type, len, def, required] = (ours.get(key) as string).split('|');
      const rest = line.slice(key.length);
      expect(rest, key).toContain(len ? `${type}(${len})` : `${type}(`);
      const truncated = rest.includes('`'); // the enum rows of seed 003 are cut off after the type
      if (!truncated) {
        const after = rest.slice(rest.lastIndexOf(')') + 1);
        const want = def ? String(JSON.parse(def as string)).replace('[]', '[]') : '';
        expect(after, `${key} default`).toBe(
          `${want === '' && type === 'array' && def ? '[]' : want}${required}`,
        );
      }
    }
    expect(keys.filter((k) => !matched.has(k))).toEqual([]);
  });

  it.each([
    [undefined, '4.3'],
    ['4.3', '4.3'],
    ['4.2', '4.1'],
    ['master', '5'],
    ['4.4', undefined],
  ])('schema setting %s selects %s', (setting, want) => {
    expect(resolveKazooSchemaVersion(setting)).toBe(want);
  });

  it.each([
    ['4.0', { account: { auth_realm: 'x.example' } }, 0],
    ['4.3', { account: { auth_realm: 7 } }, 0], // not in 4.3: unknown keys are not validated
    ['4.1', { account: { auth_realm: 7 } }, 1],
    [
      '4.0',
      { servers: [{ auth: { auth_method: 'ip' }, DIDs: { '+14155550100': { caller_id: {} } } }] },
      2,
    ], // 4.0 requires cid_name/cid_number
    [
      '4.3',
      { servers: [{ auth: { auth_method: 'ip' }, DIDs: { '+14155550100': { caller_id: {} } } }] },
      0,
    ],
    [
      '4.1',
      { servers: [{ auth: { auth_method: 'ip' }, options: { hunt_non_reconcilable: 'x' } }] },
      0,
    ], // not in 4.1
    [
      '4.3',
      { servers: [{ auth: { auth_method: 'ip' }, options: { hunt_non_reconcilable: 'x' } }] },
      1,
    ],
    [
      '4.0',
      { servers: [{ auth: { auth_method: 'ip' }, options: { inbound_format: 'anything' } }] },
      0,
    ], // 4.0 options unchecked
  ] as const)('version %s: %j has %d schema problems', (v, body, n) => {
    expect(validateAgainst(kazooConnectivitySchema(v), body as unknown as JsonObject)).toHaveLength(
      n,
    );
  });
});

/** Every [pointer, default, sub-schema] in a schema (properties, patterns and items followed). */
function defaultsOf(schema: JsonObject, at = ''): [string, unknown, JsonObject][] {
  const out: [string, unknown, JsonObject][] = [];
  if (Object.hasOwn(schema, 'default')) out.push([at, schema['default'], schema]);
  for (const group of ['properties', 'patternProperties'] as const) {
    const subs = schema[group];
    if (isObject(subs))
      for (const [k, v] of Object.entries(subs))
        out.push(...defaultsOf(v as JsonObject, `${at}/${k}`));
  }
  if (isObject(schema['items'])) out.push(...defaultsOf(schema['items'] as JsonObject, `${at}/[]`));
  return out;
}

describe('kazoo/connectivity defaults', () => {
  // checkKazooSpec skips coercing and defaulting a body that already validates;
  // that is only sound while every default is itself valid where it is filled in.
  it.each(['4.0', '4.1', '4.3', '5'] as const)('every default of schema %s is valid', (v) => {
    const found = defaultsOf(kazooConnectivitySchema(v));
    expect(found.length).toBeGreaterThan(0);
    for (const [pointer, value, sub] of found) {
      const { default: _d, ...rest } = sub;
      expect([pointer, validateAgainst(rest, value as JsonValue)]).toEqual([pointer, []]);
    }
  });
});

describe('kazoo/connectivity: constraints of the vendor schema the seed tables leave out (§2.1, §14)', () => {
  const ip = { auth_method: 'ip', ip: '192.0.2.10' };
  const withOptions = (options: JsonObject): JsonObject => ({ servers: [{ auth: ip, options }] });
  const keywords = (v: '4.0' | '4.1' | '4.3' | '5', body: JsonObject) =>
    validateAgainst(kazooConnectivitySchema(v), body).map((p) => `${p.pointer} ${p.keyword}`);

  it.each(['4.0', '4.1', '4.3', '5'] as const)('%s: account.trunks has minimum 0', (v) => {
    expect(keywords(v, { account: { trunks: -1 } })).toEqual(['/account/trunks minimum']);
    expect(keywords(v, { account: { trunks: 0 } })).toEqual([]);
  });

  it.each(['4.1', '4.3', '5'] as const)('%s: options.progress_timeout has minimum 1', (v) => {
    expect(keywords(v, withOptions({ progress_timeout: 0 }))).toEqual([
      '/servers/0/options/progress_timeout minimum',
    ]);
    expect(keywords(v, withOptions({ progress_timeout: 1 }))).toEqual([]);
  });

  it('4.0: options are unchecked (malformed vendor schema), so progress_timeout 0 passes', () => {
    expect(keywords('4.0', withOptions({ progress_timeout: 0 }))).toEqual([]);
  });

  it.each([
    ['4.1', false],
    ['4.3', false],
    ['5', true],
  ] as const)('%s: inbound_format strip_plus valid = %s', (v, valid) => {
    expect(keywords(v, withOptions({ inbound_format: 'strip_plus' }))).toEqual(
      valid ? [] : ['/servers/0/options/inbound_format enum'],
    );
  });

  /** Every constraint keyword of a schema as "path keyword=value", for the inventory below. */
  function constraints(schema: JsonObject, at = '', out: string[] = []): string[] {
    for (const k of ['minimum', 'minLength', 'maxLength', 'enum', 'required', 'pattern'] as const)
      // minLength 0 (how callerId(0) mirrors the seed's "0..35") constrains nothing.
      if (schema[k] !== undefined && !(k === 'minLength' && schema[k] === 0))
        out.push(`${at || '/'} ${k}=${JSON.stringify(schema[k])}`);
    for (const group of ['properties', 'patternProperties'] as const) {
      const subs = schema[group];
      if (isObject(subs))
        for (const [k, v] of Object.entries(subs)) constraints(v as JsonObject, `${at}/${k}`, out);
    }
    if (isObject(schema['items'])) constraints(schema['items'] as JsonObject, `${at}/[]`, out);
    return out;
  }

  // The whole inventory of master's constraints (§2.1): dropping or loosening any one fails here.
  it('"5" carries every constraint of §2.1', () => {
    const cid = (at: string, min: boolean) => [
      ...(min ? [`${at}/cid_name minLength=1`] : []),
      `${at}/cid_name maxLength=35`,
      ...(min ? [`${at}/cid_number minLength=1`] : []),
      `${at}/cid_number maxLength=35`,
    ];
    const did = '/servers/[]/DIDs/^\\+?\\d*$';
    expect(constraints(kazooConnectivitySchema('5')).sort()).toEqual(
      [
        ...cid('/account/caller_id', false),
        ...cid('/account/emergency_caller_id', false),
        '/account/trunks minimum=0',
        '/servers/[] required=["auth"]',
        ...cid(`${did}/caller_id`, true),
        '/servers/[]/auth required=["auth_method"]',
        '/servers/[]/auth/auth_method enum=["password","Password","IP","ip"]',
        '/servers/[]/auth/auth_password minLength=1',
        '/servers/[]/auth/auth_user minLength=1',
        '/servers/[]/name minLength=1',
        ...cid('/servers/[]/options/caller_id', true),
        ...cid('/servers/[]/options/emergency_caller_id', false),
        '/servers/[]/options/inbound_format enum=["e164","npan","1npan","username","strip_plus"]',
        '/servers/[]/options/media_handling enum=["process","bypass"]',
        '/servers/[]/options/progress_timeout minimum=1',
      ].sort(),
    );
  });
});
