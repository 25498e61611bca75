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

  it('gives every object that holds only its defaults as one shared, frozen object', () => {
    const dids = (v: unknown): Record<string, object> =>
      (
        (v as { servers: Array<{ DIDs: Record<string, object> }> }).servers[0] as {
          DIDs: Record<string, object>;
        }
      ).DIDs;
    const input = {
      servers: [
        {
          DIDs: {
            '+15555550100': {},
            '+15555550101': { force_outbound: false },
            '+15555550102': { force_outbound: 'false' },
            '+15555550103': { force_outbound: true },
            '+15555550104': { failover: { e164: '+15555550100' } },
          },
        },
      ],
    };
    const a = dids(coerceDefaultAndSort(schema, input));
    const b = dids(coerceDefaultAndSort(schema, structuredClone(input)));
    const shared = a['+15555550100'];
    expect(shared).toEqual({ force_outbound: false });
    expect(Object.isFrozen(shared)).toBe(true);
    expect(a['+15555550101']).toBe(shared);
    expect(a['+15555550102']).toBe(shared); // after coercion
    expect(b['+15555550100']).toBe(shared); // across calls
    expect(a['+15555550103']).toEqual({ force_outbound: true });
    expect(Object.isFrozen(a['+15555550103'])).toBe(false);
    expect(a['+15555550104']).not.toBe(shared);
    // Walks that build bodies to send or store keep their own objects.
    const unsorted = dids(coerceAndDefault(schema, input));
    expect(unsorted['+15555550100']).toEqual({ force_outbound: false });
    expect(unsorted['+15555550100']).not.toBe(unsorted['+15555550101']);
    expect(Object.isFrozen(unsorted['+15555550100'])).toBe(false);
  });
});
