import { describe, expect, it } from 'vitest';
import { buildMergePatch, normalizeKazoo } from '../providers/kazoo/normalize.ts';
import {
  MANY_KEYS,
  deepEqual,
  objectFor,
  shareEqual,
  sortKeys,
  type JsonObject,
  type JsonValue,
} from './json.ts';
import fc from 'fast-check';

/** A DID-sized map: unique numbers, an integer-like key and `__proto__` as JSON.parse makes it. */
function wideMap(): JsonObject {
  const text = `{${[
    ...Array.from({ length: 40 }, (_, i) => `"+1415555${String(9000 - i)}":{"n":${i}}`),
    '"7":{}',
    '"__proto__":{"kept":true}',
  ].join(',')}}`;
  return JSON.parse(text) as JsonObject;
}

/** The key order a `{}` filled in sorted order has (integer-like keys first, as JavaScript lists them). */
function orderedCopy(map: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(map).sort())
    Object.defineProperty(out, k, { value: map[k], enumerable: true, writable: true });
  return out;
}

describe('objectFor', () => {
  it('gives an ordinary empty object below and above the threshold', () => {
    for (const n of [0, MANY_KEYS - 1, MANY_KEYS, 1000]) {
      const o = objectFor(n);
      expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
      expect(Object.keys(o)).toEqual([]);
      o['b'] = 1;
      o['a'] = 2;
      expect(Object.keys(o)).toEqual(['b', 'a']);
    }
  });
});

describe('copies of wide maps', () => {
  it('sortKeys keeps every key (also __proto__) and value, in sorted order', () => {
    const map = wideMap();
    const sorted = sortKeys(map);
    expect(deepEqual(sorted, map)).toBe(true);
    expect(Object.keys(sorted)).toEqual(Object.keys(orderedCopy(map)));
    expect(Object.keys(sorted)[0]).toBe('7');
    expect(Object.hasOwn(sorted, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(sorted)).toBe(Object.prototype);
  });

  it('normalising a live body with a wide DID map keeps every entry, sorted', () => {
    const dids = wideMap();
    const live = JSON.parse(
      JSON.stringify({ _rev: '3-a', id: 'x', name: 'n', servers: [{ DIDs: dids }] }),
    ) as JsonObject;
    const n = normalizeKazoo(live, '4.3');
    expect(Object.hasOwn(n, '_rev') || Object.hasOwn(n, 'id')).toBe(false);
    const got = ((n['servers'] as JsonObject[])[0] as JsonObject)['DIDs'] as JsonObject;
    expect(Object.keys(got)).toEqual(Object.keys(orderedCopy(dids)));
    expect(Object.hasOwn(got, '__proto__')).toBe(true);
    // Each entry keeps its own fields (the schema may add defaults beside them).
    for (const k of Object.keys(dids))
      expect((got[k] as JsonObject)['n']).toEqual((dids[k] as JsonObject)['n']);
  });

  it('a merge patch that adds a wide map keeps its keys and drops the nulls inside it', () => {
    const want = wideMap();
    want['+14155550000'] = null;
    const patch = buildMergePatch({}, { DIDs: want });
    const sent = patch['DIDs'] as JsonObject;
    expect(Object.hasOwn(sent, '+14155550000')).toBe(false);
    expect(Object.hasOwn(sent, '__proto__')).toBe(true);
    expect(Object.keys(sent)).toHaveLength(Object.keys(want).length - 1);
  });

  it('a merge patch shares a replaced array that has no null inside, and copies one that has', () => {
    const servers = [{ DIDs: wideMap() }, { DIDs: { '+14155550001': {} } }];
    expect(buildMergePatch({ servers: [] }, { servers })['servers']).toBe(servers);
    const withNull = [servers[0], { DIDs: { '+14155550001': null } }] as JsonObject[];
    const sent = buildMergePatch({ servers: [] }, { servers: withNull })['servers'] as JsonObject[];
    expect(sent).not.toBe(withNull);
    expect(sent[0]).toBe(servers[0]);
    expect(sent[1]).toEqual({ DIDs: {} });
  });
});

describe('shareEqual', () => {
  it('gives the previous value itself when the two are equal, in any key order', () => {
    const prev = JSON.parse('{"a":{"x":1,"y":[1,{"z":2}]},"b":"s"}') as JsonObject;
    const next = JSON.parse('{"b":"s","a":{"y":[1,{"z":2}],"x":1}}') as JsonObject;
    expect(shareEqual(prev, next)).toBe(prev);
  });

  it('takes the unchanged parts from the previous value and keeps the changed ones', () => {
    const prev = wideMap();
    const next = structuredClone(prev);
    next['+14155559000'] = { n: 99 };
    delete next['7'];
    const out = shareEqual(prev, next) as JsonObject;
    expect(out).toEqual(next);
    expect(Object.keys(out)).toEqual(Object.keys(next));
    expect(out['+14155558999']).toBe(prev['+14155558999']);
    expect(out['+14155559000']).toBe(next['+14155559000']);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(out['__proto__']).toBe(prev['__proto__']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it('matches arrays by index and returns the new value when nothing could be shared', () => {
    const prev = { servers: [{ a: 1 }, { b: 2 }] };
    const next = { servers: [{ a: 1 }, { b: 3 }, { c: 4 }] };
    const out = shareEqual(prev, next) as { servers: JsonObject[] };
    expect(out).toEqual(next);
    expect(out.servers[0]).toBe(prev.servers[0]);
    expect(out.servers[1]).toBe(next.servers[1]);
    const apart = { x: [1, 2], y: 'a' };
    expect(shareEqual({ x: [3], y: 'b' }, apart)).toBe(apart);
    expect(shareEqual(undefined, apart)).toBe(apart);
  });

  it('agrees with deepEqual and always deep-equals the new value (property)', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom(0, 1, 'a', 'b', true, null),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'c', '__proto__'), tie('value'), {
          maxKeys: 3,
        }),
      ),
    })).value as fc.Arbitrary<JsonValue>;
    const mutate = (v: JsonValue, seed: number): JsonValue =>
      JSON.parse(JSON.stringify(v).replace(/1/, String(seed))) as JsonValue;
    fc.assert(
      fc.property(json, fc.nat(3), (prev, seed) => {
        const next = seed === 0 ? structuredClone(prev) : mutate(prev, seed + 1);
        const out = shareEqual(prev, next);
        expect(out).toEqual(next);
        expect(deepEqual(out, next)).toBe(true);
        expect(out === prev).toBe(deepEqual(prev, next));
      }),
      { numRuns: 300 },
    );
  });
});
