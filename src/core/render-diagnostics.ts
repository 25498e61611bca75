/**
 * Renders diagnostics as text (`file:line:col: error: message (pointer)`),
 * JSON, or GitHub workflow annotations. Pure.
 */
import { escapeWorkflowData, escapeWorkflowProperty } from './escape.ts';
import type { Diagnostic } from './model.ts';

export { escapeWorkflowData };

export type DiagnosticFormat = 'text' | 'json' | 'github';

export function countDiagnostics(list: readonly Diagnostic[]): {
  errors: number;
  warnings: number;
  notices: number;
} {
  let errors = 0;
  let notices = 0;
  for (const d of list)
    if (d.severity === 'error') errors++;
    else if (d.severity === 'notice') notices++;
  return { errors, warnings: list.length - errors - notices, notices };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One line per diagnostic. */
export function renderDiagnosticLine(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message}${d.pointer ? ` (${d.pointer})` : ''}`;
}

/** Text report with a closing summary line. */
export function renderDiagnosticsText(
  list: readonly Diagnostic[],
  stats: { files: number; documents: number },
): string {
  const { errors, warnings, notices } = countDiagnostics(list);
  const lines = list.map(renderDiagnosticLine);
  const what = `${plural(stats.documents, 'document')} in ${plural(stats.files, 'file')}`;
  const noted = notices > 0 ? `, ${plural(notices, 'notice')}` : '';
  lines.push(
    errors + warnings === 0
      ? `OK: ${what}, no problems${noted}`
      : `${plural(errors, 'error')}, ${plural(warnings, 'warning')}${noted} (${what})`,
  );
  return lines.join('\n') + '\n';
}

export function renderDiagnosticsJson(
  list: readonly Diagnostic[],
  stats: { files: number; documents: number },
): string {
  const { errors, warnings, notices } = countDiagnostics(list);
  return (
    JSON.stringify(
      {
        format_version: '1',
        valid: errors === 0,
        errors,
        warnings,
        notices,
        ...stats,
        diagnostics: list,
      },
      null,
      2,
    ) + '\n'
  );
}

/** GitHub annotations: `::error file=…,line=…,col=…,title=…::message`. */
export function renderDiagnosticsGithub(list: readonly Diagnostic[]): string {
  return (
    list
      .map((d) => {
        const props = [
          `file=${escapeWorkflowProperty(d.file)}`,
          `line=${d.line}`,
          `col=${d.col}`,
          `title=${escapeWorkflowProperty(`connops ${d.code}`)}`,
        ];
        return `::${d.severity} ${props.join(',')}::${escapeWorkflowData(d.message + (d.pointer ? ` (${d.pointer})` : ''))}`;
      })
      .join('\n') + (list.length ? '\n' : '')
  );
}
