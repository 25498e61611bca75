/**
 * SIGINT and SIGTERM during an apply (INVARIANTS.md item 13): the first one
 * asks the run to start no new write and to finish, record and report the
 * writes in flight; a second one ends the process at once, as a user pressing
 * Ctrl-C twice expects. Used by the process entries of both drivers.
 */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** 128 + the signal's number, as shells report a process a signal ended. */
export const SIGNAL_EXIT: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Calls `handler` on the first SIGINT or SIGTERM; exits at once on the second.
 * Returns a function that removes the listeners (signals then act as usual).
 */
export function onStopSignal(handler: (signal: StopSignal) => void): () => void {
  let seen = false;
  const listener = (signal: StopSignal): void => {
    if (seen) process.exit(SIGNAL_EXIT[signal]);
    seen = true;
    handler(signal);
  };
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return () => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
}
