/**
 * The GitHub Action (SPEC.md §6): validate and plan on pull requests (one
 * comment per config, updated in place), apply on pushes to the default branch
 * only when the plan still matches the one reviewed in the merged PR, and
 * drift on a schedule (optionally one issue kept up to date). The engine is the
 * CLI's: loadAndPlan and applyPlanned run in-process.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import * as actionsToolkit from '@actions/core';
import type { AnnotationProperties } from '@actions/core';
import { parseCommandLine, type Flags } from '../cli/args.ts';
import { applyPlanned } from '../cli/commands/apply.ts';
import { loadAndPlan, reportPlanTrouble, type PlannedProject } from '../cli/commands/common.ts';
import { createContext, type CommandContext } from '../cli/context.ts';
import { EXIT } from '../cli/exit-codes.ts';
import type { CliIO } from '../cli/io.ts';
import { ConnopsError, UsageError } from '../core/errors.ts';
import { escapeMarkdownCell } from '../core/escape.ts';
import type { Diagnostic } from '../core/model.ts';
import type { Plan } from '../core/plan.ts';
import { countDiagnostics } from '../core/render-diagnostics.ts';
import {
  MARKDOWN_LIMIT,
  renderPlanJson,
  renderPlanMarkdown,
  renderPlanText,
  summaryLine,
} from '../core/render-plan.ts';
import { loadProject } from '../engine/load.ts';
import { createGitHubApi, type GitHubApi, type IssueComment } from './github.ts';
import { InputError, readInputs, type ActionInputs } from './inputs.ts';
import {
  explainPlanChange,
  parseMarker,
  renderMarker,
  renderReviewedChanges,
  sameIdentity,
} from './markers.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** What the Action needs from @actions/core (tests of the logic may pass a fake). */
export interface ActionCore {
  info(message: string): void;
  notice(message: string, properties?: AnnotationProperties): void;
  warning(message: string, properties?: AnnotationProperties): void;
  error(message: string, properties?: AnnotationProperties): void;
  setOutput(name: string, value: string): void;
  setSecret(value: string): void;
  setFailed(message: string): void;
  /** Appends Markdown to the step summary ($GITHUB_STEP_SUMMARY). */
  appendSummary(markdown: string): Promise<void>;
}

export interface ActionDeps {
  readonly core: ActionCore;
}

/** @actions/core itself. It reads GITHUB_OUTPUT/GITHUB_STEP_SUMMARY from process.env. */
export function toolkitCore(): ActionCore {
  return {
    info: (m) => actionsToolkit.info(m),
    notice: (m, p) => actionsToolkit.notice(m, p),
    warning: (m, p) => actionsToolkit.warning(m, p),
    error: (m, p) => actionsToolkit.error(m, p),
    setOutput: (n, v) => actionsToolkit.setOutput(n, v),
    setSecret: (v) => actionsToolkit.setSecret(v),
    setFailed: (m) => actionsToolkit.setFailed(m),
    async appendSummary(markdown) {
      // Outside a runner (local runs) there is no summary file; the log has everything.
      if (!process.env['GITHUB_STEP_SUMMARY']) return;
      await actionsToolkit.summary.addRaw(markdown, true).write();
      actionsToolkit.summary.emptyBuffer();
    },
  };
}

/** GitHub rejects step summaries above 1024 KiB (anchors §5.2); keep a margin for other text. */
const SUMMARY_LIMIT_BYTES = 1_000_000;
/** GitHub rejects comment bodies above 65 536 characters. */
const COMMENT_LIMIT = 65_536;
/** The longest apply log shown in the summary; the step log has all of it. */
const APPLY_LOG_LIMIT = 200_000;
const DRIFT_LABEL = 'connops-drift';
/** Value given to unset `${env:}` variables when validating without secrets. */
const STAND_IN = 'https://connops-placeholder.invalid/';

interface Outcome {
  readonly code: number;
  /** Why the step failed (for setFailed); absent on success. */
  readonly reason?: string;
}

