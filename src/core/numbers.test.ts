import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from './json.ts';
import {
  numberDelta,
  numbersOf,
  pairNumbers,
  type NumberedChange,
  type NumberEntry,
  type NumberSite,
} from './numbers.ts';

const DEFAULTS: JsonObject = { force_outbound: false };
const site = (number: string, part: string, options: JsonObject = {}, index = 0): NumberSite => ({
  number,
  pointer: `/servers/${index}/DIDs/${number}`,
  part,
  partKey: `name:${part}`,
  options: { force_outbound: false, ...options },
  defaults: DEFAULTS,
});
const change = (
  name: string,
  action: NumberedChange['action'],
  before: NumberSite[],
  after: NumberSite[],
  account = 'a',
  target = 't',
): NumberedChange => ({
  key: { target, account, kind: 'kazoo/connectivity', name },
  action,
  before,
  after,
});

describe('numbersOf', () => {
  it('routes, unroutes, moves across documents and accounts, and changed options', () => {
    const got = numbersOf([
      change(
        'main',
        'update',
        [site('+1', 'pbx'), site('+2', 'pbx', { failover: { e164: '+9' } })],
        [site('+2', 'pbx', { failover: { e164: '+8' } }), site('+3', 'pbx')],
      ),
      change('fax', 'delete', [site('+4', 'fax-1')], [], 'b'),
      change('sbc', 'create', [], [site('+4', 'sbc-1')], 'c'),
    ]);
    expect(got).toEqual([
      {
        did: '+3',
        action: 'route',
        from: null,
        to: {
          target: 't',
          account: 'a',
          document: 'main',
          server: 'pbx',
          pointer: '/servers/0/DIDs/+3',
        },
      },
      {
        did: '+1',
        action: 'unroute',
        from: {
          target: 't',
          account: 'a',
          document: 'main',
          server: 'pbx',
          pointer: '/servers/0/DIDs/+1',
        },
        to: null,
      },
      {
        did: '+4',
        action: 'move',
        from: {
          target: 't',
          account: 'b',
          document: 'fax',
          server: 'fax-1',
          pointer: '/servers/0/DIDs/+4',
        },
        to: {
          target: 't',
          account: 'c',
          document: 'sbc',
          server: 'sbc-1',
          pointer: '/servers/0/DIDs/+4',
        },
      },
      {
        did: '+2',
        action: 'change',
        from: {
          target: 't',
          account: 'a',
          document: 'main',
          server: 'pbx',
          pointer: '/servers/0/DIDs/+2',
        },
        to: {
          target: 't',
          account: 'a',
          document: 'main',
          server: 'pbx',
          pointer: '/servers/0/DIDs/+2',
        },
        changes: [{ field: '/failover/e164', before: '+9', after: '+8' }],
      },
    ]);
  });

  it('a new number shows what it sets, not the server defaults; a live one written without them is no change', () => {
    const [route] = numbersOf([
      change('n', 'create', [], [site('+1', 'p', { caller_id: { cid_name: 'Sales' } })]),
    ]);
    expect(route?.changes).toEqual([{ field: '/caller_id/cid_name', after: 'Sales' }]);
    const plain = numbersOf([change('n', 'create', [], [site('+1', 'p')])]);
    expect(plain[0]).not.toHaveProperty('changes');
    const rawLive: NumberSite = { ...site('+1', 'p'), options: {} };
    expect(numbersOf([change('n', 'update', [rawLive], [site('+1', 'p')])])).toEqual([]);
    // A default set to something else is a change.
    const [flag] = numbersOf([
      change('n', 'update', [site('+1', 'p')], [site('+1', 'p', { force_outbound: true })]),
    ]);
    expect(flag?.changes).toEqual([{ field: '/force_outbound', before: false, after: true }]);
  });

  it('a server that only changed places is no move; a number between servers of one document is', () => {
    expect(
      numbersOf([change('d', 'update', [site('+1', 'a', {}, 0)], [site('+1', 'a', {}, 1)])]),
    ).toEqual([]);
    const [m] = numbersOf([change('d', 'update', [site('+1', 'a')], [site('+1', 'b')])]);
    expect(m).toMatchObject({ action: 'move', from: { server: 'a' }, to: { server: 'b' } });
  });

  it('numbers on two targets are not paired into a move', () => {
    const got = numbersOf([
      change('x', 'delete', [site('+1', 'p')], [], 'a', 't1'),
      change('y', 'create', [], [site('+1', 'p')], 'a', 't2'),
    ]);
    expect(got.map((e) => e.action)).toEqual(['route', 'unroute']);
  });

  it('pairNumbers joins an unroute and a route of separate lists (shards) into a move', () => {
    const a = numbersOf([change('x', 'delete', [site('+1', 'p')], [], 'a')]);
    const b = numbersOf([change('y', 'create', [], [site('+1', 'q')], 'b')]);
    expect(pairNumbers([...a, ...b])).toEqual(
      numbersOf([
        change('x', 'delete', [site('+1', 'p')], [], 'a'),
        change('y', 'create', [], [site('+1', 'q')], 'b'),
      ]),
    );
  });
});

