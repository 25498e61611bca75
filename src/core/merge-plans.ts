/**
 * Merges JSON plans of `--shard i/n` runs into one report. Pure. Shards are
 * disjoint by construction (src/core/shard.ts); an address in two inputs means
 * the inputs are not shards of one split, so the merge refuses.
 */
import { createHash } from 'node:crypto';
import { isObject } from './json.ts';
import { pairNumbers } from './numbers.ts';
import { PLAN_FORMAT_VERSION, type PlanMeta } from './plan.ts';
import type { PlanJson, PlanJsonChange } from './render-plan.ts';

export interface ShardInput {
  /** File name, for messages. */
  readonly file: string;
  readonly plan: PlanJson;
}

export type MergeResult =
  | { readonly ok: true; readonly plan: PlanJson; readonly warnings: string[] }
  | { readonly ok: false; readonly errors: string[] };

/** Checks that a parsed value looks like a plan JSON this version can merge; returns a reason when not. */
export function checkPlanJson(value: unknown): string | undefined {
  if (!isObject(value)) return 'not a JSON object';
  if (value['format_version'] !== PLAN_FORMAT_VERSION)
    return `format_version is ${JSON.stringify(value['format_version'] ?? null)}; this connops reads plan format "${PLAN_FORMAT_VERSION}" (write it with \`connops plan --format json\` or \`--out\`)`;
  if (typeof value['fingerprint'] !== 'string') return 'no fingerprint';
  const s = value['summary'];
  if (!isObject(s) || ['create', 'update', 'delete', 'noop'].some((k) => typeof s[k] !== 'number'))
    return 'no summary';
  if (!Array.isArray(value['changes']) || !Array.isArray(value['problems']))
    return 'no changes or problems list';
  for (const c of value['changes'])
    if (!isObject(c) || typeof c['address'] !== 'string' || !isObject(c['key']))
      return 'a change has no address';
  return undefined;
}

const RANK: Record<PlanJsonChange['action'], number> = { delete: 0, update: 1, create: 2, noop: 3 };

/** The fingerprint of a merged plan: sha256 over the sorted shard fingerprints. */
export function combinedFingerprint(fingerprints: readonly string[]): string {
  const h = createHash('sha256');
  for (const f of [...fingerprints].sort()) h.update(f).update('\n');
  return `sha256:${h.digest('hex')}`;
}

export function mergePlans(inputs: readonly ShardInput[]): MergeResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (inputs.length === 0) return { ok: false, errors: ['no plan files to merge'] };
  const owner = new Map<string, string>();
  for (const { file, plan } of inputs)
    for (const c of plan.changes) {
      const other = owner.get(c.address);
      if (other !== undefined && other !== file)
        errors.push(
          `${c.address} is in both ${other} and ${file}: the plans overlap, so they are not shards of one split (were they all made with the same --shard i/n?)`,
        );
      else owner.set(c.address, file);
    }

  const shards = inputs.map(({ file, plan }) => ({ file, shard: shardOfMeta(plan.meta) }));
  const counts = new Set(shards.flatMap((s) => (s.shard ? [s.shard.count] : [])));
  if (counts.size > 1)
    errors.push(
      `the plans come from different splits (${[...counts].map((n) => `/${n}`).join(', ')}); merge shards of one --shard i/n run`,
    );
  const seenIndex = new Map<number, string>();
  for (const s of shards) {
    if (!s.shard) continue;
    const other = seenIndex.get(s.shard.index);
    if (other !== undefined)
      errors.push(`${other} and ${s.file} are both shard ${s.shard.index}/${s.shard.count}`);
    seenIndex.set(s.shard.index, s.file);
  }
  if (errors.length > 0) return { ok: false, errors };

  const [n] = [...counts];
  if (n !== undefined && shards.every((s) => s.shard)) {
    const missing: number[] = [];
    for (let i = 1; i <= n; i++) if (!seenIndex.has(i)) missing.push(i);
    if (missing.length > 0)
      warnings.push(
        `only ${seenIndex.size} of ${n} shards given (missing ${missing.map((i) => `${i}/${n}`).join(', ')}): the report covers part of the estate`,
      );
  }
  const commits = new Set(inputs.map((i) => i.plan.meta.git?.commit ?? ''));
  if (commits.size > 1)
    warnings.push('the shards were planned from different git commits (or some without git)');

  const changes = inputs
    .flatMap((i) => i.plan.changes)
    .sort(
      (a, b) =>
        RANK[a.action] - RANK[b.action] ||
        (a.address < b.address ? -1 : a.address > b.address ? 1 : 0),
    );
  const summary = { create: 0, update: 0, delete: 0, noop: 0 };
  for (const { plan } of inputs)
    for (const k of ['create', 'update', 'delete', 'noop'] as const) summary[k] += plan.summary[k];
  const git = inputs[0]?.plan.meta.git;
  const meta: PlanMeta = {
    generated_at: inputs
      .map((i) => i.plan.meta.generated_at)
      .sort()
      .at(-1) as string,
    ...(git && commits.size === 1
      ? { git: { commit: git.commit, dirty: inputs.some((i) => i.plan.meta.git?.dirty) } }
      : {}),
    selection: {
      merged: inputs.map((i) => ({
        file: i.file,
        fingerprint: i.plan.fingerprint,
        shard: (i.plan.meta.selection?.['shard'] as string | null | undefined) ?? null,
      })),
    },
  };
  // A shard that is incomplete makes the whole report incomplete (INVARIANTS.md 10).
  const incomplete = inputs.flatMap((i) => [
    ...(i.plan.incomplete ?? []).map((r) => `${i.file}: ${r}`),
    ...(i.plan.complete === false && (i.plan.incomplete ?? []).length === 0
      ? [`${i.file}: the plan is marked incomplete`]
      : []),
  ]);
  return {
    ok: true,
    warnings,
    plan: {
      format_version: PLAN_FORMAT_VERSION,
      fingerprint: combinedFingerprint(inputs.map((i) => i.plan.fingerprint)),
      complete: incomplete.length === 0,
      incomplete,
      writes: inputs
        .flatMap((i) => i.plan.writes ?? [])
        .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0)),
      summary,
      // A number can leave a document of one shard and enter one of another.
      numbers: pairNumbers(inputs.flatMap((i) => i.plan.numbers ?? [])),
      problems: inputs.flatMap((i) => i.plan.problems),
      unmanaged: inputs.reduce((s, i) => s + (i.plan.unmanaged ?? 0), 0),
      undeclared: inputs.flatMap((i) => i.plan.undeclared ?? []),
      meta,
      changes,
    },
  };
}

function shardOfMeta(meta: PlanMeta): { index: number; count: number } | undefined {
  const s = meta.selection?.['shard'];
  if (typeof s !== 'string') return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(s);
  return m ? { index: Number(m[1]), count: Number(m[2]) } : undefined;
}
