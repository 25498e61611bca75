/**
 * The CLI driver: `run(argv, io)` → exit code. The only place (with the Action)
 * that maps outcomes to exit codes; nothing here calls process.exit.
 */
import { ConnopsError, UsageError } from '../core/errors.ts';
import { parseCommandLine, type Flags } from '../core/options.ts';
import { createContext, type CommandContext } from './context.ts';
import { EXIT } from '../core/exit-codes.ts';
import type { CliIO } from './io.ts';
import { validateCommand } from './commands/validate.ts';
import { VERSION } from '../core/version.ts';

export { VERSION };

type Command = (ctx: CommandContext) => Promise<number>;

const COMMANDS: Record<string, { run: () => Promise<Command>; summary: string }> = {
  validate: {
    run: async () => validateCommand,
    summary: 'check every document offline; all problems in one run',
  },
  plan: {
    run: async () => (await import('./commands/plan.ts')).planCommand,
    summary: 'read live state and show what apply would change',
  },
  apply: {
    run: async () => (await import('./commands/apply.ts')).applyCommand,
    summary: 're-plan, then make live state match (asks first; --yes in CI)',
  },
  drift: {
    run: async () => (await import('./commands/plan.ts')).driftCommand,
    summary: 'report live changes made outside git; exit 2 on drift',
  },
  import: {
    run: async () => (await import('./commands/import.ts')).importCommand,
    summary: 'write YAML documents from live objects (secrets become ${env:…})',
  },
  emulator: {
    run: async () => (await import('./commands/emulator.ts')).emulatorCommand,
    summary: 'run local Kazoo and Cloudflare API emulators',
  },
  report: {
    run: async () => (await import('./commands/report.ts')).reportCommand,
    summary: 'report merge FILE…: merge plan JSON from shards into one report',
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'Usage: connops <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Common options:',
    '  -c, --config FILE         config file (default: connops.yaml)',
    '  --target NAME             only this target (repeatable)',
    '  --account ID              only this account (repeatable)',
    '  --only GLOB               apply only documents whose target/account/kind/name matches (repeatable)',
    '  --changed-since REV       only documents changed since a git revision',
    '  --ref REV                 read documents as of a git revision',
    '  --shard i/n               only the i-th of n deterministic shards (by target and account)',
    '  -f, --format FORMAT       text | markdown | json (validate: text | json | github)',
    '  --detailed-exitcode       plan: exit 2 when there are changes',
    '  -o, --out FILE            plan: save the plan (no secret values) for `apply FILE`',
    '  --expect-fingerprint FP   apply: refuse unless the new plan has this fingerprint',
    '  -y, --yes                 apply without asking',
    '  --force                   allow exceeding policy.max_deletes / max_changes',
    '  --prune                   delete live objects connops manages that no document declares',
    '  --log-file FILE           append one JSON audit line per write',
    '  --no-color                no ANSI colours (also NO_COLOR=1)',
    '',
    'Exit codes: 0 ok/no changes, 1 failure, 2 changes pending, 3 invalid input, 64 usage',
    '',
  ].join('\n');
}

export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  let ctx: CommandContext | undefined;
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.flags.version) {
      io.stdout(`connops ${VERSION}\n`);
      return EXIT.OK;
    }
    if (parsed.command === undefined || parsed.command === 'help' || parsed.flags.help) {
      io.stdout(usage());
      return parsed.command === undefined && !parsed.flags.help ? EXIT.USAGE : EXIT.OK;
    }
    const entry = COMMANDS[parsed.command];
    if (!entry) throw new UsageError(`unknown command "${parsed.command}"; run \`connops --help\``);
    ctx = createContext(io, parsed.flags as Flags, parsed.positionals);
    const command = await entry.run();
    return await command(ctx);
  } catch (err) {
    const say = (text: string): void => (ctx ? ctx.err(text) : io.stderr(text));
    if (err instanceof UsageError) {
      say(`connops: ${err.message}\n\n${usage()}`);
      return EXIT.USAGE;
    }
    if (err instanceof ConnopsError) {
      say(`connops: ${err.message}\n`);
      return EXIT.FAILURE;
    }
    // A bug, not a user mistake: say so, with the stack only when asked for.
    const e = err as Error;
    say(
      `connops: internal error: ${e?.message ?? String(err)}\nThis is a bug in connops; please report it${io.env['CONNOPS_DEBUG'] ? `\n${e?.stack ?? ''}` : ' (set CONNOPS_DEBUG=1 for details)'}.\n`,
    );
    return EXIT.FAILURE;
  }
}
