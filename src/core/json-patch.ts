/**
 * The one wrapper around fast-json-patch: RFC 6902 operations between two
 * values, for display and for the plan JSON. (Default import: the package has
 * no ESM exports map, see style-anchors §7.)
 */
import jsonpatch from 'fast-json-patch';
import type { JsonValue } from './json.ts';

export interface PatchOp {
  readonly op: 'add' | 'remove' | 'replace';
  readonly path: string;
  readonly value?: JsonValue;
}

/** The RFC 6902 operations turning `before` into `after` (no mutation of either). */
export function diffOps(before: JsonValue, after: JsonValue): PatchOp[] {
  const ops = jsonpatch.compare(before as object, after as object);
  return ops
    .filter((o) => o.op === 'add' || o.op === 'remove' || o.op === 'replace')
    .map((o) =>
      o.op === 'remove'
        ? { op: 'remove', path: o.path }
        : { op: o.op as 'add' | 'replace', path: o.path, value: (o as { value: JsonValue }).value },
    );
}
