/**
 * Strings cut from a large text, copied so they do not keep that text alive.
 *
 * V8 represents a substring of 13 or more characters as a view into the
 * string it was cut from. A parsed document that keeps one such value (an
 * account id, a kind) keeps its whole file's text alive with it: on the
 * benchmark estate that was all 30 MB of YAML, a fifth of the desired
 * state's heap for as long as a plan runs. Pure.
 */

/** Views shorter than this are never made: V8 copies short substrings anyway. */
const SHORTEST_VIEW = 13;

/** `s` with its own characters (not a view into a larger string). */
export function detached(s: string): string {
  // Slicing a concatenation makes V8 flatten it into a new string first, so
  // the result no longer refers to `s`'s parent.
  return s.length < SHORTEST_VIEW ? s : ` ${s}`.slice(1);
}