interface EventPayload {
  readonly pull_request?: {
    readonly number: number;
    readonly head: { readonly sha: string; readonly repo: { readonly full_name: string } | null };
    readonly base: { readonly repo: { readonly full_name: string } };
  };
  readonly repository?: { readonly default_branch?: string; readonly full_name?: string };
}

/** Everything one run knows; built once, passed to each flow. */
interface Run {
  readonly env: Env;
  readonly core: ActionCore;
  readonly inputs: ActionInputs;
  readonly flags: Flags;
  readonly ctx: CommandContext;
  readonly workspace: string;
  /** Identifies the comment/issue of this config and selection. */
  readonly identity: { readonly config: string; readonly scope: string };
  readonly eventName: string;
  readonly event: EventPayload;
  readonly repository: string;
  /** Every secret value seen (token, auth, `${env:}` values), for new contexts and setSecret. */
  readonly known: Set<string>;
  readonly api: () => GitHubApi | undefined;
  /** Runs CLI-layer code with its output framed so it cannot issue workflow commands. */
  untrusted<T>(fn: () => Promise<T>): Promise<T>;
  secret(value: string | undefined): void;
  say(kind: 'info' | 'notice' | 'warning' | 'error', message: string): void;
  summary(markdown: string): Promise<void>;
}

export async function runAction(
  env: Env,
  deps: ActionDeps = { core: toolkitCore() },
): Promise<number> {
  const core = deps.core;
  let run: Run | undefined;
  let api: GitHubApi | undefined;
  let outcome: Outcome;
  try {
    run = prepare(env, core, () => api);
    const token = run.inputs.githubToken;
    if (token !== '' && run.repository !== '')
      api = createGitHubApi({
        apiUrl: env['GITHUB_API_URL'] || 'https://api.github.com',
        repository: run.repository,
        token,
        secrets: run.ctx.secrets,
      });
    outcome = await dispatch(run);
  } catch (err) {
    outcome = failureOf(err, env);
  } finally {
    await api?.close();
  }
  if (outcome.code !== EXIT.OK) {
    const reason =
      outcome.reason ?? `connops ${env['INPUT_COMMAND'] ?? ''} failed (exit ${outcome.code})`;
    core.setFailed(run ? run.ctx.secrets.redact(reason) : reason);
  }
  return outcome.code;
}

function failureOf(err: unknown, env: Env): Outcome {
  if (err instanceof InputError || err instanceof UsageError)
    return { code: EXIT.USAGE, reason: `connops action: ${err.message}` };
  if (err instanceof ConnopsError) return { code: EXIT.FAILURE, reason: `connops: ${err.message}` };
  const e = err as Error;
  return {
    code: EXIT.FAILURE,
    reason: `connops action: internal error: ${e?.message ?? String(err)}${env['CONNOPS_DEBUG'] ? `\n${e?.stack ?? ''}` : ''}`,
  };
}

function toPosix(p: string): string {
  return p.split(sep).join('/');
}

function readEvent(path: string | undefined): EventPayload {
  if (!path) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as EventPayload;
  } catch {
    throw new InputError(`cannot read the event payload GITHUB_EVENT_PATH=${path}`);
  }
}

