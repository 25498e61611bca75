import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shardOf } from './shard.ts';
import { inSelection } from '../engine/reconcile.ts';

const pair = fc.tuple(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 }),
);

describe('shardOf', () => {
  it('puts every (target, account) in exactly one shard of 1..n, deterministically', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(pair, { maxLength: 60 }),
        fc.integer({ min: 1, max: 16 }),
        (pairs, n) => {
          for (const [target, account] of pairs) {
            const owners = [];
            for (let i = 1; i <= n; i++)
              if (inSelection({ shard: { index: i, count: n } }, target, account)) owners.push(i);
            expect(owners).toHaveLength(1);
            expect(owners[0]).toBe(shardOf(target, account, n));
            expect(shardOf(target, account, n)).toBe(shardOf(target, account, n));
          }
        },
      ),
    );
  });

  it('spreads a large estate over every shard', () => {
    const counts = new Map<number, number>();
    for (let a = 0; a < 4000; a++) {
      const s = shardOf('kazoo-prod', a.toString(16).padStart(32, '0'), 8);
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const c of counts.values()) expect(c).toBeGreaterThan(400);
  });
});
