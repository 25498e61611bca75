/**
 * What the merged pull request hears about its apply (as dflook's
 * terraform-apply does): applied with counts and a link to the run, refused
 * with the reasons, or failed with each write that was and was not made.
 */
import { EXIT } from '../core/exit-codes.ts';
import { countResults } from '../core/render-run.ts';
import type { ChangeResult } from '../engine/apply.ts';
import { parseMarker, renderMarker, sameIdentity } from './markers.ts';
import { upsertComment } from './pull-request.ts';
import { mdCell, title, type Run } from './run.ts';

/**
 * Writes the apply's outcome back to the merged PR (as dflook's
 * terraform-apply does): one comment per config, updated on a re-run.
 * Best effort: the apply has already happened (or not), and the job summary
 * and the step's result say so too.
 */
export async function tellPull(run: Run, pr: number | undefined, report: string): Promise<void> {
  const api = run.api();
  if (!api || pr === undefined || !run.inputs.comment) return;
  const sha = run.env['GITHUB_SHA'] ?? '';
  const runUrl =
    run.env['GITHUB_SERVER_URL'] && run.env['GITHUB_RUN_ID']
      ? `${run.env['GITHUB_SERVER_URL']}/${run.repository}/actions/runs/${run.env['GITHUB_RUN_ID']}`
      : undefined;
  const marker = renderMarker('apply', {
    config: run.identity.config,
    ...(run.identity.scope ? { scope: run.identity.scope } : {}),
    sha,
  });
  const body = `${marker}\n### ${title(run, 'connops apply')}\n\n${report}\n\n<sub>Merge commit ${sha.slice(0, 12)}${runUrl ? ` · [the apply run](${runUrl})` : ''}</sub>\n`;
  try {
    await upsertComment(run, api, pr, body, (c) =>
      sameIdentity(parseMarker(c.body, 'apply'), run.identity),
    );
  } catch (err) {
    run.say(
      'warning',
      `connops: could not write the apply result to #${pr}: ${(err as Error).message}`,
    );
  }
}

/** The merged PR's account of an apply: counts, and on failure each write that was and was not made. */
export function applyReport(
  code: number,
  notes: readonly string[],
  results: readonly ChangeResult[] | undefined,
  log: string,
): string {
  const lines = notes.map((n) => `> ${mdCell(n)}`);
  if (!results) {
    // Refused before writing (policy limits): the log says why.
    const why =
      log.split('\n').find((l) => l.startsWith('connops: apply refused')) ?? 'see the run';
    return [...lines, '', `**Apply refused**; nothing was written. ${mdCell(why)}`].join('\n');
  }
  const c = countResults(results);
  const counts = `${c.created} created, ${c.updated} updated, ${c.deleted} deleted, ${c.failed} failed, ${c.skipped} skipped${c.unverified ? `, ${c.unverified} not converged` : ''}`;
  if (code === EXIT.OK) return [...lines, '', `**Applied:** ${counts}.`].join('\n');
  // Every write landed but the number manager was not brought in line (engine/apply.ts repairNumbers).
  const numbers = log
    .split('\n')
    .find((l) => l.startsWith('connops: the writes were applied, but'));
  if (numbers !== undefined && c.complete)
    return [...lines, '', `**Applied, numbers not re-marked:** ${counts}. ${mdCell(numbers)}`].join(
      '\n',
    );
  const rows = results.map(
    (r) =>
      `| ${r.status === 'ok' ? (r.verified === false ? 'written, not converged' : 'written') : r.status === 'skipped' ? 'not written (skipped)' : 'not written (failed)'} | ${r.action} | ${mdCell(r.key.name)} | \`${r.key.account}\` | ${mdCell(r.message)} |`,
  );
  return [
    ...lines,
    '',
    `**Apply failed:** ${counts}. Run the plan again to see what is left.`,
    '',
    '| result | action | name | account | message |',
    '| --- | --- | --- | --- | --- |',
    ...rows.slice(0, 200),
  ].join('\n');
}