describe('numbersOf is consistent with the changes (property)', () => {
  const did = fc.constantFrom('+1', '+2', '+3', '+4', '+5');
  const sideArb = fc.dictionary(
    did,
    fc.record({ part: fc.constantFrom('s1', 's2'), cid: fc.constantFrom(undefined, 'A', 'B') }),
    { maxKeys: 4 },
  );
  const changeArb = fc.record({
    account: fc.constantFrom('a', 'b'),
    target: fc.constantFrom('t', 'u'),
    action: fc.constantFrom('create', 'update', 'delete') as fc.Arbitrary<NumberedChange['action']>,
    before: sideArb,
    after: sideArb,
  });
  const sites = (side: Record<string, { part: string; cid: string | undefined }>): NumberSite[] =>
    Object.entries(side).map(([n, v]) =>
      site(n, v.part, v.cid ? { caller_id: { cid_name: v.cid } } : {}),
    );

  it('every routed and unrouted number is counted once, and moves pair them up', () => {
    fc.assert(
      fc.property(fc.array(changeArb, { maxLength: 6 }), (specs) => {
        const changes = specs.map((s, i) =>
          change(
            `d${i}`,
            s.action,
            s.action === 'create' ? [] : sites(s.before),
            s.action === 'delete' ? [] : sites(s.after),
            s.account,
            s.target,
          ),
        );
        const got = numbersOf(changes);
        // What the changes do, per (target, number): places that stop and start routing it.
        const stops = new Map<string, number>();
        const starts = new Map<string, number>();
        const inc = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
        let within = 0;
        let changed = 0;
        for (const c of changes) {
          const had = new Map(c.before.map((s) => [s.number, s]));
          const has = new Map(c.after.map((s) => [s.number, s]));
          for (const [n, b] of had) {
            const a = has.get(n);
            if (!a) inc(stops, `${c.key.target} ${n}`);
            else if (a.partKey !== b.partKey) within++;
            else if (JSON.stringify(a.options) !== JSON.stringify(b.options)) changed++;
          }
          for (const n of has.keys()) if (!had.has(n)) inc(starts, `${c.key.target} ${n}`);
        }
        const isWithin = (e: NumberEntry) =>
          e.from?.account === e.to?.account && e.from?.document === e.to?.document;
        const count = (pred: (e: NumberEntry) => boolean, k?: string) =>
          got.filter(
            (e) => pred(e) && (k === undefined || `${(e.to ?? e.from)?.target} ${e.did}` === k),
          ).length;
        for (const k of new Set([...stops.keys(), ...starts.keys()])) {
          const s = stops.get(k) ?? 0;
          const r = starts.get(k) ?? 0;
          const moves = count((e) => e.action === 'move' && !isWithin(e), k);
          // Pairing is as large as it can be, and nothing is counted twice.
          expect(moves).toBe(Math.min(s, r));
          expect(count((e) => e.action === 'unroute', k)).toBe(s - moves);
          expect(count((e) => e.action === 'route', k)).toBe(r - moves);
        }
        expect(count((e) => e.action === 'move' && isWithin(e))).toBe(within);
        expect(count((e) => e.action === 'change')).toBe(changed);
        for (const e of got) {
          if (e.action === 'move') {
            expect(e.from?.target).toBe(e.to?.target);
            expect(e.from).not.toEqual(e.to);
          }
          if (e.action === 'route') expect(e.from).toBeNull();
          if (e.action === 'unroute') expect(e.to).toBeNull();
        }
        // What a plan keeps per change (numberDelta) gives the same view, in
        // whatever order the changes arrive.
        const kept = changes.map(numberDelta).reverse();
        expect(numbersOf(kept)).toEqual(got);
        // Each place is the start of at most one entry, and the end of at most one.
        const ends = got.filter((e) => e.to).map((e) => JSON.stringify(e.to));
        expect(new Set(ends).size).toBe(ends.length);
        const begins = got.filter((e) => e.from).map((e) => JSON.stringify(e.from));
        expect(new Set(begins).size).toBe(begins.length);
      }),
    );
  });
});
