/**
 * Hidden markers that let the Action find its own PR comment and drift issue
 * again (dflook's pattern, anchors §5.2), and the compact record of the
 * reviewed plan that apply-on-merge compares against.
 */
import { compareWrites, type Plan, type PlanPolicy, type WriteRecord } from '../core/plan.ts';

export type MarkerKind = 'plan' | 'drift' | 'apply';

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

/** The reviewed writes as the comment keeps them: digests shortened, enough to explain a difference. */
interface ReviewedWrites {
  readonly policy?: PlanPolicy;
  readonly writes: WriteRecord[];
}

const short = (d: string | null): string | null => (d === null ? null : d.slice(0, 23));

/**
 * `<!-- connops:changes … -->` with the reviewed writes (core/plan.ts
 * WriteRecord, digests cut to 16 hex digits), or '' when over `budget`
 * characters. The fingerprint decides; this only says why two plans differ.
 */
export function renderReviewedChanges(plan: Plan, budget: number): string {
  const record: ReviewedWrites = {
    ...(plan.policy ? { policy: plan.policy } : {}),
    writes: (plan.writes ?? []).map((w) => ({ ...w, base: short(w.base), body: short(w.body) })),
  };
  const text = `<!-- connops:changes ${Buffer.from(JSON.stringify(record)).toString('base64url')} -->`;
  return text.length <= budget ? text : '';
}

function parseReviewedChanges(body: string): ReviewedWrites | undefined {
  const m = /<!-- connops:changes ([A-Za-z0-9_-]*) -->/.exec(body);
  if (!m?.[1]) return undefined;
  try {
    const record = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8')) as unknown;
    return record !== null &&
      typeof record === 'object' &&
      Array.isArray((record as ReviewedWrites).writes)
      ? (record as ReviewedWrites)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why the fresh plan writes other things than the one reviewed in the comment
 * (compareWrites' words); undefined when the comment carries no record.
 */
export function explainPlanChange(commentBody: string, fresh: Plan): string[] | undefined {
  const reviewed = parseReviewedChanges(commentBody);
  if (!reviewed) return undefined;
  const projected = {
    ...(fresh.policy ? { policy: fresh.policy } : {}),
    writes: (fresh.writes ?? []).map((w) => ({ ...w, base: short(w.base), body: short(w.body) })),
  };
  const reasons = compareWrites(reviewed, projected);
  return reasons.length > 0 ? reasons : undefined;
}
