import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kazooConnectivitySchema } from '../providers/kazoo/schema.ts';
import { kazooLikeBody as body } from '../../test/helpers/arbitraries.ts';
import { sortKeys } from './json.ts';
import { coerceAndDefault, coerceDefaultAndSort } from './schema-walk.ts';

const schema = kazooConnectivitySchema('4.3');

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
