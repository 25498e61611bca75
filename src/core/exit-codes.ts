/** Exit codes (SPEC.md §2): the drivers (CLI and Action) map outcomes to these. */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  CHANGES: 2,
  INVALID: 3,
  USAGE: 64,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
