import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kazooLikeBody } from '../../../test/helpers/arbitraries.ts';
import { deepEqual, type JsonObject } from '../../core/json.ts';
import { buildMergePatch, kazooSameNormalized, normalizeKazoo } from './normalize.ts';

describe('normalizeKazoo', () => {
  it('applies the defaults the server writes, drops server-owned fields and sorts keys', () => {
    const live: JsonObject = {
      id: 'abc',
      _read_only: { x: 1 },
      pvt_type: 'sys_info',
      connops_managed: true,
      account: { auth_realm: 'r.example' },
      servers: [
        {
          auth: { auth_method: 'ip', ip: '192.0.2.1' },
          options: {
            delay: 0,
            enabled: true,
            force_outbound: false,
            hunt_non_reconcilable: false,
            inbound_format: 'npan',
            media_handling: 'bypass',
          },
        },
      ],
    };
    const desired: JsonObject = {
      servers: [{ options: {}, auth: { ip: '192.0.2.1', auth_method: 'ip' } }],
    };
    expect(normalizeKazoo(live, '4.3')).toEqual(normalizeKazoo(desired, '4.3'));
    expect(Object.keys(normalizeKazoo(live, '4.3'))).toEqual(['servers']);
  });

  it.each([
    [
      'port "5060" → 5060',
      { servers: [{ auth: { auth_method: 'ip', port: '5060' } }] },
      { servers: [{ auth: { auth_method: 'ip', port: 5060 } }] },
    ],
    [
      'enabled "true" → true',
      { servers: [{ auth: {}, options: { enabled: 'true' } }] },
      { servers: [{ auth: {}, options: { enabled: true } }] },
    ],
  ])('mirrors the server coercion: %s', (_n, a, b) => {
    expect(normalizeKazoo(a as JsonObject, '4.3')).toEqual(normalizeKazoo(b as JsonObject, '4.3'));
  });

  it("keeps account.auth_realm on 4.0/4.1, where it is the user's setting", () => {
    expect(normalizeKazoo({ account: { auth_realm: 'x' } }, '4.1')).toEqual({
      account: { auth_realm: 'x' },
      servers: [],
    });
    expect(normalizeKazoo({ account: { auth_realm: 'x' } }, '4.3')).toEqual({ servers: [] });
  });

  it('"yes" stays a string (the server would reject it, and so does validate)', () => {
    expect(
      normalizeKazoo({ servers: [{ auth: {}, options: { enabled: 'yes' } }] }, '4.3')['servers'],
    ).toMatchObject([{ options: { enabled: 'yes' } }]);
  });
});

describe('buildMergePatch (Kazoo PATCH rules, kazoo-api.md §1.7)', () => {
  it.each([
    ['no change', { a: 1 }, { a: 1 }, {}],
    ['scalar change', { a: 1, b: 2 }, { a: 1, b: 3 }, { b: 3 }],
    [
      'nested objects merge: only the changed leaf',
      { account: { caller_id: { cid_name: 'A', cid_number: '+1' } } },
      { account: { caller_id: { cid_name: 'B', cid_number: '+1' } } },
      { account: { caller_id: { cid_name: 'B' } } },
    ],
    ['a removed key becomes null', { a: 1, b: 2 }, { a: 1 }, { b: null }],
    ['arrays are replaced whole', { s: [1, 2, 3] }, { s: [1, 2, 4] }, { s: [1, 2, 4] }],
    ['an empty object is sent as {} (it replaces)', { o: { x: 1 } }, { o: {} }, { o: {} }],
    ['a new object is sent whole', { a: 1 }, { a: 1, o: { x: 1 } }, { o: { x: 1 } }],
  ])('%s', (_n, live, desired, patch) => {
    expect(buildMergePatch(live as JsonObject, desired as JsonObject)).toEqual(patch);
  });
});

describe('kazooSameNormalized', () => {
  const versions = ['4.0', '4.1', '4.3', '5'] as const;
  /** Objects inside a value, depth first (where a mutation can add or remove a key). */
  const objectsIn = (v: unknown, out: JsonObject[] = []): JsonObject[] => {
    if (Array.isArray(v)) for (const x of v) objectsIn(x, out);
    else if (v !== null && typeof v === 'object') {
      out.push(v as JsonObject);
      for (const x of Object.values(v)) objectsIn(x, out);
    }
    return out;
  };

  it('agrees with deepEqual(normalizeKazoo(a), normalizeKazoo(b)) on generated bodies', () => {
    fc.assert(
      fc.property(
        kazooLikeBody,
        kazooLikeBody,
        fc.constantFrom(...versions),
        fc.constantFrom('same', 'normalized', 'other', 'add', 'remove'),
        fc.nat(),
        (a, other, version, mode, pick) => {
          // b: a itself, a's normalised form, another body, or a's normalised form with a key added or removed.
          // (A copy of the normalised form: normalised bodies share frozen parts and are never changed in place.)
          const b =
            mode === 'same'
              ? a
              : mode === 'other'
                ? other
                : structuredClone(normalizeKazoo(a, version));
          if (mode === 'add' || mode === 'remove') {
            const objects = objectsIn(b);
            const target = objects[pick % objects.length] as JsonObject;
            const keys = Object.keys(target);
            if (mode === 'add') target['extra'] = 1;
            else if (keys.length > 0) delete target[keys[pick % keys.length] as string];
          }
          const want = deepEqual(normalizeKazoo(a, version), normalizeKazoo(b, version));
          expect(kazooSameNormalized(a, b, version)).toBe(want);
          expect(kazooSameNormalized(b, a, version)).toBe(want);
          if (mode === 'same' || mode === 'normalized') expect(want).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it.each([
    ['a DID option', { DIDs: { '+15555550100': { force_outbound: true } } }],
    ['a new DID', { DIDs: { '+15555550100': {}, '+15555550101': {} } }],
    ['a dropped default', { DIDs: { '+15555550100': { force_outbound: false, x: 1 } } }],
  ])('sees %s', (_label, server) => {
    const live = { _rev: '1-a', name: 'n', servers: [{ DIDs: { '+15555550100': {} } }] };
    expect(kazooSameNormalized(live, { name: 'n', servers: [server] }, '4.3')).toBe(false);
    expect(kazooSameNormalized(live, normalizeKazoo(live, '4.3'), '4.3')).toBe(true);
  });
});

describe('a "__proto__" key in a live body', () => {
  it("stays an ordinary key through normalisation (it is not the copy's prototype)", () => {
    const live = JSON.parse('{"name":"n","servers":[{"b":{"__proto__":{"x":1}}}]}') as JsonObject;
    const n = normalizeKazoo(live, '4.3');
    const b = ((n['servers'] as JsonObject[])[0] as JsonObject)['b'] as JsonObject;
    expect(Object.keys(b)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(b)).toBe(Object.prototype);
    expect(kazooSameNormalized(live, n, '4.3')).toBe(true);
  });
});
