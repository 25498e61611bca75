/**
 * Progress on a terminal (one rewritten line on stderr); silent otherwise.
 */
import type { ProgressEvent } from '../engine/reconcile.ts';
import type { CommandContext } from './context.ts';

export function progressReporter(ctx: CommandContext): ((e: ProgressEvent) => void) | undefined {
  if (!ctx.io.stdoutIsTTY || ctx.flags.quiet) return undefined;
  let last = 0;
  const label = { read: 'Reading live state', apply: 'Applying', verify: 'Verifying' } as const;
  return (e) => {
    const now = Date.now();
    const finished = e.done === e.total;
    if (!finished && now - last < 100) return;
    last = now;
    const line = `${label[e.phase]}: ${e.done}/${e.total}${e.current ? ` (${e.current})` : ''}`;
    ctx.err(`\r\x1b[2K${line}${finished ? '\n' : ''}`);
  };
}
