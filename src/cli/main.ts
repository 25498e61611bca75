/**
 * The CLI driver: `run(argv, io)` → exit code. The only place (with the Action)
 * that maps outcomes to exit codes; nothing here calls process.exit.
 */
import { ConnopsError, UsageError } from '../core/errors.ts';
import { closest } from '../core/suggest.ts';
import { parseCommandLine, type Flags } from '../core/options.ts';
import { createContext, type CommandContext } from './context.ts';
import { EXIT } from '../core/exit-codes.ts';
import type { CliIO } from './io.ts';
import { validateCommand } from './commands/validate.ts';
import { VERSION } from '../core/version.ts';
import { commandHelp, seeHelp, usage } from './help.ts';

export { VERSION };

type Command = (ctx: CommandContext) => Promise<number>;

const COMMANDS: Record<string, { run: () => Promise<Command> }> = {
  validate: {
    run: async () => validateCommand,
  },
  plan: {
    run: async () => (await import('./commands/plan.ts')).planCommand,
  },
  apply: {
    run: async () => (await import('./commands/apply.ts')).applyCommand,
  },
  drift: {
    run: async () => (await import('./commands/plan.ts')).driftCommand,
  },
  import: {
    run: async () => (await import('./commands/import.ts')).importCommand,
  },
  emulator: {
    run: async () => (await import('./commands/emulator.ts')).emulatorCommand,
  },
  report: {
    run: async () => (await import('./commands/report.ts')).reportCommand,
  },
};

export { usage } from './help.ts';

export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  let ctx: CommandContext | undefined;
  // The command word, for "see 'connops plan --help'" even when the flags do not parse.
  let commandWord = argv.find((a) => !a.startsWith('-'));
  try {
    const parsed = parseCommandLine(argv);
    commandWord = parsed.command;
    if (parsed.flags.version) {
      io.stdout(`connops ${VERSION}\n`);
      return EXIT.OK;
    }
    if (parsed.command === 'help') {
      io.stdout(commandHelp(parsed.positionals[0] ?? ''));
      return EXIT.OK;
    }
    if (parsed.flags.help) {
      io.stdout(parsed.command !== undefined ? commandHelp(parsed.command) : usage());
      return EXIT.OK;
    }
    if (parsed.command === undefined) {
      io.stderr(usage());
      return EXIT.USAGE;
    }
    const entry = COMMANDS[parsed.command];
    if (!entry) {
      const guess = closest(parsed.command, Object.keys(COMMANDS));
      commandWord = undefined;
      throw new UsageError(
        `unknown command "${parsed.command}"${guess ? ` (did you mean "${guess}"?)` : ''}`,
      );
    }
    ctx = createContext(io, parsed.flags as Flags, parsed.positionals);
    const command = await entry.run();
    return await command(ctx);
  } catch (err) {
    const say = (text: string): void => (ctx ? ctx.err(text) : io.stderr(text));
    if (err instanceof UsageError) {
      say(`connops: ${err.message}\n${seeHelp(commandWord)}\n`);
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
