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

  it('says for how many documents it shows details, and shows that many', () => {
    const md = renderPlanMarkdown(bigPlan(50, 200));
    const m = /_Details shown for (\d+) of (\d+) documents/.exec(md);
    expect(m?.[2]).toBe('50');
    expect(md.match(/<details>/g)?.length).toBe(Number(m?.[1]));
  });

  it('"No changes" has no empty table; an incomplete plan leads with INCOMPLETE and never says "No changes"', () => {
    const none = renderPlanMarkdown({
      ...bigPlan(0, 0),
      summary: { create: 0, update: 0, delete: 0, noop: 4 },
    });
    expect(none).toContain('**No changes: 4 documents up to date.**');
    expect(none).not.toContain('| action |');
    const partial = renderPlanMarkdown({ ...bigPlan(0, 0), incomplete: ['cannot read account x'] });
    expect(partial).toMatch(/^### connops plan\n\n> \[!CAUTION\]\n> \*\*INCOMPLETE: /);
    expect(partial).toContain('- cannot read account x');
    expect(partial).not.toContain('No changes');
  });

  it('opens details and links names when asked (small PR plans)', () => {
    const md = renderPlanMarkdown(bigPlan(2, 1), {
      open: true,
      linkOf: (c) => `https://example.test/${c.key.name}#L3`,
      lead: '#### Numbers',
    });
    expect(md.match(/<details open>/g)).toHaveLength(2);
    expect(md).toContain('| [doc-0](https://example.test/doc-0#L3) |');
    expect(md.indexOf('#### Numbers')).toBeLessThan(md.indexOf('| action |'));
  });

  it('JSON and Markdown come from the same plan object', () => {
    const p = bigPlan(2, 1);
    expect(planToJson(p).changes.map((c) => c.address)).toEqual([
      't/' + 'a'.repeat(32) + '/kazoo/connectivity/doc-0',
      't/' + 'a'.repeat(32) + '/kazoo/connectivity/doc-1',
    ]);
  });
});
