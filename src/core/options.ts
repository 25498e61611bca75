/**
 * The options every connops command takes, and their parsing (node:util parseArgs):
 * one table for both drivers (the CLI's argv, the Action's `args` input).
 */
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import { closest } from './suggest.ts';

export const OPTIONS = {
  config: { type: 'string', short: 'c' },
  target: { type: 'string', multiple: true },
  account: { type: 'string', multiple: true },
  only: { type: 'string', multiple: true },
  'changed-since': { type: 'string' },
  scope: { type: 'string' },
  ref: { type: 'string' },
  shard: { type: 'string' },
  format: { type: 'string', short: 'f' },
  'detailed-exitcode': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  force: { type: 'boolean' },
  prune: { type: 'boolean' },
  'log-file': { type: 'string' },
  'no-color': { type: 'boolean' },
  color: { type: 'boolean' },
  out: { type: 'string', short: 'o' },
  'expect-fingerprint': { type: 'string' },
  lenient: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  // emulator
  'kazoo-port': { type: 'string' },
  'cloudflare-port': { type: 'string' },
  seed: { type: 'string' },
  'api-key': { type: 'string' },
  'account-id': { type: 'string' },
  latency: { type: 'string' },
  jitter: { type: 'string' },
  'rate-429': { type: 'string' },
  'retry-after': { type: 'string' },
  'rate-500': { type: 'string' },
  'rate-502': { type: 'string' },
  'rate-503': { type: 'string' },
  'drop-rate': { type: 'string' },
  'reset-rate': { type: 'string' },
  'token-expiry': { type: 'string' },
  'fault-seed': { type: 'string' },
} as const;

export type Flags = {
  readonly [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K] extends { multiple: true }
    ? string[]
    : (typeof OPTIONS)[K] extends { type: 'boolean' }
      ? boolean
      : string;
};

export interface ParsedArgs {
  readonly command: string | undefined;
  readonly positionals: string[];
  readonly flags: Flags;
}

export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [command, ...rest] = positionals;
    return { command, positionals: rest, flags: values as Flags };
  } catch (err) {
    throw new UsageError(parseArgsMessage(err as Error & { code?: string }));
  }
}

/** Our wording for node:util parseArgs errors (its own text suggests `-- "--foo"`). */
function parseArgsMessage(err: Error & { code?: string }): string {
  const flag = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1] ?? '';
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = flag.replace(/^-+/, '').split('=')[0] ?? '';
    const guess = closest(name, Object.keys(OPTIONS));
    return `unknown option ${flag}${guess ? ` (did you mean --${guess}?)` : ''}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // "Option '-c, --config <value>' argument missing" / "Option '-y, --yes' does not take an argument"
    const name = /--([a-z0-9-]+)/.exec(err.message)?.[1] ?? '';
    const option = OPTIONS[name as keyof typeof OPTIONS] as { type: string } | undefined;
    return option?.type === 'boolean'
      ? `--${name} takes no value`
      : `--${name} needs a value, e.g. --${name} VALUE`;
  }
  /* v8 ignore next -- @preserve: parseArgs has no other user-facing errors with strict and positionals on */
  return err.message.replace(/^TypeError \[[A-Z_]+\]: /, '');
}

/** Reads `--format`, checking it against the allowed values. */
export function formatFlag<T extends string>(flags: Flags, allowed: readonly T[], fallback: T): T {
  const f = flags.format;
  if (f === undefined) return fallback;
  if ((allowed as readonly string[]).includes(f)) return f as T;
  throw new UsageError(`--format must be one of ${allowed.join(', ')} (got "${f}")`);
}

/** Parses `--shard i/n`. */
export function shardFlag(flags: Flags): { index: number; count: number } | undefined {
  const s = flags.shard;
  if (s === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(s);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count)
    throw new UsageError(`--shard must be i/n with 1 ≤ i ≤ n, e.g. --shard 2/4 (got "${s}")`);
  return { index, count };
}

/** Parses `--scope documents|accounts` (what `--changed-since` selects); it needs `--changed-since`. */
export function scopeFlag(flags: Flags): 'documents' | 'accounts' | undefined {
  const s = flags.scope;
  if (s === undefined) return undefined;
  if (s !== 'documents' && s !== 'accounts')
    throw new UsageError(`--scope must be documents or accounts (got "${s}")`);
  if (flags['changed-since'] === undefined)
    throw new UsageError('--scope goes with --changed-since REV (it says what the change selects)');
  return s;
}
