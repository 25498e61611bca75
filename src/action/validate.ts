/**
 * The Action's offline checks: every problem as an annotation on its file and
 * line, and a table in the job summary.
 */
import type { AnnotationProperties } from '@actions/core';
import { EXIT } from '../core/exit-codes.ts';
import type { Diagnostic } from '../core/model.ts';
import { countDiagnostics } from '../core/render-diagnostics.ts';
import { loadProject } from '../engine/load.ts';
import type { Env } from '../engine/project.ts';
import { mdCell, workspacePath, type Outcome, type Run } from './run.ts';

/** Value given to unset `${env:}` variables when validating without secrets. */
const STAND_IN = 'https://connops-placeholder.invalid/';

export interface Validation {
  readonly outcome: Outcome;
  readonly errors: number;
  readonly warnings: number;
  /** Names of `${env:}` variables that are not set (when lenient). */
  readonly missingEnv: string[];
  readonly documents: number;
  readonly files: number;
  readonly shown: Diagnostic[];
}

/**
 * Offline checks with every problem as an annotation on its file and line.
 * With `lenientEnv`, unset `${env:}` variables are not errors: pull requests
 * from forks (and Dependabot) get no secrets.
 */
export async function validate(run: Run, options: { lenientEnv: boolean }): Promise<Validation> {
  const load = (env: Env): ReturnType<typeof loadProject> =>
    loadProject({ configPath: run.configPath, env, cwd: run.cwd, keepSpecs: false });
  let project = await load(run.env);
  for (const s of project.secrets) run.secret(s);
  for (const t of Object.values(project.config?.targets ?? {}))
    for (const v of Object.values(t.auth)) run.secret(v);
  const missingEnv = new Set<string>();
  const collectMissing = (): number => {
    const before = missingEnv.size;
    for (const d of project.diagnostics)
      if (d.code === 'ENV_MISSING') {
        const name = /environment variable (\S+) is not set/.exec(d.message)?.[1];
        if (name) missingEnv.add(name);
      }
    return missingEnv.size - before;
  };
  // An unset variable in the config makes the whole config invalid, which hides every
  // other check (and the documents' own variables); validate again with stand-ins
  // (URL-shaped, so url fields still parse) until no new variable turns up.
  for (let round = 0; collectMissing() > 0 && options.lenientEnv && round < 3; round++) {
    const standIns = Object.fromEntries([...missingEnv].map((n) => [n, `${STAND_IN}${n}`]));
    project = await load({ ...run.env, ...standIns });
    // Documents are read only now that the config parses: register their real secrets.
    for (const v of project.secrets) if (!v.includes(STAND_IN)) run.secret(v);
  }
  const shown: Diagnostic[] = [];
  for (const d of project.diagnostics) {
    if (options.lenientEnv && d.code === 'ENV_MISSING') continue;
    shown.push(d);
    const file = workspacePath(run, d.file);
    const props: AnnotationProperties = {
      title: `connops ${d.code}`,
      file,
      startLine: d.line,
      startColumn: d.col,
    };
    run.core[d.severity](
      run.secrets.redact(`${d.message}${d.pointer ? ` (${d.pointer})` : ''}`),
      props,
    );
  }
  const { errors, warnings } = countDiagnostics(shown);
  const stats = { documents: project.documentCount, files: project.files.length };
  run.say(
    'info',
    `connops validate: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'} (${stats.documents} documents in ${stats.files} files)`,
  );
  return {
    outcome:
      errors > 0 || !project.config
        ? {
            code: EXIT.INVALID,
            reason: `connops: ${errors} error${errors === 1 ? '' : 's'} in the documents (see the annotations); nothing was read from or written to any API`,
          }
        : { code: EXIT.OK },
    errors,
    warnings,
    missingEnv: options.lenientEnv ? [...missingEnv].sort() : [],
    shown,
    ...stats,
  };
}

export function validationSummary(run: Run, v: Validation): string {
  const lines = [
    `### connops validate: \`${run.identity.config}\``,
    '',
    v.errors + v.warnings === 0
      ? `**OK:** ${v.documents} documents in ${v.files} files, no problems.`
      : `**${v.errors} error${v.errors === 1 ? '' : 's'}, ${v.warnings} warning${v.warnings === 1 ? '' : 's'}** in ${v.documents} documents (${v.files} files).`,
  ];
  if (v.shown.length > 0) {
    lines.push('', '| file | line | severity | problem |', '| --- | --- | --- | --- |');
    for (const d of v.shown.slice(0, 200))
      lines.push(
        `| ${mdCell(workspacePath(run, d.file))} | ${d.line}:${d.col} | ${d.severity} | ${mdCell(d.message)} |`,
      );
    if (v.shown.length > 200) lines.push('', `_…and ${v.shown.length - 200} more (see the log)._`);
  }
  return lines.join('\n') + '\n';
}

/** Validates with every credential required; on problems writes the summary and returns the outcome to end with. */
export async function validateStrict(run: Run): Promise<Outcome | undefined> {
  const v = await validate(run, { lenientEnv: false });
  if (v.outcome.code === EXIT.OK) return undefined;
  await run.summary(validationSummary(run, v));
  return v.outcome;
}
