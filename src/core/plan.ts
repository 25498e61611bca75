/**
 * Builds a plan from desired documents and live objects: matching, diffing,
 * ordering, masking and the fingerprint. Pure: live state and the clock come in
 * as values.
 */
import { createHash } from 'node:crypto';
import {
  buildPointer,
  canonicalJson,
  cloneJson,
  deepEqual,
  escapePointerToken,
  getAtPointer,
  isObject,
  parsePointer,
  removeAtPointer,
  shareEqual,
  type JsonObject,
  type JsonValue,
} from './json.ts';
import { diffOps, type PatchOp } from './json-patch.ts';
import {
  keyString,
  type DesiredDocument,
  type DocumentKey,
  type SourcePos,
  type TargetConfig,
} from './model.ts';
import type { LiveObject, LiveRef, Provider, WriteRequest } from '../providers/types.ts';

export const PLAN_FORMAT_VERSION = '1';
export const SENSITIVE = '(sensitive)';
export const SENSITIVE_CHANGED = '(sensitive value changed)';

export type Action = 'create' | 'update' | 'delete' | 'noop';

export interface PlanChange {
  readonly key: DocumentKey;
  readonly action: Action;
  readonly reason: string;
  /** Live id (update, delete, noop) or pinned id (create). */
  readonly id?: string;
  /** Live revision the change was computed against (an opaque hash for APIs without revisions). */
  readonly revision?: string;
  /** Normalised live body (after `ignore`); holds secrets. */
  readonly before?: JsonObject;
  /** Normalised desired body (after `ignore`); holds secrets. */
  readonly after?: JsonObject;
  /** RFC 6902 operations before → after with sensitive values masked (display only). */
  readonly ops: PatchOp[];
  /** The request apply will send (create/update); holds secrets, never serialised. */
  readonly request?: WriteRequest;
  /**
   * What the write needs of the live object (update/delete): its id, revision
   * and name. Not the body: `before` holds it normalised, and a plan of many
   * changes would otherwise keep every live body twice.
   */
  readonly live?: LiveRef;
  readonly source?: SourcePos;
  /** DIDs (or other exclusive values) this change newly claims / gives up. */
  readonly claims: readonly string[];
  readonly releases: readonly string[];
  /** Indices (into Plan.changes) of changes that must finish first. */
  readonly dependsOn: readonly number[];
  /** Masked copies for output. */
  readonly beforeMasked?: JsonObject;
  readonly afterMasked?: JsonObject;
}

export interface PlanProblem {
  readonly key?: DocumentKey;
  readonly message: string;
  readonly source?: SourcePos;
}

export interface PlanSummary {
  readonly create: number;
  readonly update: number;
  readonly delete: number;
  readonly noop: number;
}

export interface PlanMeta {
  readonly generated_at: string;
  readonly git?: { readonly commit: string; readonly dirty: boolean };
  readonly selection?: Readonly<Record<string, unknown>>;
}

export interface Plan {
  readonly format_version: string;
  readonly changes: PlanChange[];
  /** Problems that stop part of the plan (ambiguous names, DID swaps). */
  readonly problems: PlanProblem[];
  /** Live objects that no document declares and prune will not touch, per reason. */
  readonly unmanaged: number;
  readonly summary: PlanSummary;
  readonly fingerprint: string;
  readonly meta: PlanMeta;
}

/** Live objects of one kind in one account of one target. */
export interface LiveScope {
  readonly target: string;
  readonly kind: string;
  readonly account: string;
  readonly objects: readonly LiveObject[];
}

/** Everything a plan needs except the live state, which arrives scope by scope. */
export interface PlanContext {
  readonly documents: readonly DesiredDocument[];
  readonly targets: Readonly<Record<string, TargetConfig>>;
  readonly providers: ReadonlyMap<string, Provider>;
  readonly prune: boolean;
  /** Documents that git says were deleted (deletes when prune is on, even without the marker). */
  readonly deleted?: readonly DocumentKey[];
  /**
   * The documents are only part of what the repo declares in their accounts
   * (`--changed-since`): an undeclared live object may belong to a document that
   * was not loaded, so only `deleted` keys are pruned and nothing is counted as
   * unmanaged.
   */
  readonly partial?: boolean;
  readonly meta: PlanMeta;
}

export interface PlanInput extends PlanContext {
  readonly live: readonly LiveScope[];
}

export function scopeKey(target: string, kind: string, account: string): string {
  return `${target}/${account}/${kind}`;
}

/** Opaque revision for APIs that have none: a hash of the normalised live body. */
export function bodyRevision(normalized: JsonObject): string {
  return `sha256:${createHash('sha256').update(canonicalJson(normalized)).digest('hex').slice(0, 16)}`;
}

