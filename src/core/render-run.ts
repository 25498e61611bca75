/**
 * Text for what a run reports besides the plan itself: the live state that
 * could not be read, plan problems, and the result of each write. Both drivers
 * print these (the CLI on stderr/stdout, the Action in its log and summary).
 */
import type { Diagnostic, DocumentKey } from './model.ts';
import type { Plan, PlanChange } from './plan.ts';
import { countDiagnostics, renderDiagnosticLine } from './render-diagnostics.ts';

/**
 * What loading says before a plan: git notes, every error, the config's own
 * warnings and notices (few, and about the run: insecure http, unset
 * credentials), and the documents' warnings as one count line pointing at
 * `validate`: a plan is not the place to repeat dozens of them. `quiet` keeps
 * only the errors.
 */
export function renderLoaded(
  loaded: {
    readonly diagnostics: readonly Diagnostic[];
    readonly notes: readonly string[];
    /** The config file's path as diagnostics show it (its warnings are printed in full). */
    readonly configFile?: string;
  },
  quiet: boolean,
): string[] {
  const shown = loaded.diagnostics.filter(
    (d) => d.severity === 'error' || (!quiet && d.file === loaded.configFile),
  );
  const counted = countDiagnostics(
    loaded.diagnostics.filter((d) => d.severity !== 'error' && d.file !== loaded.configFile),
  );
  const parts = [
    ...(counted.warnings > 0 ? [plural(counted.warnings, 'warning')] : []),
    ...(counted.notices > 0 ? [plural(counted.notices, 'notice')] : []),
  ];
  return [
    ...loaded.notes.map((n) => `connops: ${n}\n`),
    ...shown.map((d) => renderDiagnosticLine(d) + '\n'),
    ...(parts.length > 0 && !quiet
      ? [`connops: ${parts.join(', ')} in the documents; run \`connops validate\` for details\n`]
      : []),
  ];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The line that ends a run stopped by invalid documents. */
export function renderInvalidDocuments(diagnostics: readonly Diagnostic[]): string {
  const { errors } = countDiagnostics(diagnostics);
  return `connops: ${errors} error${errors === 1 ? '' : 's'} in the documents; nothing was read from or written to any API (run \`connops validate\` for the full report)\n`;
}

/** A scope whose live state could not be read (engine/reconcile's ReadFailure). */
export interface ReadTrouble {
  readonly target: string;
  readonly account: string;
  readonly kind: string;
  readonly message: string;
}

/** One line per unreadable scope and per plan problem, each ending in a newline. */
export function renderPlanTrouble(failures: readonly ReadTrouble[], plan: Plan): string[] {
  return [
    ...failures.map(
      (f) =>
        `connops: cannot read ${f.kind} objects in account ${f.account} on ${f.target}: ${f.message}\n`,
    ),
    ...plan.problems.map(
      (p) =>
        `connops: ${p.source ? `${p.source.file}:${p.source.line}:${p.source.col}: ` : ''}${p.message}\n`,
    ),
  ];
}

/** The outcome of one write (engine/apply's ChangeResult). */
export interface WriteOutcome {
  readonly key: DocumentKey;
  readonly action: PlanChange['action'];
  readonly status: 'ok' | 'failed' | 'skipped' | 'unknown';
  readonly message: string;
  readonly requestId?: string;
  readonly verified?: boolean;
}

export interface ApplyCounts {
  created: number;
  updated: number;
  deleted: number;
  failed: number;
  skipped: number;
  unverified: number;
  /** Writes whose answer was lost and whose read-back could not tell (engine/readback.ts). */
  unknown: number;
}

/** Counts of an apply's results; `complete` is false when anything failed, was skipped or did not converge. */
export function countResults(
  results: readonly WriteOutcome[],
): ApplyCounts & { complete: boolean } {
  const count: ApplyCounts = {
    created: 0,
    updated: 0,
    deleted: 0,
    failed: 0,
    skipped: 0,
    unverified: 0,
    unknown: 0,
  };
  for (const r of results) {
    if (r.status === 'failed') count.failed++;
    else if (r.status === 'unknown') count.unknown++;
    else if (r.status === 'skipped') count.skipped++;
    else {
      if (r.verified === false) count.unverified++;
      if (r.action === 'create') count.created++;
      if (r.action === 'update') count.updated++;
      if (r.action === 'delete') count.deleted++;
    }
  }
  return {
    ...count,
    complete: count.failed + count.skipped + count.unverified + count.unknown === 0,
  };
}

/** One line per write (✓ applied, ! did not converge, - skipped, ? outcome unknown, ✗ failed), then the totals line. */
export function renderApplyResults(results: readonly WriteOutcome[]): string {
  const lines = results.map((r) => {
    const mark =
      r.status === 'ok'
        ? r.verified === false
          ? '!'
          : '✓'
        : r.status === 'skipped'
          ? '-'
          : r.status === 'unknown'
            ? '?'
            : '✗';
    return `${mark} ${r.action} ${r.key.kind} "${r.key.name}" (account ${r.key.account}): ${r.message}${r.requestId ? ` [request ${r.requestId}]` : ''}\n`;
  });
  const c = countResults(results);
  lines.push(
    `Apply: ${c.created} created, ${c.updated} updated, ${c.deleted} deleted, ${c.failed} failed, ${c.skipped} skipped${c.unverified ? `, ${c.unverified} not converged` : ''}${c.unknown ? `, ${c.unknown} outcome unknown` : ''}.\n`,
  );
  return lines.join('');
}

/** One account's number repair after an apply (engine/apply's NumberRepair). */
export interface NumberRepairOutcome {
  readonly target: string;
  readonly account: string;
  readonly status: 'ok' | 'failed' | 'skipped' | 'off';
  readonly message: string;
  readonly requestId?: string;
}

/** One line per account whose numbers an apply moved (✓ recomputed, ✗ failed, - skipped, · turned off). */
export function renderNumberRepairs(repairs: readonly NumberRepairOutcome[]): string {
  return repairs
    .map((r) => {
      const mark =
        r.status === 'ok' ? '✓' : r.status === 'failed' ? '✗' : r.status === 'skipped' ? '-' : '·';
      return `${mark} numbers of account ${r.account} on ${r.target}: ${r.message}${r.requestId ? ` [request ${r.requestId}]` : ''}\n`;
    })
    .join('');
}

/** Why an apply over the policy limits was refused (each limit exceeded). */
export function renderLimitsRefused(reasons: readonly string[]): string {
  return `connops: apply refused: ${reasons.join('; ')}. Review the plan, then re-run with --force if it is intended.\n`;
}

/**
 * The closing line of an apply that ran to its end: why it did not complete
 * (a write failed, was skipped, did not converge or has an unknown outcome;
 * or a number repair failed), or undefined when everything landed.
 */
export function renderApplyShortfall(
  results: readonly WriteOutcome[],
  repairs: readonly NumberRepairOutcome[],
): string | undefined {
  if (!countResults(results).complete)
    return 'connops: some changes did not complete; the others were applied. Run `connops plan` to see what is left, then apply again.\n';
  return renderNumbersNotRepaired(repairs);
}

/** The closing line when some number repair failed or was skipped (undefined when none did). */
export function renderNumbersNotRepaired(
  repairs: readonly NumberRepairOutcome[],
): string | undefined {
  const bad = repairs.filter((r) => r.status === 'failed' || r.status === 'skipped');
  if (bad.length === 0) return undefined;
  return `connops: the writes were applied, but used_by could not be recomputed in ${bad.length} account${bad.length === 1 ? '' : 's'} (${bad.map((r) => r.account).join(', ')}); recompute it with POST /v2/accounts/{account}/phone_numbers/fix (a plan with no changes does not repeat it)\n`;
}