function prepare(env: Env, core: ActionCore, api: () => GitHubApi | undefined): Run {
  const inputs = readInputs(env);
  const known = new Set<string>();
  const workspace = resolve(env['GITHUB_WORKSPACE'] || process.cwd());
  const cwd = resolve(workspace, inputs.workingDirectory);
  // The CLI command only decides which flags parse; the Action calls the engine itself.
  const parsed = parseCommandLine([
    inputs.command === 'apply' ? 'apply' : 'plan',
    '--config',
    inputs.config,
    '--no-color',
    ...inputs.args,
  ]);
  if (parsed.positionals.length > 0)
    throw new InputError(
      `input "args": unexpected argument "${parsed.positionals[0]}" (only --options are allowed)`,
    );
  // Lines from the CLI layer can hold document names and messages written in the PR;
  // stop-commands keeps them from being read as workflow commands.
  let framed = false;
  const log = (text: string): void => {
    const t = text.replace(/\n$/, '');
    if (t !== '') core.info(t);
  };
  const io: CliIO = {
    stdout: log,
    stderr: log,
    env,
    cwd,
    stdoutIsTTY: false,
    stdinIsTTY: false,
  };
  const ctx = createContext(io, parsed.flags, []);
  const configAbs = resolve(cwd, inputs.config);
  const scope = [
    ...(parsed.flags.shard ? [`shard:${parsed.flags.shard}`] : []),
    ...(parsed.flags.target ?? []).map((t) => `target:${t}`),
    ...(parsed.flags.account ?? []).map((a) => `account:${a}`),
  ].join(',');
  const run: Run = {
    env,
    core,
    inputs,
    flags: parsed.flags,
    ctx,
    workspace,
    identity: { config: toPosix(relative(workspace, configAbs)) || inputs.config, scope },
    eventName: env['GITHUB_EVENT_NAME'] ?? '',
    event: readEvent(env['GITHUB_EVENT_PATH']),
    repository: env['GITHUB_REPOSITORY'] ?? '',
    known,
    api,
    async untrusted(fn) {
      if (framed) return fn();
      const token = randomUUID();
      core.info(`::stop-commands::${token}`);
      framed = true;
      try {
        return await fn();
      } finally {
        framed = false;
        core.info(`::${token}::`);
      }
    },
    secret(value) {
      // SecretSet ignores values under 4 characters; masking those would mangle the log.
      if (value === undefined || value.length < 4 || known.has(value)) return;
      // An unresolved `${env:NAME}` reference is not a secret, only a missing one.
      if (value.includes('${env:')) return;
      known.add(value);
      ctx.secrets.add(value);
      core.setSecret(value);
    },
    say(kind, message) {
      core[kind](ctx.secrets.redact(message));
    },
    async summary(markdown) {
      let text = ctx.secrets.redact(markdown);
      if (Buffer.byteLength(text) > SUMMARY_LIMIT_BYTES) {
        text = `${Buffer.from(text).subarray(0, SUMMARY_LIMIT_BYTES).toString('utf8')}\n\n_Summary cut at GitHub's size limit; the step log has everything._\n`;
      }
      await core.appendSummary(text);
    },
  };
  run.secret(inputs.githubToken);
  return run;
}

function isPullRequest(run: Run): boolean {
  return (
    (run.eventName === 'pull_request' || run.eventName === 'pull_request_target') &&
    run.event.pull_request !== undefined
  );
}

async function dispatch(run: Run): Promise<Outcome> {
  switch (run.inputs.command) {
    case 'validate': {
      const v = await validate(run, { lenientEnv: isPullRequest(run) });
      await run.summary(validationSummary(run, v));
      return v.outcome;
    }
    case 'plan':
      return isPullRequest(run) ? pullRequestPlan(run) : plainPlan(run);
    case 'drift':
      return drift(run);
    case 'apply':
      return applyOnPush(run);
  }
}

// ---------------------------------------------------------------- validate