/** Builds the plan from live state already read in full. */
export function buildPlan(input: PlanInput): Plan {
  const planner = new Planner(input);
  for (const scope of input.live) planner.addScope(scope);
  return planner.finish();
}

/**
 * SHA-256 of a body's JSON text. The text is canonical for what is hashed here:
 * normalised bodies have sorted keys, and a desired spec keeps the key order of
 * its file's text (so the same files always give the same digest).
 */
function digestOf(body: JsonObject): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

/**
 * Builds a plan while live state is still arriving: each (target, account,
 * kind) scope is planned as soon as its live objects are read, and what an
 * unchanged document needs afterwards is only its id, revision and a digest.
 * So a large estate's live bodies are never all held at once, and the diff
 * runs while other reads wait on the network. The result does not depend on
 * the order scopes arrive in.
 */
export class Planner {
  private readonly input: PlanContext;
  private readonly docsByScope = new Map<string, DesiredDocument[]>();
  private readonly deleted: Set<string>;
  private readonly deletedScopes: Set<string>;
  private readonly planned = new Set<string>();
  private readonly changes: PlanChange[] = [];
  private readonly problemsByScope = new Map<string, PlanProblem[]>();
  /** Each planned document's spec digest, taken while other scopes are still being read. */
  private readonly digests = new Map<DesiredDocument, string>();
  private unmanaged = 0;

  constructor(input: PlanContext) {
    this.input = input;
    for (const d of input.documents) {
      const k = scopeKey(d.key.target, d.key.kind, d.key.account);
      const list = this.docsByScope.get(k);
      if (list) list.push(d);
      else this.docsByScope.set(k, [d]);
    }
    this.deleted = new Set((input.deleted ?? []).map(keyString));
    this.deletedScopes = new Set(
      (input.deleted ?? []).map((k) => scopeKey(k.target, k.kind, k.account)),
    );
  }

  /** Plans one scope's documents against its live objects (call once per scope). */
  addScope(scope: LiveScope): void {
    const sk = scopeKey(scope.target, scope.kind, scope.account);
    this.planned.add(sk);
    this.planScope(sk, this.docsByScope.get(sk) ?? [], scope);
  }

  /**
   * Plans the documents of scopes never added (no live objects: creates),
   * orders the changes and computes the fingerprint. Documents and deletions in
   * `skipScopes` (accounts that could not be read) are left out entirely.
   */
  finish(skipScopes: ReadonlySet<string> = new Set()): Plan {
    for (const [sk, docs] of this.docsByScope) {
      if (this.planned.has(sk) || skipScopes.has(sk)) continue;
      this.planned.add(sk);
      this.planScope(sk, docs, undefined);
    }
    const problems = [...this.problemsByScope.keys()]
      .sort()
      .flatMap((k) => this.problemsByScope.get(k) ?? []);
    const ordered = orderChanges(this.changes, problems);
    const documents = this.input.documents.filter(
      (d) => !skipScopes.has(scopeKey(d.key.target, d.key.kind, d.key.account)),
    );
    const fingerprint = fingerprintOf(
      documents.map((d) => ({
        key: keyString(d.key),
        body: this.digests.get(d) ?? digestOf(d.spec),
        ignore: d.ignore,
      })),
      ordered,
    );
    return {
      format_version: PLAN_FORMAT_VERSION,
      changes: ordered,
      problems,
      unmanaged: this.unmanaged,
      summary: summarize(ordered),
      fingerprint,
      meta: this.input.meta,
    };
  }

  private problem(sk: string, p: PlanProblem): void {
    const list = this.problemsByScope.get(sk);
    if (list) list.push(p);
    else this.problemsByScope.set(sk, [p]);
  }

