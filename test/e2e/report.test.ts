/**
 * `--shard i/n` plans from the CLI, merged by `connops report merge`: together
 * they equal the unsharded plan.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PlanJson } from '../../src/core/render-plan.ts';
import { startWorld, type World } from '../helpers/world.ts';

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await world.close();
});

describe('report merge', () => {
  it('merges shard plans into the same changes as one plan; refuses overlap', async () => {
    const n = 3;
    for (let i = 1; i <= n; i++) {
      const r = await world.cli(['plan', '--shard', `${i}/${n}`, '--out', `p${i}.json`]);
      expect(r.code, r.err).toBe(0);
    }
    const full = await world.cli(['plan', '--format', 'json']);
    const whole = JSON.parse(full.out) as PlanJson;

    const files = Array.from({ length: n }, (_, i) => `p${i + 1}.json`);
    const merged = await world.cli(['report', 'merge', ...files, '--format', 'json']);
    expect(merged.code, merged.err).toBe(0);
    const m = JSON.parse(merged.out) as PlanJson;
    expect(m.summary).toEqual(whole.summary);
    expect(m.changes.map((c) => c.address).sort()).toEqual(
      whole.changes.map((c) => c.address).sort(),
    );

    const md = await world.cli([
      'report',
      'merge',
      ...files,
      '--format',
      'markdown',
      '--out',
      'report.md',
      '--detailed-exitcode',
    ]);
    expect(md.code).toBe(2);
    const text = await readFile(join(world.dir, 'report.md'), 'utf8');
    expect(text).toContain(`### connops plan (${n} shards merged)`);
    expect(text).toContain('Plan: 8 to create');

    const overlap = await world.cli(['report', 'merge', 'p1.json', 'p1.json']);
    expect(overlap.code).toBe(3);
    expect(overlap.err).toMatch(/is in both|are both shard/);

    const missing = await world.cli(['report', 'merge', 'nope.json']);
    expect(missing.code).toBe(3);
    expect(missing.err).toContain('nope.json: file not found');
    expect((await world.cli(['report'])).code).toBe(64);
  });
});
