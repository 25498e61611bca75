import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kazooConnectivitySchema } from '../providers/kazoo/schema.ts';
import { sortKeys, type JsonObject, type JsonValue } from './json.ts';
import { coerceAndDefault, coerceDefaultAndSort } from './schema-walk.ts';

const schema = kazooConnectivitySchema('4.3');

/** Bodies shaped like connectivity documents, with arbitrary (often wrong-typed) leaves. */
const leaf = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('5060', 'true', 'false', '1.5', 'e164'),
);
const keyed = (keys: string[]): fc.Arbitrary<Record<string, JsonValue>> =>
  fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 4 })), leaf, {
    maxKeys: 6,
  }) as fc.Arbitrary<Record<string, JsonValue>>;
const body = fc.record(
  {
    zz: leaf,
    name: leaf,
    account: keyed(['trunks', 'auth_realm', 'inbound_trunks', 'credits']),
    servers: fc.array(
      fc.record(
        {
          options: keyed(['delay', 'enabled', 'inbound_format', 'media_handling']),
          auth: keyed(['auth_method', 'port', 'ip']),
          DIDs: fc.dictionary(
            fc.constantFrom('+15555550100', '+15555550101', '12', 'x'),
            fc.oneof(keyed(['force_outbound', 'failover']), leaf),
            { maxKeys: 4 },
          ),
          b: leaf,
        },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<JsonObject>;

describe('coerceDefaultAndSort', () => {
  it('equals sortKeys(coerceAndDefault(…)), key order included', () => {
    fc.assert(
      fc.property(body, (value) => {
        expect(JSON.stringify(coerceDefaultAndSort(schema, value))).toBe(
          JSON.stringify(sortKeys(coerceAndDefault(schema, value))),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('sorts inside values no schema describes, and fills defaults in order', () => {
    const out = coerceDefaultAndSort(schema, {
      zz: { b: 1, a: [{ d: 1, c: 2 }] },
      servers: [{ auth: { port: '5060', auth_method: 'IP' }, DIDs: { '+15555550100': {} } }],
    });
    expect(JSON.stringify(out)).toBe(
      JSON.stringify({
        servers: [
          {
            DIDs: { '+15555550100': { force_outbound: false } },
            auth: { auth_method: 'IP', port: 5060 },
          },
        ],
        zz: { a: [{ c: 2, d: 1 }], b: 1 },
      }),
    );
  });
});
