/**
 * The PR comment and job summary of a plan, written for the person who reviews
 * it (a telephony engineer, not a connops developer).
 */
import type { Plan } from '../core/plan.ts';
import { renderPlanMarkdown } from '../core/render-plan.ts';
import { title, type Run } from './run.ts';

export interface PrComment {
  /** The comment's Markdown (without marker and footer). */
  readonly markdown: string;
  /** What goes in the job summary. */
  readonly summary: string;
}

export function renderPrComment(run: Run, plan: Plan, _options: { headSha: string }): PrComment {
  const markdown = renderPlanMarkdown(plan, { title: title(run, 'connops plan') });
  return { markdown, summary: markdown };
}
