import { describe, expect, it } from 'vitest';
import { checkPlanJson, combinedFingerprint, mergePlans } from './merge-plans.ts';
import type { PlanJson, PlanJsonChange } from './render-plan.ts';

function change(
  name: string,
  action: PlanJsonChange['action'],
  account = 'a'.repeat(32),
): PlanJsonChange {
  const key = { target: 'kz', account, kind: 'kazoo/connectivity', name };
  return {
    address: `kz/${account}/kazoo/connectivity/${name}`,
    key,
    action,
    reason: 'r',
    id: null,
    revision: null,
    ops: [],
    before: null,
    after: null,
    source: null,
  };
}

function plan(shard: string, fingerprint: string, changes: PlanJsonChange[]): PlanJson {
  const summary = { create: 0, update: 0, delete: 0, noop: 0 };
  for (const c of changes) summary[c.action]++;
  return {
    format_version: '1',
    fingerprint,
    summary,
    problems: [],
    unmanaged: 1,
    meta: {
      generated_at: '2025-01-01T00:00:00Z',
      git: { commit: 'c'.repeat(40), dirty: false },
      selection: { shard },
    },
    changes,
  };
}

describe('mergePlans', () => {
  it('sums summaries, sorts changes and combines fingerprints', () => {
    const r = mergePlans([
      {
        file: 'p1.json',
        plan: plan('1/2', 'sha256:b', [
          change('z', 'create', '1'.repeat(32)),
          change('y', 'noop', '1'.repeat(32)),
        ]),
      },
      {
        file: 'p2.json',
        plan: plan('2/2', 'sha256:a', [
          change('x', 'delete', '2'.repeat(32)),
          change('w', 'create', '2'.repeat(32)),
        ]),
      },
    ]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.warnings).toEqual([]);
    expect(r.plan.summary).toEqual({ create: 2, update: 0, delete: 1, noop: 1 });
    expect(r.plan.unmanaged).toBe(2);
    expect(r.plan.changes.map((c) => c.key.name)).toEqual(['x', 'z', 'w', 'y']);
    expect(r.plan.changes.map((c) => c.action)).toEqual(['delete', 'create', 'create', 'noop']);
    expect(r.plan.fingerprint).toBe(combinedFingerprint(['sha256:a', 'sha256:b']));
    expect(r.plan.fingerprint).toBe(combinedFingerprint(['sha256:b', 'sha256:a']));
    expect(r.plan.meta.git?.commit).toBe('c'.repeat(40));
  });

  it('refuses overlapping plans', () => {
    const r = mergePlans([
      { file: 'p1.json', plan: plan('1/2', 'f1', [change('x', 'create')]) },
      { file: 'p2.json', plan: plan('2/2', 'f2', [change('x', 'create')]) },
    ]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toContain('is in both p1.json and p2.json');
  });

  it('refuses mixed splits and repeated shards, and warns about missing ones', () => {
    const mixed = mergePlans([
      { file: 'a', plan: plan('1/2', 'f1', []) },
      { file: 'b', plan: plan('1/3', 'f2', []) },
    ]);
    expect(mixed.ok).toBe(false);
    const twice = mergePlans([
      { file: 'a', plan: plan('1/2', 'f1', []) },
      { file: 'b', plan: plan('1/2', 'f2', []) },
    ]);
    expect(twice.ok).toBe(false);
    const partial = mergePlans([{ file: 'a', plan: plan('1/3', 'f1', []) }]);
    expect(partial.ok && partial.warnings[0]).toContain('missing 2/3, 3/3');
  });

  it.each([
    [null, 'not a JSON object'],
    [{ format_version: '2' }, 'format_version is "2"'],
    [{ format_version: '1', fingerprint: 'f' }, 'no summary'],
  ])('checkPlanJson(%j) explains', (value, reason) => {
    expect(checkPlanJson(value)).toContain(reason);
  });
});