  private planScope(sk: string, docs: readonly DesiredDocument[], scope: LiveScope | undefined) {
    for (const doc of docs) this.digests.set(doc, digestOf(doc.spec));
    const input = this.input;
    const sample = docs[0];
    const kind = sample?.key.kind ?? scope?.kind ?? '';
    const targetName = sample?.key.target ?? scope?.target ?? '';
    const account = sample?.key.account ?? scope?.account ?? '';
    const provider = input.providers.get(kind);
    const target = input.targets[targetName];
    if (!provider || !target) return;
    const objects = scope?.objects ?? [];
    const byId = new Map(objects.map((o) => [o.id, o]));
    const byName = new Map<string, LiveObject[]>();
    for (const o of objects) {
      const n = provider.nameOf(o.body);
      if (n === undefined) continue;
      const list = byName.get(n) ?? [];
      list.push(o);
      byName.set(n, list);
    }
    const matched = new Set<string>();

    for (const doc of docs) {
      let live: LiveObject | undefined;
      let reason = '';
      if (doc.id !== undefined) {
        live = byId.get(doc.id);
        if (!live && !provider.createWithId) {
          this.problem(sk, {
            key: doc.key,
            source: doc.source,
            message: `${doc.key.kind} "${doc.key.name}": no live object has the pinned id ${doc.id}, and this API assigns ids itself; remove \`id:\` to create a new one`,
          });
          continue;
        }
        if (!live)
          reason = `no live object has the pinned id ${doc.id}; it will be created with that id`;
      } else {
        const candidates = (byName.get(doc.key.name) ?? []).filter((o) => !matched.has(o.id));
        if (candidates.length > 1) {
          this.problem(sk, {
            key: doc.key,
            source: doc.source,
            message: `${doc.key.kind} "${doc.key.name}" in account ${account}: ${candidates.length} live objects have this name (ids ${candidates.map((c) => c.id).join(', ')}); pin one with \`id:\` so connops does not guess`,
          });
          for (const c of candidates) matched.add(c.id);
          continue;
        }
        live = candidates[0];
        if (!live) reason = 'not found on the server';
      }
      this.changes.push(planDocument(doc, live, reason, provider, target));
      if (live) matched.add(live.id);
    }

    // Objects no document declares: delete only with prune, only inside accounts
    // this run declares, and only objects connops wrote or that git says a document
    // declared (SPEC.md §4).
    const declaresAccount = docs.length > 0 || this.deletedScopes.has(sk);
    for (const o of objects) {
      if (matched.has(o.id)) continue;
      const name = provider.nameOf(o.body) ?? o.id;
      const key: DocumentKey = { target: targetName, account, kind, name };
      const wasDeclared = this.deleted.has(keyString(key));
      if (
        input.prune &&
        declaresAccount &&
        (wasDeclared || (!input.partial && provider.isManaged(o.body)))
      ) {
        const beforeN = provider.normalize(o.body, target);
        const revision = o.revision ?? bodyRevision(beforeN);
        const masked = maskBody(beforeN, new Set(provider.secretPointers(beforeN)), undefined);
        this.changes.push({
          key,
          action: 'delete',
          reason: wasDeclared
            ? 'its document was deleted from git (prune is on)'
            : 'no document declares it and connops manages it (prune is on)',
          id: o.id,
          revision,
          before: beforeN,
          ops: diffOps(masked, {}),
          live: liveRef(o, provider),
          claims: [],
          releases: provider.claims(beforeN),
          dependsOn: [],
          beforeMasked: masked,
        });
      } else if (declaresAccount && !input.partial) {
        this.unmanaged++;
      }
    }
  }
}

/** The id, revision and name of a live object: what a write needs (see PlanChange.live). */
function liveRef(o: LiveObject, provider: Provider): LiveRef {
  const name = provider.nameOf(o.body);
  return {
    id: o.id,
    ...(o.revision !== undefined ? { revision: o.revision } : {}),
    ...(name !== undefined ? { name } : {}),
  };
}

