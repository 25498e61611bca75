/**
 * How the process's JavaScript heap grows: set once by each driver (CLI,
 * Action, the bench's scenario) before any work.
 *
 * After each full collection V8 lets the heap grow to a multiple of what
 * survived before it collects again. On its own it picks up to about 4× when
 * collections look cheap, and a plan makes mostly short-lived garbage (every
 * live body is parsed, compared and dropped), so the peak was 2–5× what the
 * plan keeps. Growing by 50 % at most collects more often: on the benchmark
 * estate (10,000 documents) a plan with no changes peaked at 331–343 MB
 * instead of 445–557 MB, for 1–4 % more time (docs/sizing.md).
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;

export function tuneHeap(): void {
  // Known to V8 in every Node the package supports (a test checks the running one);
  // an unknown flag would only print a warning, never stop the command.
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
