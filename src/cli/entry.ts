/**
 * Process entry of the bundled CLI (dist/cli.js): wires the real process to run().
 */
import { createInterface } from 'node:readline/promises';
import { tuneHeap } from '../io/heap.ts';
import { onStopSignal } from '../io/signals.ts';
import type { CliIO } from './io.ts';
import { run } from './main.ts';

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  tuneHeap();
  const io: CliIO = {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    // A copy: each read of process.env asks the C library, which scans every variable.
    env: { ...process.env },
    cwd: process.cwd(),
    stdoutIsTTY: process.stdout.isTTY === true,
    stdinIsTTY: process.stdin.isTTY === true,
    async prompt(question) {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
    onStopSignal,
    waitForInterrupt: () =>
      new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      }),
  };
  return run(argv, io);
}