function planDocument(
  doc: DesiredDocument,
  live: LiveObject | undefined,
  reason: string,
  provider: Provider,
  target: TargetConfig,
): PlanChange {
  if (
    live &&
    doc.ignore.length === 0 &&
    live.revision !== undefined &&
    provider.sameNormalized(live.body, doc.spec, target)
  ) {
    // The common case in a converged estate, decided without normalised copies.
    return noopChange(doc, live.id, live.revision);
  }
  const desiredN = provider.normalize(doc.spec, target);
  const sensitive = new Set([...doc.sensitive, ...provider.secretPointers(doc.spec)]);
  if (!live) {
    const after = withoutIgnored(desiredN, doc.ignore);
    const afterMasked = maskBody(after, sensitive, undefined);
    const createBody = provider.buildCreate(doc.spec, target);
    const marked = provider.markManaged(createBody);
    return {
      key: doc.key,
      action: 'create',
      reason,
      ...(doc.id !== undefined ? { id: doc.id } : {}),
      after,
      // The ownership marker is written too, so the plan shows it.
      ops: [...diffOps({}, afterMasked), ...markerOps(createBody, marked)],
      request: {
        method: provider.verbs.create as WriteRequest['method'],
        body: marked,
      },
      source: doc.source,
      claims: provider.claims(after),
      releases: [],
      dependsOn: [],
      afterMasked,
    };
  }
  const liveN = provider.normalize(live.body, target);
  for (const p of provider.secretPointers(liveN)) sensitive.add(p);
  const revision = live.revision ?? bodyRevision(liveN);
  // Ignored fields take the live value on the desired side, so they never show as
  // changes and an array rewrite (Kazoo replaces arrays whole) carries them unchanged.
  // Where the two sides agree the desired body takes the live body's parts, so a
  // change keeps one copy of what did not change rather than two (a document's
  // hundreds of DIDs, mostly). Equal bodies come back as the live body itself.
  const desiredForWrite = shareEqual(
    liveN,
    overlayIgnored(desiredN, liveN, doc.ignore),
  ) as JsonObject;
  if (desiredForWrite === liveN) return noopChange(doc, live.id, revision);
  const before = withoutIgnored(liveN, doc.ignore);
  const after = withoutIgnored(desiredForWrite, doc.ignore);
  const beforeMasked = maskBody(before, sensitive, undefined);
  const afterMasked = maskBody(after, sensitive, before);
  const base = {
    key: doc.key,
    id: live.id,
    revision,
    before,
    after,
    live: liveRef(live, provider),
    source: doc.source,
    beforeMasked,
    afterMasked,
  };
  let request = provider.buildUpdate(liveN, desiredForWrite, doc.spec);
  const ops = diffOps(beforeMasked, afterMasked);
  // An object connops adopts is marked only when it is written anyway (an
  // unchanged one costs no write), and the plan shows the marker it adds.
  if (!provider.isManaged(live.body) && request.body) {
    const marked = provider.markManaged(request.body);
    ops.push(...markerOps(request.body, marked));
    request = { ...request, body: marked };
  }
  const had = new Set(provider.claims(liveN));
  const has = new Set(provider.claims(desiredForWrite));
  return {
    ...base,
    action: 'update',
    reason: `${ops.length} field${ops.length === 1 ? '' : 's'} differ${ops.length === 1 ? 's' : ''}`,
    ops,
    request,
    claims: [...has].filter((d) => !had.has(d)),
    releases: [...had].filter((d) => !has.has(d)),
    dependsOn: [],
  };
}

/** The top-level keys `markManaged` adds to a request body, as plan operations. */
function markerOps(body: JsonObject, marked: JsonObject): PatchOp[] {
  return Object.keys(marked)
    .filter(
      (k) => !Object.hasOwn(body, k) || !deepEqual(body[k] as JsonValue, marked[k] as JsonValue),
    )
    .map((k) => ({ op: 'add', path: `/${escapePointerToken(k)}`, value: marked[k] as JsonValue }));
}

/**
 * Nothing to send: keep only what staleness checks need (id, revision), not the
 * bodies, so a large converged estate does not hold every document twice more.
 */
function noopChange(doc: DesiredDocument, id: string, revision: string): PlanChange {
  return {
    key: doc.key,
    id,
    revision,
    source: doc.source,
    action: 'noop',
    reason: 'up to date',
    ops: [],
    claims: [],
    releases: [],
    dependsOn: [],
  };
}

/** Copies live values into `desired` at each ignored pointer (or removes them when live has none). */
export function overlayIgnored(
  desired: JsonObject,
  live: JsonObject,
  ignore: readonly string[],
): JsonObject {
  if (ignore.length === 0) return desired;
  const out = cloneJson(desired);
  for (const pointer of ignore) {
    const liveValue = getAtPointer(live, pointer);
    if (liveValue === undefined) {
      removeAtPointer(out, pointer);
      continue;
    }
    const tokens = parsePointer(pointer);
    const last = tokens.pop();
    const container = getAtPointer(out, buildPointer(tokens));
    if (last === undefined) continue;
    if (isObject(container)) container[last] = cloneJson(liveValue);
    else if (Array.isArray(container) && Number(last) < container.length)
      container[Number(last)] = cloneJson(liveValue);
  }
  return out;
}

/** A copy of `body` without the ignored pointers. */
export function withoutIgnored(body: JsonObject, ignore: readonly string[]): JsonObject {
  if (ignore.length === 0) return body;
  const out = cloneJson(body);
  for (const p of ignore) removeAtPointer(out, p);
  return out;
}

/**
 * Replaces each sensitive value with a marker. On the `after` side (when
 * `before` is given), a value that differs from before reads "(sensitive value
 * changed)", so the diff shows that it changed without showing it.
 */
