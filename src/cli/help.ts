/**
 * `connops --help` and `connops <command> --help`: each command's usage, its
 * flags (one line each, with the default) and an example. Pure text.
 */
import { OPTIONS } from '../core/options.ts';

type Flag = keyof typeof OPTIONS;

/** One line per flag: the value it takes and what it does (with the default). */
const FLAGS: Record<Flag, { arg?: string; text: string }> = {
  config: { arg: 'FILE', text: 'the config file (default: connops.yaml)' },
  target: { arg: 'NAME', text: 'only documents of this target (repeatable)' },
  account: { arg: 'ID', text: 'only documents of this account (repeatable)' },
  only: {
    arg: 'GLOB',
    text: 'apply only changes whose name or target/account/kind/name matches (repeatable)',
  },
  'changed-since': { arg: 'REV', text: 'only documents changed since this git revision' },
  scope: {
    arg: 'documents|accounts',
    text: 'with --changed-since: plan only changed documents, or every account a change touches (default: documents)',
  },
  ref: { arg: 'REV', text: 'read the documents as of this git revision (default: working tree)' },
  shard: { arg: 'i/n', text: 'only the i-th of n shards (by target and account)' },
  format: { arg: 'FORMAT', text: 'output format (default: text)' },
  'detailed-exitcode': { text: 'exit 2 when there are changes (default: 0)' },
  yes: { text: 'apply without asking (needed when stdin is not a terminal)' },
  force: { text: 'allow more than policy.max_deletes / max_changes (import: overwrite files)' },
  prune: { text: 'delete live objects connops manages that no document declares' },
  'log-file': { arg: 'FILE', text: 'append one JSON audit line per write' },
  'no-color': { text: 'no ANSI colours (also NO_COLOR=1; default: colour on a terminal)' },
  color: { text: 'colours even when not on a terminal' },
  out: { arg: 'FILE', text: 'save the plan as JSON (no secret values)' },
  'expect-fingerprint': { arg: 'FP', text: 'refuse unless the new plan has this fingerprint' },
  lenient: { text: 'write objects that fail the offline checks, each with a comment' },
  quiet: { text: 'print errors and the result only (no warnings, no progress)' },
  help: { text: "show this command's help" },
  version: { text: 'print the version' },
  'kazoo-port': { arg: 'PORT', text: 'Kazoo emulator port (default: 0, any free port)' },
  'cloudflare-port': { arg: 'PORT', text: 'Cloudflare emulator port (default: 0, any free port)' },
  seed: {
    arg: 'FILE',
    text: 'accounts and documents to start with (YAML or JSON; docs/emulator.md)',
  },
  'api-key': { arg: 'KEY', text: 'Kazoo api key to accept (64 characters; default: the demo key)' },
  'account-id': {
    arg: 'ID',
    text: 'Kazoo account the api key logs in to (default: the demo account)',
  },
  latency: { arg: 'MS', text: 'added latency per request (default: 0)' },
  jitter: { arg: 'MS', text: 'random extra latency up to this (default: 0)' },
  'rate-429': { arg: 'P', text: 'share of requests answered 429 (0..1; default: 0)' },
  'retry-after': { arg: 'S', text: 'Retry-After seconds on a 429 (default: 1)' },
  'rate-500': { arg: 'P', text: 'share of requests answered 500 (default: 0)' },
  'rate-502': { arg: 'P', text: 'share of requests answered 502 (default: 0)' },
  'rate-503': { arg: 'P', text: 'share of requests answered 503 (default: 0)' },
  'drop-rate': { arg: 'P', text: 'share of connections dropped before answering (default: 0)' },
  'reset-rate': { arg: 'P', text: 'share of connections reset mid-answer (default: 0)' },
  'token-expiry': { arg: 'N', text: 'auth tokens expire after N requests (default: never)' },
  'fault-seed': { arg: 'N', text: 'seed of the fault generator, for repeatable runs' },
};

const SELECT: Flag[] = ['config', 'target', 'account', 'changed-since', 'scope', 'ref', 'shard'];
const OUTPUT: Flag[] = ['no-color', 'quiet'];

export interface CommandHelp {
  readonly summary: string;
  readonly usage: string;
  readonly flags: readonly Flag[];
  /** Allowed `--format` values, first the default. */
  readonly formats?: readonly string[];
  readonly example: string;
}

