import { describe, expect, it } from 'vitest';
import type { Plan, PlanChange } from './plan.ts';
import { MARKDOWN_LIMIT, planToJson, renderPlanMarkdown } from './render-plan.ts';

function bigPlan(n: number, fieldsPer: number): Plan {
  const changes: PlanChange[] = Array.from({ length: n }, (_, i) => ({
    key: { target: 't', account: 'a'.repeat(32), kind: 'kazoo/connectivity', name: `doc-${i}` },
    action: 'update',
    reason: `${fieldsPer} fields differ`,
    ops: Array.from({ length: fieldsPer }, (_, j) => ({
      op: 'replace' as const,
      path: `/servers/0/DIDs/+1415555${String(j).padStart(4, '0')}/caller_id/cid_name`,
      value: `name ${j}`,
    })),
    claims: [],
    releases: [],
    dependsOn: [],
    beforeMasked: {},
    afterMasked: {},
  }));
  return {
    format_version: '1',
    changes,
    problems: [],
    unmanaged: 0,
    summary: { create: 0, update: n, delete: 0, noop: 0 },
    fingerprint: 'f'.repeat(64),
    meta: { generated_at: 'now' },
  };
}

describe('renderPlanMarkdown', () => {
  it('keeps every document collapsible when small', () => {
    const md = renderPlanMarkdown(bigPlan(3, 2));
    expect(md.match(/<details>/g)).toHaveLength(3);
    expect(md).toContain('**Plan: 0 to create, 3 to update, 0 to delete; 0 unchanged.**');
  });

  it.each([
    [50, 200],
    [2000, 5],
    [20_000, 1],
  ])("stays under GitHub's comment limit by summarising (%d documents × %d fields)", (n, f) => {
    const md = renderPlanMarkdown(bigPlan(n, f));
    expect(md.length).toBeLessThanOrEqual(MARKDOWN_LIMIT);
    expect(md).toContain('**Plan: 0 to create');
    expect(md).toMatch(/_(Details shown for|Plan too large for one comment)/);
  });

  it('JSON and Markdown come from the same plan object', () => {
    const p = bigPlan(2, 1);
    expect(planToJson(p).changes.map((c) => c.address)).toEqual([
      't/' + 'a'.repeat(32) + '/kazoo/connectivity/doc-0',
      't/' + 'a'.repeat(32) + '/kazoo/connectivity/doc-1',
    ]);
  });
});
