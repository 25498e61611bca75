/**
 * A pull request cannot redirect credentials (INVARIANTS.md 17): in a PR plan
 * the targets' type, url, auth and CA file must be those of the base branch.
 * The base branch's connops.yaml is read with git at the PR's base commit (the
 * workspace is a checkout of the PR; `actions/checkout` with `fetch-depth: 2`
 * has the base commit as the merge commit's first parent). A PR whose head
 * changes any of them is stopped before any request to any target, unless the
 * workflow sets `allow-target-changes: true`.
 */
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { canonicalJson } from '../core/json.ts';
import { readTextFile } from '../io/files.ts';
import { GitRepo } from '../io/git.ts';
import type { Run } from './run.ts';

/** What a target reads credentials with and sends them to. */
const GUARDED = ['type', 'url', 'auth', 'ca_file'] as const;

export type TargetCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly changes: readonly string[] }
  | { readonly ok: false; readonly unreadable: string };

function targetsOf(text: string): Record<string, Record<string, unknown>> | undefined {
  try {
    const root = parseYaml(text) as unknown;
    if (root === null || typeof root !== 'object') return undefined;
    const targets = (root as Record<string, unknown>)['targets'];
    if (targets === null || typeof targets !== 'object' || Array.isArray(targets)) return {};
    return targets as Record<string, Record<string, unknown>>;
  } catch {
    return undefined;
  }
}

/** Compares the head's targets with the base commit's; each difference in the user's words. */
export async function checkTargetsAgainstBase(run: Run, baseSha: string): Promise<TargetCheck> {
  const configDir = dirname(run.configPath);
  let repo: GitRepo | undefined;
  try {
    repo = await GitRepo.find(configDir, run.env);
  } catch (err) {
    return { ok: false, unreadable: (err as Error).message };
  }
  if (!repo)
    return {
      ok: false,
      unreadable: 'the workspace is not a git checkout (run actions/checkout first)',
    };
  const rel = await repo.relativePath(run.configPath);
  const base = await repo
    .readFileAt(baseSha, rel)
    .catch((err: Error) => ({ ok: false, reason: err.message }) as const);
  if (!base.ok)
    return {
      ok: false,
      unreadable: `cannot read ${rel} at the base commit ${baseSha.slice(0, 12)} (${base.reason}); check out with \`fetch-depth: 2\` (or 0) so the base commit is there`,
    };
  const head = await readTextFile(run.configPath);
  const baseTargets = targetsOf(base.text);
  const headTargets = head.ok ? targetsOf(head.text) : undefined;
  if (!baseTargets || !headTargets)
    return { ok: false, unreadable: `cannot parse the targets of ${rel} at base or head` };
  const changes: string[] = [];
  const names = [...new Set([...Object.keys(baseTargets), ...Object.keys(headTargets)])].sort();
  for (const name of names) {
    const b = baseTargets[name];
    const h = headTargets[name];
    if (!b) {
      changes.push(`target "${name}" is new in this pull request`);
      continue;
    }
    if (!h) continue; // a target removed cannot receive anything
    for (const field of GUARDED) {
      if (canonicalJson(b[field] ?? null) !== canonicalJson(h[field] ?? null))
        changes.push(`target "${name}": \`${field}\` differs from the base branch`);
    }
    // The CA file's content decides which servers are trusted: compare it too.
    const ca = h['ca_file'];
    if (typeof ca === 'string' && ca === b['ca_file'] && !ca.includes('${')) {
      const abs = resolve(configDir, ca);
      const [baseCa, headCa] = await Promise.all([
        repo.readFileAt(baseSha, await repo.relativePath(abs)).catch(() => undefined),
        readTextFile(abs),
      ]);
      const same =
        baseCa?.ok === true && headCa.ok ? baseCa.text === headCa.text : baseCa?.ok === headCa.ok;
      if (!same) changes.push(`target "${name}": the CA file ${ca} differs from the base branch`);
    }
  }
  return changes.length === 0 ? { ok: true } : { ok: false, changes };
}
