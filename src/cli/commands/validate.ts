/**
 * `connops validate`: every offline problem in one run.
 */
import {
  countDiagnostics,
  renderDiagnosticsGithub,
  renderDiagnosticsJson,
  renderDiagnosticsText,
} from '../../core/render-diagnostics.ts';
import { loadProject } from '../../engine/load.ts';
import { formatFlag } from '../../core/options.ts';
import type { CommandContext } from '../context.ts';
import { EXIT } from '../../core/exit-codes.ts';

export async function validateCommand(ctx: CommandContext): Promise<number> {
  const format = formatFlag(ctx.flags, ['text', 'json', 'github'] as const, 'text');
  const project = await loadProject({
    configPath: ctx.configPath,
    env: ctx.io.env,
    cwd: ctx.io.cwd,
    keepSpecs: false,
    // Offline and without secrets: a pre-commit hook or a fork's pull request can run it.
    offline: true,
  });
  for (const s of project.secrets) ctx.secrets.add(s);
  if (ctx.io.env['CONNOPS_DEBUG']) {
    const why = project.threadProblems.map((p) => `; ${p}`).join('');
    ctx.err(
      `connops: checked ${project.files.length} files in ${threadCount(project.threads)}${why}\n`,
    );
  }
  const stats = { files: project.files.length, documents: project.documentCount };
  const list = project.diagnostics;
  if (format === 'json') ctx.out(renderDiagnosticsJson(list, stats));
  else if (format === 'github') {
    ctx.out(renderDiagnosticsGithub(list));
    ctx.err(renderDiagnosticsText([], stats).trim() === '' ? '' : summaryOnly(list, stats));
  } else ctx.out(renderDiagnosticsText(list, stats));
  return countDiagnostics(list).errors > 0 ? EXIT.INVALID : EXIT.OK;
}

function summaryOnly(
  list: Parameters<typeof renderDiagnosticsText>[0],
  stats: { files: number; documents: number },
): string {
  const text = renderDiagnosticsText(list, stats).trimEnd().split('\n');
  return `${text[text.length - 1] ?? ''}\n`;
}

const threadCount = (n: number): string => (n === 1 ? '1 thread' : `${n} threads`);
