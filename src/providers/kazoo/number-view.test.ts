import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/json.ts';
import { numberDelta, numbersOf, type NumberedChange } from '../../core/numbers.ts';
import { kazooNumberPair, kazooNumbers } from './number-view.ts';

const key = { target: 't', account: 'a', kind: 'kazoo/connectivity', name: 'd' };

/** A live body's servers, and how the desired body treats each: shared as is, or a changed copy. */
const serverArb = fc.record({
  name: fc.option(fc.constantFrom('pbx-1', 'pbx-2', 'pbx-3'), { nil: undefined }),
  user: fc.option(fc.constantFrom('u1', 'u2'), { nil: undefined }),
  dids: fc.dictionary(
    fc.constantFrom('+14155550100', '+14155550101', '+14155550102', '+14155550103'),
    fc.constantFrom<JsonObject>({}, { failover: { e164: '+14155550199' } }),
    { maxKeys: 4 },
  ),
  desired: fc.constantFrom('share', 'share', 'drop-one', 'add-one', 'retag', 'rename'),
});

type ServerSpec = typeof serverArb extends fc.Arbitrary<infer T> ? T : never;

function bodies(specs: ServerSpec[], reverse: boolean): [JsonObject, JsonObject] {
  // A DID in one server of a body only (validate refuses one in two; with
  // one, which place a view shows is arbitrary either way).
  const live: JsonObject[] = specs.map((s, i) => ({
    ...(s.name !== undefined ? { name: s.name } : {}),
    ...(s.user !== undefined ? { auth: { auth_method: 'password', auth_user: s.user } } : {}),
    DIDs: Object.fromEntries(
      Object.entries(s.dids).map(([d, v]): [string, JsonObject] => [`${d}${i}`, v]),
    ),
  }));
  const desired = live.map((srv, i): JsonObject => {
    const spec = specs[i] as ServerSpec;
    const dids = srv['DIDs'] as JsonObject;
    switch (spec.desired) {
      case 'share':
        return { ...srv };
      case 'drop-one': {
        const copy = { ...dids };
        delete copy[Object.keys(copy)[0] ?? ''];
        return { ...srv, DIDs: copy };
      }
      case 'add-one':
        return { ...srv, DIDs: { ...dids, '+14155550109': {} } };
      case 'retag':
        return { ...srv, DIDs: Object.fromEntries(Object.keys(dids).map((d) => [d, {}])) };
      case 'rename':
        // The same map object under another identity: the numbers move.
        return { ...srv, name: 'renamed' };
    }
    return srv;
  });
  return [{ servers: live }, { servers: reverse ? [...desired].reverse() : desired }];
}

describe('kazooNumberPair', () => {
  it('gives the same numbers view as listing every DID of both sides (property)', () => {
    fc.assert(
      fc.property(fc.array(serverArb, { maxLength: 4 }), fc.boolean(), (specs, reverse) => {
        const [before, after] = bodies(specs, reverse);
        const full: NumberedChange = {
          key,
          action: 'update',
          before: kazooNumbers(before, '4.3'),
          after: kazooNumbers(after, '4.3'),
        };
        const pair: NumberedChange = {
          key,
          action: 'update',
          ...kazooNumberPair(before, after, '4.3'),
        };
        expect(numbersOf([numberDelta(pair)])).toEqual(numbersOf([numberDelta(full)]));
      }),
    );
  });

  it('leaves out a server whose DID map is shared under the same identity', () => {
    const dids = { '+14155550100': {}, '+14155550101': {} };
    const before = {
      servers: [
        { name: 'pbx-1', DIDs: dids },
        { name: 'pbx-2', DIDs: { '+1': {} } },
      ],
    };
    const after = {
      servers: [
        { name: 'pbx-1', DIDs: dids },
        { name: 'pbx-2', DIDs: {} },
      ],
    };
    const pair = kazooNumberPair(before, after, '4.3');
    expect(pair.before.map((s) => s.number)).toEqual(['+1']);
    expect(pair.after).toEqual([]);
  });
});
