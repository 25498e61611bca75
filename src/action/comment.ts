/**
 * The PR comment and job summary of a plan, written for the person who reviews
 * it (a telephony engineer, not a connops developer): small plans show every
 * field change open, each changed document's name links to its file and line
 * at the PR's head commit, and the comment says where the full JSON plan is.
 */
import type { Plan, PlanChange } from '../core/plan.ts';
import { renderPlanMarkdown } from '../core/render-plan.ts';
import { title, workspacePath, type Run } from './run.ts';

/** Plans with at most this many changed documents show their changes open. */
export const OPEN_DETAILS_UP_TO = 20;

export interface PrComment {
  /** The comment's Markdown (without marker and footer). */
  readonly markdown: string;
  /** What goes in the job summary (the same, printed once). */
  readonly summary: string;
}

/**
 * Markdown that leads the comment, before the table of documents. The
 * per-number view (src/core/numbers.ts, being written alongside) plugs in
 * here: return its Markdown for `plan`, or undefined.
 */
export type LeadView = (plan: Plan) => string | undefined;
let leadView: LeadView = () => undefined;
export function setLeadView(view: LeadView): void {
  leadView = view;
}

function runUrl(run: Run): string | undefined {
  const server = run.env['GITHUB_SERVER_URL'];
  const id = run.env['GITHUB_RUN_ID'];
  return server && id && run.repository
    ? `${server}/${run.repository}/actions/runs/${id}`
    : undefined;
}

/** `https://github.com/o/r/blob/<sha>/infra/connectivity/acme/main.yaml#L12` for a change's source. */
function sourceLink(run: Run, headSha: string): (c: PlanChange) => string | undefined {
  const server = run.env['GITHUB_SERVER_URL'];
  if (!server || !run.repository || !/^[0-9a-f]{7,64}$/i.test(headSha)) return () => undefined;
  return (c) => {
    if (!c.source) return undefined;
    const path = workspacePath(run, c.source.file).split('/').map(encodeURIComponent).join('/');
    if (path.startsWith('..')) return undefined;
    return `${server}/${run.repository}/blob/${headSha}/${path}#L${c.source.line}`;
  };
}

export function renderPrComment(run: Run, plan: Plan, options: { headSha: string }): PrComment {
  const changed = plan.summary.create + plan.summary.update + plan.summary.delete;
  const lead = leadView(plan);
  const url = runUrl(run);
  const body = renderPlanMarkdown(plan, {
    title: title(run, 'connops plan'),
    open: changed <= OPEN_DETAILS_UP_TO,
    linkOf: sourceLink(run, options.headSha),
    ...(lead ? { lead } : {}),
  });
  const json = url
    ? `\n<sub>The full plan as JSON (no secret values) is the \`connops-plan\` artifact of [this run](${url}), where the workflow uploads it (see examples/workflows/pr-plan.yml).</sub>\n`
    : '';
  const markdown = body + json;
  return { markdown, summary: markdown };
}
