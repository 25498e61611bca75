import type { StopSignal } from '../io/signals.ts';

/**
 * What a command may touch: output streams, environment, working directory,
 * terminal facts and a prompt. The real process provides one; tests pass fakes.
 */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdoutIsTTY: boolean;
  readonly stdinIsTTY: boolean;
  /** Asks a question on the terminal and resolves with the answer. */
  prompt?(question: string): Promise<string>;
  /** Resolves when the user interrupts (Ctrl-C), for long-running commands. */
  waitForInterrupt?(): Promise<void>;
  /**
   * While an apply writes: calls `handler` on the first SIGINT/SIGTERM (a
   * second one ends the process at once). Returns the function that stops listening.
   */
  onStopSignal?(handler: (signal: StopSignal) => void): () => void;
}

/** An in-memory CliIO for tests and embedding. */
export function memoryIO(
  options: Partial<Omit<CliIO, 'stdout' | 'stderr'>> = {},
): CliIO & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    stdoutIsTTY: options.stdoutIsTTY ?? false,
    stdinIsTTY: options.stdinIsTTY ?? false,
    stdout(text: string) {
      io.out += text;
    },
    stderr(text: string) {
      io.err += text;
    },
    ...(options.prompt ? { prompt: options.prompt } : {}),
    ...(options.waitForInterrupt ? { waitForInterrupt: options.waitForInterrupt } : {}),
    ...(options.onStopSignal ? { onStopSignal: options.onStopSignal } : {}),
  };
  return io;
}