export const COMMAND_HELP: Record<string, CommandHelp> = {
  validate: {
    summary: 'check every document offline; all problems in one run (needs no secret)',
    usage: 'connops validate [--config FILE] [--format text|json|github]',
    flags: ['config', 'format', ...OUTPUT],
    formats: ['text', 'json', 'github'],
    example: 'connops validate --format github',
  },
  plan: {
    summary: 'read live state and show what apply would change',
    usage: 'connops plan [selectors] [--out plan.json] [--detailed-exitcode]',
    flags: [...SELECT, 'format', 'out', 'detailed-exitcode', 'prune', ...OUTPUT],
    formats: ['text', 'markdown', 'json'],
    example: 'connops plan --target kazoo-prod --out plan.json',
  },
  apply: {
    summary: 're-plan, then make live state match (asks first; --yes in CI)',
    usage: 'connops apply [plan.json] [selectors] [--only GLOB] [--yes]',
    flags: [
      ...SELECT,
      'only',
      'expect-fingerprint',
      'yes',
      'force',
      'prune',
      'log-file',
      ...OUTPUT,
    ],
    example: 'connops apply plan.json --yes --log-file audit.jsonl',
  },
  drift: {
    summary: 'report live changes made outside git; exit 2 on drift',
    usage: 'connops drift [selectors] [--format text|markdown|json]',
    flags: [...SELECT, 'format', ...OUTPUT],
    formats: ['text', 'markdown', 'json'],
    example: 'connops drift --format markdown',
  },
  import: {
    summary: 'write YAML documents from live objects (secrets become ${env:…})',
    usage: 'connops import --target NAME [--account ID …] [--out DIR] [--lenient] [--force]',
    flags: ['config', 'target', 'account', 'out', 'lenient', 'force', ...OUTPUT],
    example: 'connops import --target kazoo-prod --account 3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9',
  },
  emulator: {
    summary: 'run local Kazoo and Cloudflare API emulators',
    usage: 'connops emulator [--kazoo-port PORT] [--cloudflare-port PORT] [--seed FILE] [faults]',
    flags: [
      'kazoo-port',
      'cloudflare-port',
      'seed',
      'api-key',
      'account-id',
      'latency',
      'jitter',
      'rate-429',
      'retry-after',
      'rate-500',
      'rate-502',
      'rate-503',
      'drop-rate',
      'reset-rate',
      'token-expiry',
      'fault-seed',
    ],
    example: 'connops emulator --kazoo-port 8000 --cloudflare-port 8001 --seed emulator-seed.yaml',
  },
  report: {
    summary: 'report merge FILE…: merge plan JSON from shards into one report',
    usage: 'connops report merge FILE… [--format text|markdown|json] [--out FILE]',
    flags: ['format', 'out', ...OUTPUT],
    formats: ['text', 'markdown', 'json'],
    example: 'connops report merge plan-1.json plan-2.json --format markdown',
  },
};

function flagLine(flag: Flag, formats?: readonly string[]): [string, string] {
  const f = FLAGS[flag];
  const short = (OPTIONS[flag] as { short?: string }).short;
  const arg = flag === 'format' && formats ? formats.join('|') : f.arg;
  const left = `${short ? `-${short}, ` : '    '}--${flag}${arg ? ` ${arg}` : ''}`;
  return [left, f.text];
}

function table(rows: readonly [string, string][]): string[] {
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`);
}

/** `connops <command> --help`. */
export function commandHelp(name: string): string {
  const c = COMMAND_HELP[name];
  if (!c) return usage();
  return [
    `connops ${name}: ${c.summary}`,
    '',
    `Usage: ${c.usage}`,
    '',
    'Options:',
    ...table([...c.flags, 'help' as const].map((f) => flagLine(f, c.formats))),
    '',
    'Example:',
    `  ${c.example}`,
    '',
  ].join('\n');
}

/** `connops --help`: the commands. */
export function usage(): string {
  const names = Object.keys(COMMAND_HELP);
  return [
    'Usage: connops <command> [options]',
    '',
    'Commands:',
    ...table(names.map((n) => [n, COMMAND_HELP[n]?.summary ?? ''])),
    '',
    "Run 'connops <command> --help' for a command's options and an example.",
    '',
    'Exit codes: 0 ok/no changes, 1 failure, 2 changes pending, 3 invalid input, 64 usage',
    '',
  ].join('\n');
}

/** The one line after a usage error: where to read more. */
export function seeHelp(command: string | undefined): string {
  return command && COMMAND_HELP[command]
    ? `see 'connops ${command} --help'`
    : "see 'connops --help'";
}
