/**
 * Hidden markers that let the Action find its own PR comment and drift issue
 * again (dflook's pattern, anchors §5.2), and the compact record of the
 * reviewed plan that apply-on-merge compares against.
 */
import { createHash } from 'node:crypto';
import { keyString } from '../core/model.ts';
import type { Plan, PlanChange } from '../core/plan.ts';
import type { PatchOp } from '../core/json-patch.ts';
import { explainStale, type PlanJson } from '../core/render-plan.ts';

export type MarkerKind = 'plan' | 'drift';

/** Percent-encodes what would break `key=value` parsing or close the HTML comment. */
function encodeValue(v: string): string {
  return v.replace(/[%\s>-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
function decodeValue(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/** `<!-- connops:plan config=infra/connops.yaml fingerprint=… sha=… -->` (values in that order). */
export function renderMarker(kind: MarkerKind, fields: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(fields).map(([k, v]) => `${k}=${encodeValue(v)}`);
  return `<!-- connops:${kind} ${pairs.join(' ')} -->`;
}

/** The fields of the first `kind` marker in `body`, or undefined. */
export function parseMarker(
  body: string | null | undefined,
  kind: MarkerKind,
): Record<string, string> | undefined {
  if (!body) return undefined;
  const m = new RegExp(`<!-- connops:${kind} ([^>]*?) -->`).exec(body);
  if (!m?.[1]) return undefined;
  const fields: Record<string, string> = {};
  for (const pair of m[1].split(/\s+/)) {
    const eq = pair.indexOf('=');
    if (eq > 0) fields[pair.slice(0, eq)] = decodeValue(pair.slice(eq + 1));
  }
  return fields;
}

/** True when a marker belongs to this config and selection. */
export function sameIdentity(
  fields: Readonly<Record<string, string>> | undefined,
  identity: { readonly config: string; readonly scope: string },
): boolean {
  return (
    fields !== undefined &&
    fields['config'] === identity.config &&
    (fields['scope'] ?? '') === identity.scope
  );
}

/** One reviewed change, small enough to keep hundreds in a comment. */
interface ReviewedChange {
  /** Address (keyString). */
  readonly a: string;
  /** Document name (for messages). */
  readonly n: string;
  readonly x: PlanChange['action'];
  readonly r: string | null;
  /** Digest of the field operations. */
  readonly o: string;
}

function digestOps(ops: readonly PatchOp[]): string {
  return createHash('sha256').update(JSON.stringify(ops)).digest('hex').slice(0, 16);
}

function pending(plan: Plan): PlanChange[] {
  return plan.changes.filter((c) => c.action !== 'noop');
}

/** `<!-- connops:changes … -->` with the reviewed changes, or '' when over `budget` characters. */
export function renderReviewedChanges(plan: Plan, budget: number): string {
  const list: ReviewedChange[] = pending(plan).map((c) => ({
    a: keyString(c.key),
    n: c.key.name,
    x: c.action,
    r: c.revision ?? null,
    o: digestOps(c.ops),
  }));
  const text = `<!-- connops:changes ${Buffer.from(JSON.stringify(list)).toString('base64url')} -->`;
  return text.length <= budget ? text : '';
}

function parseReviewedChanges(body: string): ReviewedChange[] | undefined {
  const m = /<!-- connops:changes ([A-Za-z0-9_-]*) -->/.exec(body);
  if (!m?.[1]) return undefined;
  try {
    const list = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8')) as unknown;
    return Array.isArray(list) ? (list as ReviewedChange[]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why the fresh plan differs from the one reviewed in the comment, in
 * explainStale's words; undefined when the comment carries no change record.
 * Field operations are compared by digest on both sides, so explainStale
 * compares like with like without the comment holding every value.
 */
export function explainPlanChange(commentBody: string, fresh: Plan): string[] | undefined {
  const reviewed = parseReviewedChanges(commentBody);
  if (!reviewed) return undefined;
  const digestOp = (o: string): PatchOp[] => [{ op: 'replace', path: '/#ops', value: o }];
  const saved: PlanJson = {
    format_version: fresh.format_version,
    fingerprint: '',
    summary: fresh.summary,
    problems: [],
    unmanaged: 0,
    meta: fresh.meta,
    changes: reviewed.map((c) => ({
      address: c.a,
      key: { target: '', account: '', kind: '', name: c.n },
      action: c.x,
      reason: '',
      id: null,
      revision: c.r,
      ops: digestOp(c.o),
      before: null,
      after: null,
      source: null,
    })),
  };
  const projected: Plan = {
    ...fresh,
    changes: pending(fresh).map((c) => ({ ...c, ops: digestOp(digestOps(c.ops)) })),
  };
  return explainStale(saved, projected);
}