interface Validation {
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
async function validate(run: Run, options: { lenientEnv: boolean }): Promise<Validation> {
  const { ctx } = run;
  const load = (env: Env): ReturnType<typeof loadProject> =>
    loadProject({ configPath: ctx.configPath, env, cwd: ctx.io.cwd, keepSpecs: false });
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
    run.core[d.severity === 'error' ? 'error' : 'warning'](
      ctx.secrets.redact(`${d.message}${d.pointer ? ` (${d.pointer})` : ''}`),
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

function validationSummary(run: Run, v: Validation): string {
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

/** A path from the CLI (relative to working-directory) as GitHub wants it: relative to the workspace. */
function workspacePath(run: Run, file: string): string {
  return toPosix(relative(run.workspace, resolve(run.ctx.io.cwd, file)));
}

const mdCell = escapeMarkdownCell;

// ---------------------------------------------------------------- plan

interface Planned {
  readonly plan: Plan;
  /** Read failures or plan problems: the plan is incomplete. */
  readonly trouble: boolean;
  /** With `keepOpen`: the planned project, sessions open, for applyPlanned (the caller closes it). */
  readonly project?: PlannedProject;
}

function changeCount(plan: Plan): number {
  return plan.summary.create + plan.summary.update + plan.summary.delete;
}

/** Plans with the CLI's engine, logs the text plan, writes the JSON plan and the outputs. */
async function makePlan(run: Run, keepOpen = false): Promise<Planned | Outcome> {
  const { ctx } = run;
  const planned = await run.untrusted(() => loadAndPlan(ctx));
  if (typeof planned === 'number')
    return { code: planned, reason: 'connops: the documents are invalid (see the log)' };
  let handedOver = false;
  try {
    const trouble = await run.untrusted(async () => {
      const t = reportPlanTrouble(ctx, planned);
      ctx.out(renderPlanText(planned.plan, { color: false }));
      return t;
    });
    const { plan } = planned;
    const digest = createHash('sha256')
      .update(`${run.identity.config}\n${run.identity.scope}`)
      .digest('hex')
      .slice(0, 12);
    const file = join(run.env['RUNNER_TEMP'] || tmpdir(), `connops-plan-${digest}.json`);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, ctx.secrets.redact(renderPlanJson(plan)), { mode: 0o600 });
    run.core.setOutput('has-changes', changeCount(plan) > 0 ? 'true' : 'false');
    run.core.setOutput('fingerprint', plan.fingerprint);
    run.core.setOutput('plan-json', file);
    handedOver = keepOpen;
    return keepOpen ? { plan, trouble, project: planned } : { plan, trouble };
  } finally {
    if (!handedOver) await planned.pool.closeAll();
  }
}

function isOutcome(x: Planned | Outcome): x is Outcome {
  return 'code' in x;
}

function title(run: Run, what: string): string {
  return `${what}: \`${run.identity.config}\`${run.identity.scope ? ` (${run.identity.scope})` : ''}`;
}

const INCOMPLETE: Outcome = {
  code: EXIT.FAILURE,
  reason: 'connops: the plan is incomplete: some live state could not be read (see the log)',
};

/** Validates with every credential required; on problems writes the summary and returns the outcome to end with. */
async function validateStrict(run: Run): Promise<Outcome | undefined> {
  const v = await validate(run, { lenientEnv: false });
  if (v.outcome.code === EXIT.OK) return undefined;
  await run.summary(validationSummary(run, v));
  return v.outcome;
}

async function plainPlan(run: Run): Promise<Outcome> {
  const invalid = await validateStrict(run);
  if (invalid) return invalid;
  const p = await makePlan(run);
  if (isOutcome(p)) return p;
  await run.summary(renderPlanMarkdown(p.plan, { title: title(run, 'connops plan') }));
  return p.trouble ? INCOMPLETE : { code: EXIT.OK };
}

async function pullRequestPlan(run: Run): Promise<Outcome> {
  const pr = run.event.pull_request;
  if (!pr) return plainPlan(run);
  const base = pr.base.repo.full_name || run.repository;
  const fork = pr.head.repo === null || pr.head.repo.full_name !== base;
  const v = await validate(run, { lenientEnv: true });
  if (v.outcome.code !== EXIT.OK) {
    await run.summary(validationSummary(run, v));
    return v.outcome;
  }
  if (fork || v.missingEnv.length > 0) {
    const why = fork
      ? 'this pull request comes from a fork, and GitHub does not give secrets (nor a token that can comment) to workflows of fork PRs'
      : `the credentials are not set (${v.missingEnv.join(', ')}); pass them to the step with \`env:\` from repository secrets`;
    const message = `connops: documents validated; plan skipped because it needs secrets: ${why}. A maintainer can run the plan from a branch of this repository.`;
    run.say('notice', message);
    await run.summary(`${validationSummary(run, v)}\n> [!NOTE]\n> ${message}\n`);
    return { code: EXIT.OK };
  }
  const p = await makePlan(run);
  if (isOutcome(p)) return p;
  const headSha = pr.head.sha;
  const markdown = renderPlanMarkdown(p.plan, { title: title(run, 'connops plan') });
  await run.summary(markdown);
  if (run.inputs.comment) {
    const api = run.api();
    if (!api)
      run.say(
        'warning',
        'connops: no github-token (or GITHUB_REPOSITORY); the plan is in the job summary only',
      );
    else await upsertPlanComment(run, api, pr.number, p.plan, markdown, headSha);
  }
  return p.trouble ? INCOMPLETE : { code: EXIT.OK };
}

function commentBody(run: Run, plan: Plan, markdown: string, sha: string): string {
  const marker = renderMarker('plan', {
    config: run.identity.config,
    ...(run.identity.scope ? { scope: run.identity.scope } : {}),
    fingerprint: plan.fingerprint,
    sha,
  });
  const footer = `<sub>Planned at ${sha.slice(0, 12)}. When this merges, apply re-plans and refuses if the plan differs from this one.</sub>`;
  const text = `${marker}\n${markdown.length > MARKDOWN_LIMIT ? markdown.slice(0, MARKDOWN_LIMIT) : markdown}\n${footer}\n`;
  return text + renderReviewedChanges(plan, COMMENT_LIMIT - text.length - 100);
}

/** Our comments for this config: bot-authored first (a user could paste a marker too), oldest first. */
function ourComments(run: Run, comments: readonly IssueComment[]): IssueComment[] {
  const mine = comments.filter((c) => sameIdentity(parseMarker(c.body, 'plan'), run.identity));
  return [
    ...mine.filter((c) => c.user?.type === 'Bot'),
    ...mine.filter((c) => c.user?.type !== 'Bot'),
  ];
}

async function upsertPlanComment(
  run: Run,
  api: GitHubApi,
  issue: number,
  plan: Plan,
  markdown: string,
  sha: string,
): Promise<void> {
  const body = commentBody(run, plan, markdown, sha);
  const existing = ourComments(run, await api.listIssueComments(issue))[0];
  if (existing) {
    await api.updateIssueComment(existing.id, body);
    run.say('info', `connops: updated the plan comment ${existing.id} on #${issue}`);
  } else {
    const created = await api.createIssueComment(issue, body);
    run.say('info', `connops: posted the plan comment ${created.id} on #${issue}`);
  }
}

// ---------------------------------------------------------------- apply

interface Reviewed {
  readonly pr: number;
  readonly fingerprint: string;
  readonly body: string;
}

/** The plan reviewed in the PR this push merged, if any. */
async function findReviewedPlan(run: Run, sha: string): Promise<Reviewed | string> {
  const api = run.api();
  if (!api) return 'no github-token, so the merged pull request cannot be looked up';
  const pulls = await api.pullsForCommit(sha);
  const merged =
    pulls.find((p) => p.merged_at && p.merge_commit_sha === sha) ?? pulls.find((p) => p.merged_at);
  if (!merged) return `commit ${sha.slice(0, 12)} is not the merge of a pull request`;
  const comment = ourComments(run, await api.listIssueComments(merged.number))[0];
  const fingerprint = parseMarker(comment?.body, 'plan')?.['fingerprint'];
  if (!comment || !fingerprint)
    return `pull request #${merged.number} has no connops plan comment for ${run.identity.config}`;
  return { pr: merged.number, fingerprint, body: comment.body };
}

async function applyOnPush(run: Run): Promise<Outcome> {
  const sha = run.env['GITHUB_SHA'] ?? '';
  const defaultBranch = run.event.repository?.default_branch;
  if (run.eventName === 'push' && run.env['GITHUB_REF'] !== `refs/heads/${defaultBranch ?? ''}`)
    return {
      code: EXIT.FAILURE,
      reason: `connops: apply runs on pushes to the default branch (${defaultBranch ?? 'unknown'}) only; this push is to ${run.env['GITHUB_REF'] ?? 'an unknown ref'}. Nothing was written.`,
    };
  const invalid = await validateStrict(run);
  if (invalid) return invalid;
  // Fails closed: an API error here is a failed step, never an unreviewed apply.
  const reviewed =
    run.eventName === 'push'
      ? await findReviewedPlan(run, sha)
      : `apply was started by ${run.eventName || 'an unknown event'}, not by a push that merged a reviewed pull request`;
  // The plan's sessions stay open: the apply below writes from this very plan.
  const p = await makePlan(run, true);
  if (isOutcome(p)) return p;
  try {
    return await applyReviewed(run, p, reviewed);
  } finally {
    await p.project?.pool.closeAll();
  }
}

async function applyReviewed(
  run: Run,
  p: Planned,
  reviewed: Awaited<ReturnType<typeof findReviewedPlan>> | string,
): Promise<Outcome> {
  const { plan } = p;
  const heading = title(run, 'connops apply');
  if (p.trouble) {
    await run.summary(
      `### ${heading}\n\n**Apply refused: the plan is incomplete** (see the log).\n`,
    );
    return INCOMPLETE;
  }
  if (changeCount(plan) === 0) {
    await run.summary(`### ${heading}\n\n**Nothing to apply:** ${summaryLine(plan)}\n`);
    return { code: EXIT.OK };
  }
  const notes: string[] = [];
  if (typeof reviewed === 'string') {
    const text = `No reviewed plan: ${reviewed}.`;
    if (!run.inputs.allowPlanChange) return refuse(run, heading, plan, [text]);
    notes.push(`${text} Applying anyway because \`allow-plan-change\` is true.`);
  } else if (reviewed.fingerprint !== plan.fingerprint) {
    const reasons = explainPlanChange(reviewed.body, plan) ?? [
      'the live state or the documents changed since the reviewed plan was made',
    ];
    const text = `The plan differs from the one reviewed in #${reviewed.pr} (fingerprint ${reviewed.fingerprint.slice(0, 16)}…, now ${plan.fingerprint.slice(0, 16)}…): ${reasons.join('; ')}.`;
    if (!run.inputs.allowPlanChange) return refuse(run, heading, plan, [text]);
    notes.push(`${text} Applying anyway because \`allow-plan-change\` is true.`);
  } else {
    notes.push(`The plan matches the one reviewed in #${reviewed.pr}.`);
  }
  for (const n of notes) run.say(n.includes('anyway') ? 'warning' : 'info', `connops: ${n}`);
  const { code, log } = await runApply(run, p.project as PlannedProject);
  const shown =
    log.length > APPLY_LOG_LIMIT ? `${log.slice(0, APPLY_LOG_LIMIT)}\n…(see the step log)` : log;
  await run.summary(
    [
      `### ${heading}`,
      '',
      ...notes.map((n) => `> ${n}`),
      '',
      code === EXIT.OK ? '**Applied.**' : '**Apply failed** (see the log).',
      '',
      '```text',
      shown.replaceAll('```', "'''").trimEnd(),
      '```',
      '',
      renderPlanMarkdown(plan, { title: 'The plan applied' }),
    ].join('\n'),
  );
  return code === EXIT.OK
    ? { code }
    : { code, reason: 'connops: apply did not complete (see the log and the job summary)' };
}

async function refuse(run: Run, heading: string, plan: Plan, reasons: string[]): Promise<Outcome> {
  const advice =
    'Nothing was written. Open a pull request (or re-run its plan) so the current plan is reviewed, or re-run this job with `allow-plan-change: true` to apply the plan as it is now.';
  await run.summary(
    [
      `### ${heading}`,
      '',
      '**Apply refused.**',
      '',
      ...reasons.map((r) => `- ${r}`),
      '',
      advice,
      '',
      renderPlanMarkdown(plan, { title: 'The plan as it is now (not applied)' }),
    ].join('\n'),
  );
  return { code: EXIT.FAILURE, reason: `connops: apply refused. ${reasons.join(' ')} ${advice}` };
}

/**
 * Applies the plan just compared with the reviewed one, without reading live
 * state again: each write carries the revision it was planned against, so a
 * document changed since is refused (409/412), not overwritten.
 */
async function runApply(run: Run, project: PlannedProject): Promise<{ code: number; log: string }> {
  let log = '';
  const capture = (text: string): void => {
    log += text;
    const t = text.replace(/\n$/, '');
    if (t !== '') run.core.info(t);
  };
  const io: CliIO = { ...run.ctx.io, stdout: capture, stderr: capture };
  const ctx = createContext(io, { ...run.flags, yes: true }, []);
  for (const s of run.known) ctx.secrets.add(s);
  const code = await run.untrusted(() => applyPlanned(ctx, project));
  return { code, log: ctx.secrets.redact(log) };
}

// ---------------------------------------------------------------- drift

async function drift(run: Run): Promise<Outcome> {
  const invalid = await validateStrict(run);
  if (invalid) return invalid;
  const p = await makePlan(run);
  if (isOutcome(p)) return p;
  const { plan } = p;
  const drifted = changeCount(plan) > 0;
  const markdown = renderPlanMarkdown(plan, { title: title(run, 'connops drift report') });
  await run.summary(
    `${markdown}\n${drifted ? '**Drift detected:** live state differs from git.' : '**No drift:** live state matches git.'}\n`,
  );
  if (run.inputs.driftIssue) {
    const api = run.api();
    if (!api)
      return {
        code: EXIT.FAILURE,
        reason: 'connops: drift-issue needs a github-token (and GITHUB_REPOSITORY)',
      };
    await syncDriftIssue(run, api, plan, markdown, drifted, p.trouble);
  }
  if (p.trouble) return INCOMPLETE;
  if (!drifted) return { code: EXIT.OK };
  const message = `connops: drift detected in ${run.identity.config}: ${summaryLine(plan)}`;
  if (!run.inputs.failOnDrift) {
    run.say('warning', message);
    return { code: EXIT.OK };
  }
  return { code: EXIT.CHANGES, reason: message };
}

async function syncDriftIssue(
  run: Run,
  api: GitHubApi,
  plan: Plan,
  markdown: string,
  drifted: boolean,
  incomplete: boolean,
): Promise<void> {
  const marker = renderMarker('drift', {
    config: run.identity.config,
    ...(run.identity.scope ? { scope: run.identity.scope } : {}),
  });
  const open = (await api.listOpenIssues(DRIFT_LABEL)).filter((i) =>
    sameIdentity(parseMarker(i.body, 'drift'), run.identity),
  );
  const existing = open[0];
  const when = `${new Date().toISOString()}${run.env['GITHUB_SHA'] ? ` at commit ${run.env['GITHUB_SHA'].slice(0, 12)}` : ''}`;
  const runUrl =
    run.env['GITHUB_SERVER_URL'] && run.env['GITHUB_RUN_ID']
      ? `${run.env['GITHUB_SERVER_URL']}/${run.repository}/actions/runs/${run.env['GITHUB_RUN_ID']}`
      : undefined;
  if (drifted) {
    const body = `${marker}\n${markdown}\nLast checked ${when}${runUrl ? ` ([run](${runUrl}))` : ''}. Fix it by applying git (\`connops apply\`) or by changing the documents to match; this issue closes itself when the drift is gone.\n`;
    if (existing) {
      await api.updateIssue(existing.number, { body });
      run.say('info', `connops: updated drift issue #${existing.number}`);
    } else {
      const title = `connops drift: ${run.identity.config}${run.identity.scope ? ` (${run.identity.scope})` : ''}`;
      const created = await api.createIssue(title, body, [DRIFT_LABEL]);
      run.say('info', `connops: opened drift issue #${created.number}`);
    }
  } else if (existing && !incomplete) {
    await api.createIssueComment(
      existing.number,
      `No drift any more: live state matches git (${summaryLine(plan)}) as of ${when}${runUrl ? ` ([run](${runUrl}))` : ''}. Closing.`,
    );
    await api.updateIssue(existing.number, { state: 'closed' });
    run.say('info', `connops: closed drift issue #${existing.number}`);
  }
}
