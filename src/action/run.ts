/**
 * What one Action run knows, built once from the runner's environment and
 * passed to each job (validate, plan, pull-request plan, apply, drift): the
 * inputs, the parsed `args`, the event, the secrets seen so far, and the ways
 * to say something (log, annotations, summary) with every secret masked.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import * as actionsToolkit from '@actions/core';
import type { AnnotationProperties } from '@actions/core';
import { escapeMarkdownCell } from '../core/escape.ts';
import { EXIT } from '../core/exit-codes.ts';
import { parseCommandLine, type Flags } from '../core/options.ts';
import type { Plan } from '../core/plan.ts';
import type { Env } from '../engine/project.ts';
import { SecretSet } from '../io/redact.ts';
import type { StopSignal } from '../io/signals.ts';
import type { GitHubApi } from './github.ts';
import { InputError, readInputs, type ActionInputs } from './inputs.ts';

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

export interface Outcome {
  readonly code: number;
  /** Why the step failed (for setFailed); absent on success. */
  readonly reason?: string;
}

export interface EventPayload {
  readonly pull_request?: {
    readonly number: number;
    readonly head: { readonly sha: string; readonly repo: { readonly full_name: string } | null };
    readonly base: { readonly repo: { readonly full_name: string }; readonly sha?: string };
  };
  /** A push: the branch's previous tip (what this push's changes are compared with). */
  readonly before?: string;
  readonly repository?: { readonly default_branch?: string; readonly full_name?: string };
}

/** Everything one run knows; built once, passed to each job. */
export interface Run {
  readonly env: Env;
  readonly core: ActionCore;
  readonly inputs: ActionInputs;
  readonly flags: Flags;
  /** The working directory (workspace + working-directory input). */
  readonly cwd: string;
  /** Absolute path of the config file. */
  readonly configPath: string;
  readonly workspace: string;
  /** Every secret value seen (token, auth, `${env:}` values); all output is redacted with it. */
  readonly secrets: SecretSet;
  /** Identifies the comment/issue of this config and selection. */
  readonly identity: { readonly config: string; readonly scope: string };
  readonly eventName: string;
  readonly event: EventPayload;
  readonly repository: string;
  readonly api: () => GitHubApi | undefined;
  /** Writes text to the step log, a line at a time, secrets masked. */
  log(text: string): void;
  /** Runs code whose log lines hold user text with its output framed so it cannot issue workflow commands. */
  untrusted<T>(fn: () => Promise<T>): Promise<T>;
  secret(value: string | undefined): void;
  say(kind: 'info' | 'notice' | 'warning' | 'error', message: string): void;
  summary(markdown: string): Promise<void>;
  /** See CliIO.onStopSignal: the first SIGINT/SIGTERM stops new writes, a second ends the process. */
  readonly onStopSignal?: ((handler: (signal: StopSignal) => void) => () => void) | undefined;
}

export function toPosix(p: string): string {
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

export function prepare(
  env: Env,
  core: ActionCore,
  api: () => GitHubApi | undefined,
  onStopSignal?: Run['onStopSignal'],
): Run {
  const inputs = readInputs(env);
  const workspace = resolve(env['GITHUB_WORKSPACE'] || process.cwd());
  const cwd = resolve(workspace, inputs.workingDirectory);
  // The command only decides which flags parse; the Action calls the engine itself.
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
  // Lines from the engine can hold document names and messages written in the PR;
  // stop-commands keeps them from being read as workflow commands.
  let framed = false;
  const secrets = new SecretSet();
  const known = new Set<string>();
  const configPath = resolve(cwd, parsed.flags.config ?? 'connops.yaml');
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
    cwd,
    configPath,
    workspace,
    secrets,
    identity: { config: toPosix(relative(workspace, configAbs)) || inputs.config, scope },
    eventName: env['GITHUB_EVENT_NAME'] ?? '',
    event: readEvent(env['GITHUB_EVENT_PATH']),
    repository: env['GITHUB_REPOSITORY'] ?? '',
    api,
    onStopSignal,
    log(text) {
      const t = secrets.redact(text).replace(/\n$/, '');
      if (t !== '') core.info(t);
    },
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
      secrets.add(value);
      core.setSecret(value);
    },
    say(kind, message) {
      core[kind](secrets.redact(message));
    },
    async summary(markdown) {
      let text = secrets.redact(markdown);
      if (Buffer.byteLength(text) > SUMMARY_LIMIT_BYTES) {
        text = `${Buffer.from(text).subarray(0, SUMMARY_LIMIT_BYTES).toString('utf8')}\n\n_Summary cut at GitHub's size limit; the step log has everything._\n`;
      }
      await core.appendSummary(text);
    },
  };
  run.secret(inputs.githubToken);
  return run;
}

export function isPullRequest(run: Run): boolean {
  return (
    (run.eventName === 'pull_request' || run.eventName === 'pull_request_target') &&
    run.event.pull_request !== undefined
  );
}

export function title(run: Run, what: string): string {
  return `${what}: \`${run.identity.config}\`${run.identity.scope ? ` (${run.identity.scope})` : ''}`;
}

export function changeCount(plan: Plan): number {
  return plan.summary.create + plan.summary.update + plan.summary.delete;
}

export const INCOMPLETE: Outcome = {
  code: EXIT.FAILURE,
  reason: 'connops: the plan is incomplete: some live state could not be read (see the log)',
};

/** A path from the engine (relative to working-directory) as GitHub wants it: relative to the workspace. */
export function workspacePath(run: Run, file: string): string {
  return toPosix(relative(run.workspace, resolve(run.cwd, file)));
}

export const mdCell = escapeMarkdownCell;
