/**
 * Reads the Action's inputs from `INPUT_*` variables the way the runner sets
 * them (upper-cased, hyphens kept) and splits `args` without a shell.
 */

export const COMMANDS = ['validate', 'plan', 'apply', 'drift'] as const;
export type ActionCommand = (typeof COMMANDS)[number];

export interface ActionInputs {
  readonly command: ActionCommand;
  readonly config: string;
  readonly workingDirectory: string;
  readonly args: string[];
  readonly githubToken: string;
  readonly comment: boolean;
  readonly allowPlanChange: boolean;
  /** Plan a pull request whose config changes a target's type, url, auth or ca_file (INVARIANTS.md 17). */
  readonly allowTargetChanges: boolean;
  readonly failOnDrift: boolean;
  readonly driftIssue: boolean;
  /**
   * What a pull request's plan reads: `changed-accounts` (default) only the
   * accounts the PR's files touch (`--changed-since <base> --scope accounts`),
   * `all` every account. Apply on merge re-plans the scope that was reviewed.
   */
  readonly scope: 'all' | 'changed-accounts';
}

export const SCOPES = ['changed-accounts', 'all'] as const;

/** A mistake in the workflow file: the step fails with this message. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

type Env = Readonly<Record<string, string | undefined>>;

/** `INPUT_<NAME>` with the runner's mangling; unset and blank are the same (`core.getInput` semantics). */
export function input(env: Env, name: string): string {
  return (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

function booleanInput(env: Env, name: string, fallback: boolean): boolean {
  const raw = input(env, name);
  if (raw === '') return fallback;
  // The YAML 1.2 core schema booleans, as @actions/core's getBooleanInput accepts them.
  if (['true', 'True', 'TRUE'].includes(raw)) return true;
  if (['false', 'False', 'FALSE'].includes(raw)) return false;
  throw new InputError(`input "${name}" must be true or false (got "${raw}")`);
}

/**
 * Flags the Action sets itself: letting `args` set them too would make the
 * comment marker, the saved plan or the fingerprint check lie.
 */
const RESERVED_FLAGS = new Set([
  '--config',
  '-c',
  '--format',
  '-f',
  '--out',
  '-o',
  '--expect-fingerprint',
  '--detailed-exitcode',
  '--help',
  '-h',
  '--version',
]);

export function readInputs(env: Env): ActionInputs {
  const command = input(env, 'command');
  if (!(COMMANDS as readonly string[]).includes(command))
    throw new InputError(
      command === ''
        ? `input "command" is required (one of ${COMMANDS.join(', ')})`
        : `input "command" must be one of ${COMMANDS.join(', ')} (got "${command}")`,
    );
  const args = splitArgs(input(env, 'args'));
  for (const a of args) {
    const flag = a.split('=')[0] ?? a;
    if (RESERVED_FLAGS.has(flag))
      throw new InputError(
        `input "args" must not contain ${flag}: the Action sets it (use the "config" input for the config file)`,
      );
  }
  const scope = input(env, 'scope') || 'changed-accounts';
  if (!(SCOPES as readonly string[]).includes(scope))
    throw new InputError(`input "scope" must be one of ${SCOPES.join(', ')} (got "${scope}")`);
  return {
    command: command as ActionCommand,
    config: input(env, 'config') || 'connops.yaml',
    workingDirectory: input(env, 'working-directory') || '.',
    args,
    githubToken: input(env, 'github-token'),
    comment: booleanInput(env, 'comment', true),
    allowPlanChange: booleanInput(env, 'allow-plan-change', false),
    allowTargetChanges: booleanInput(env, 'allow-target-changes', false),
    failOnDrift: booleanInput(env, 'fail-on-drift', true),
    driftIssue: booleanInput(env, 'drift-issue', false),
    scope: scope as ActionInputs['scope'],
  };
}

/**
 * Splits on whitespace with '…' and "…" quoting (no escapes, no expansion):
 * enough for `--only 'acme/*' --shard 2/4` without handing the text to a shell.
 */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote) throw new InputError(`input "args" has an unterminated ${quote} quote`);
  if (inWord) out.push(current);
  return out;
}