export function maskBody(
  body: JsonObject,
  sensitive: ReadonlySet<string>,
  before: JsonObject | undefined,
): JsonObject {
  if (sensitive.size === 0) return body;
  let out = body;
  for (const pointer of sensitive) {
    const v = getAtPointer(out, pointer);
    if (v === undefined) continue;
    const changed = before !== undefined && !deepEqual(getAtPointer(before, pointer), v);
    out = replacedAt(out, parsePointer(pointer), changed ? SENSITIVE_CHANGED : SENSITIVE);
  }
  return out;
}

/**
 * A copy of `root` with the value at `tokens` replaced. Only the containers on
 * the path are copied; the rest is shared (bodies are never mutated once
 * built), which keeps masking cheap for documents with hundreds of DIDs.
 */
function replacedAt(root: JsonObject, tokens: readonly string[], value: JsonValue): JsonObject {
  const step = (cur: JsonValue | undefined, i: number): JsonValue | undefined => {
    const t = tokens[i];
    if (t === undefined) return value;
    if (Array.isArray(cur)) {
      const n = Number(t);
      const copy = [...cur];
      const next = step(cur[n], i + 1);
      if (next === undefined) return cur;
      copy[n] = next;
      return copy;
    }
    if (isObject(cur)) {
      const next = step(cur[t], i + 1);
      if (next === undefined) return cur;
      return { ...cur, [t]: next };
    }
    return undefined;
  };
  const out = step(root, 0);
  return isObject(out) ? out : root;
}

/**
 * Orders changes so every release of a DID happens before the write that claims
 * it (deletes first, then updates, then creates, dependencies respected), and
 * reports claim cycles, which no order can apply.
 */
function orderChanges(changes: PlanChange[], problems: PlanProblem[]): PlanChange[] {
  const rank: Record<Action, number> = { delete: 0, update: 1, create: 2, noop: 3 };
  const keys = new Map(changes.map((c) => [c, keyString(c.key)]));
  const collator = new Intl.Collator(); // what String#localeCompare uses, without its per-call set-up
  const sorted = [...changes].sort(
    (a, b) =>
      rank[a.action] - rank[b.action] ||
      collator.compare(keys.get(a) as string, keys.get(b) as string),
  );
  const releasedBy = new Map<string, number>();
  sorted.forEach((c, i) => {
    for (const r of c.releases) releasedBy.set(`${c.key.target}/${c.key.account}/${r}`, i);
  });
  const deps = sorted.map((c, i) => {
    const d = new Set<number>();
    for (const claim of c.claims) {
      const j = releasedBy.get(`${c.key.target}/${c.key.account}/${claim}`);
      if (j !== undefined && j !== i) d.add(j);
    }
    return [...d];
  });
  // Cycle detection (two documents swapping DIDs).
  const state = new Array<number>(sorted.length).fill(0);
  const inCycle = new Set<number>();
  const visit = (i: number, stack: number[]): void => {
    if (state[i] === 2) return;
    if (state[i] === 1) {
      for (const s of stack.slice(stack.indexOf(i))) inCycle.add(s);
      return;
    }
    state[i] = 1;
    for (const j of deps[i] ?? []) visit(j, [...stack, i]);
    state[i] = 2;
  };
  sorted.forEach((_, i) => visit(i, []));
  if (inCycle.size > 0) {
    const names = [...inCycle].map((i) => `"${sorted[i]?.key.name}"`).join(', ');
    problems.push({
      message: `${names} swap DIDs with each other; no single apply can order that safely. Move the DIDs in two steps (first remove them from one document, apply, then add them to the other)`,
    });
  }
  return sorted.map((c, i) => ({ ...c, dependsOn: deps[i] ?? [] }));
}

function summarize(changes: readonly PlanChange[]): PlanSummary {
  const s = { create: 0, update: 0, delete: 0, noop: 0 };
  for (const c of changes) s[c.action]++;
  return s;
}

/**
 * Hash of the desired documents (a digest of each spec as written), the live
 * revisions and the changes. Secrets enter the hash only through SHA-256
 * digests of the bodies holding them, so the fingerprint changes when a
 * password changes but cannot be reversed to it.
 */
function fingerprintOf(
  desired: ReadonlyArray<{ key: string; body: string; ignore: readonly string[] }>,
  changes: readonly PlanChange[],
): string {
  const live = changes.map((c) => ({
    key: keyString(c.key),
    action: c.action,
    id: c.id ?? null,
    revision: c.revision ?? null,
    ops: c.ops,
    secrets: c.after ? digestOf(c.after) : null,
  }));
  const h = createHash('sha256');
  h.update(
    canonicalJson({
      v: PLAN_FORMAT_VERSION,
      desired: [...desired].sort((a, b) => a.key.localeCompare(b.key)),
      live,
    }),
  );
  return h.digest('hex');
}
