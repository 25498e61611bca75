/**
 * Builds a plan from desired documents and live objects: matching, diffing,
 * ordering, masking and the fingerprint. Pure: live state and the clock come in
 * as values.
 */
import { createHash, createHmac } from 'node:crypto';
import {
  canonicalJson,
  cloneJson,
  deepEqual,
  escapePointerToken,
  getAtPointer,
  isObject,
  parsePointer,
  shareEqual,
  type JsonObject,
  type JsonValue,
} from './json.ts';
import { diffOps, type PatchOp } from './json-patch.ts';
import { ignoredIn, pairIgnored, type IgnorePair } from './ignore.ts';
import {
  keyString,
  type DesiredDocument,
  type DocumentKey,
  type SourcePos,
  type TargetConfig,
} from './model.ts';
import {
  numberDelta,
  numbersOf,
  type NumberedChange,
  type NumberEntry,
  type NumberSite,
} from './numbers.ts';
import type {
  ExclusiveValue,
  LiveObject,
  LiveRef,
  Provider,
  WriteRequest,
} from '../providers/types.ts';

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
  /**
   * Indices (into Plan.changes) of changes whose claiming write must land
   * before this change's write (which releases numbers they claim): claim
   * before release, INVARIANTS.md item 1.
   */
  readonly dependsOn: readonly number[];
  /**
   * Set on an update that is part of a swap: it is applied as two writes, first
   * `request` (its new numbers added, the ones it gives up kept), then `then`
   * (the final body, based on the revision the first write produced). Other
   * changes' `dependsOn` wait only for the first.
   */
  readonly claimFirst?: {
    readonly request: WriteRequest;
    readonly then: WriteRequest;
  };
  /** Masked copies for output. */
  readonly beforeMasked?: JsonObject;
  readonly afterMasked?: JsonObject;
  /** What this change writes, as the fingerprint sees it (absent for noops). */
  readonly write?: WriteRecord;
}

/**
 * One write as the fingerprint sees it: what apply would send and what it is
 * based on. Two plans with the same records make the same requests against the
 * same live revisions (INVARIANTS.md 11); nothing else enters the fingerprint.
 */
export interface WriteRecord {
  /** target/account/kind/name. */
  readonly address: string;
  readonly action: Exclude<Action, 'noop'>;
  /** Live id written (update, delete) or pinned id (create); null for a create without one. */
  readonly id: string | null;
  /**
   * The live revision the write is based on: Kazoo's `rev`, or for APIs
   * without revisions (Cloudflare) a hash of the normalised live body of the
   * object written. Null for a create.
   */
  readonly base: string | null;
  /**
   * SHA-256 of the exact body sent (canonical JSON), with each secret value
   * replaced by a keyed hash (HMAC keyed by the target's credentials), so the
   * digest changes when a password changes but cannot be brute-forced from the
   * plan alone. Null for a delete.
   */
  readonly body: string | null;
}

/** The policy that shapes which writes a plan makes and which apply allows. */
export interface PlanPolicy {
  readonly prune: boolean;
  readonly max_deletes: number | null;
  readonly max_changes: number | null;
  /**
   * A plan scoped to the accounts a change touches (`--scope accounts`): those
   * accounts, so an apply of the reviewed plan reads and writes the same scope.
   */
  readonly scope?: readonly string[];
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
  /**
   * Those live objects by name (INVARIANTS.md item 8): what connops leaves
   * alone is named in every output, not only counted.
   */
  readonly undeclared?: readonly UndeclaredObject[];
  readonly summary: PlanSummary;
  /**
   * The plan in numbers (core/numbers.ts, INVARIANTS.md 5): each number routed,
   * unrouted, moved or with changed options. Derived from the changes, so it is
   * not part of the fingerprint. Absent in plans that predate it.
   */
  readonly numbers?: readonly NumberEntry[];
  readonly fingerprint: string;
  /** The writes the fingerprint covers, sorted by address (every plan the Planner makes has them). */
  readonly writes?: readonly WriteRecord[];
  readonly policy?: PlanPolicy;
  /**
   * Why the plan is incomplete (each unreadable target, account or object, each
   * document that could not be planned); empty when complete. An incomplete plan
   * says so first in every output and is never applied (INVARIANTS.md 10).
   */
  readonly incomplete?: readonly string[];
  readonly meta: PlanMeta;
}

/** The values (DIDs) a document claims that an account check must see. */
export interface AccountClaim {
  readonly doc: DesiredDocument;
  readonly values: readonly string[];
}

/** A live object in a declared account that no document declares (and prune leaves alone). */
export interface UndeclaredObject {
  readonly key: DocumentKey;
  readonly id: string;
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
  /** policy.max_deletes / max_changes: they decide whether apply may write, so they enter the fingerprint. */
  readonly limits?: { readonly max_deletes: number; readonly max_changes: number };
  readonly meta: PlanMeta;
}

export interface PlanInput extends PlanContext {
  readonly live: readonly LiveScope[];
}

/** True when the plan covers everything it was asked to (INVARIANTS.md 10). */
export function isComplete(plan: Pick<Plan, 'incomplete'>): boolean {
  return (plan.incomplete?.length ?? 0) === 0;
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
  /** Per change, the numbers that differ between its sides (numberDelta): all the numbers view needs. */
  private readonly numberDeltas: NumberedChange[] = [];
  private readonly problemsByScope = new Map<string, PlanProblem[]>();
  private unmanaged = 0;
  /** Undeclared live objects with the exclusive values they hold (DIDs, SIP users). */
  private readonly undeclared: Array<UndeclaredObject & { values: readonly ExclusiveValue[] }> = [];

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

  /**
   * Plans one scope's documents against its live objects (call once per scope).
   * Returns the values (DIDs) its documents claim that a provider's account
   * check must see (`checkAccountFacts`): those this plan newly routes, or every
   * DID with the target's `check_numbers: all`; empty when nothing needs it.
   */
  addScope(scope: LiveScope): AccountClaim[] {
    const sk = scopeKey(scope.target, scope.kind, scope.account);
    this.planned.add(sk);
    return this.planScope(sk, this.docsByScope.get(sk) ?? [], scope);
  }

  /**
   * Checks a planned scope's claims against what the provider read of the
   * account (Kazoo: the number manager, §12): each DID that would never route
   * is a plan problem at its document.
   */
  addFacts(
    scope: Omit<LiveScope, 'objects'>,
    claims: readonly AccountClaim[],
    facts: unknown,
  ): void {
    const provider = this.input.providers.get(scope.kind);
    const target = this.input.targets[scope.target];
    if (!provider?.checkAccountFacts || !target) return;
    const sk = scopeKey(scope.target, scope.kind, scope.account);
    for (const f of provider.checkAccountFacts(scope.account, claims, facts, target))
      this.problem(sk, { key: f.doc.key, source: f.doc.source, message: f.message });
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
    problems.push(...this.collisions(skipScopes));
    const ordered = orderChanges(this.changes, problems);
    const writes = ordered.flatMap((c) => (c.write ? [c.write] : []));
    const scoped = (this.input.meta.selection?.['scope'] as { accounts?: unknown } | undefined)
      ?.accounts;
    const policy: PlanPolicy = {
      prune: this.input.prune,
      max_deletes: this.input.limits?.max_deletes ?? null,
      max_changes: this.input.limits?.max_changes ?? null,
      ...(Array.isArray(scoped) ? { scope: scoped.map(String) } : {}),
    };
    return {
      format_version: PLAN_FORMAT_VERSION,
      changes: ordered,
      problems,
      unmanaged: this.unmanaged,
      undeclared: [...this.undeclared]
        .sort((a, b) => (keyString(a.key) < keyString(b.key) ? -1 : 1))
        .map(({ key, id }) => ({ key, id })),
      summary: summarize(ordered),
      numbers: numbersOf(this.numberDeltas),
      ...sealWrites(writes, policy),
      meta: this.input.meta,
    };
  }

  private push(change: PlanChange): void {
    this.changes.push(change);
    const delta = numberDelta(this.numbered(change));
    if (delta.before.length > 0 || delta.after.length > 0) this.numberDeltas.push(delta);
  }

  /** A change with the numbers of its two (masked) sides, for the numbers view. */
  private numbered(c: PlanChange): NumberedChange {
    const provider = this.input.providers.get(c.key.kind);
    const target = this.input.targets[c.key.target];
    if (provider?.numberPair && target && c.action !== 'noop')
      return {
        key: c.key,
        action: c.action,
        ...provider.numberPair(c.beforeMasked, c.afterMasked, target),
      };
    const sites = (body: JsonObject | undefined): NumberSite[] =>
      body && provider?.numbers && target && c.action !== 'noop'
        ? provider.numbers(body, target)
        : [];
    return {
      key: c.key,
      action: c.action,
      before: sites(c.beforeMasked),
      after: sites(c.afterMasked),
    };
  }

  /**
   * Undeclared live objects holding a value a document claims (a DID anywhere
   * in the target, a SIP user in the account): calls or registrations would
   * split between the two, so the plan fails naming both (INVARIANTS.md 2, 8).
   * An object this apply deletes (prune) is not undeclared, so it never collides.
   */
  private collisions(skipScopes: ReadonlySet<string>): PlanProblem[] {
    if (!this.undeclared.some((u) => u.values.length > 0)) return [];
    const claimed = new Map<string, DesiredDocument>();
    const slot = (target: string, account: string, v: ExclusiveValue): string =>
      v.scope === 'target'
        ? `${target}\u0000${v.label}\u0000${v.value}`
        : `${target}\u0000${account}\u0000${v.label}\u0000${v.value}`;
    for (const d of this.input.documents) {
      if (skipScopes.has(scopeKey(d.key.target, d.key.kind, d.key.account))) continue;
      const provider = this.input.providers.get(d.key.kind);
      for (const v of provider?.exclusiveValues?.(d.spec) ?? []) {
        const k = slot(d.key.target, d.key.account, v);
        if (!claimed.has(k)) claimed.set(k, d);
      }
    }
    const out: PlanProblem[] = [];
    for (const u of this.undeclared) {
      for (const v of u.values) {
        const doc = claimed.get(slot(u.key.target, u.key.account, v));
        if (!doc) continue;
        out.push({
          key: doc.key,
          source: doc.source,
          message: `${v.label} ${v.value} of ${doc.key.kind} "${doc.key.name}" (${doc.source.file}:${doc.source.line}) is also held by the live object "${u.key.name}" (id ${u.id}, account ${u.key.account}), which no document declares: ${v.label === 'DID' ? 'calls to it would reach either trunk' : 'registrations would go to either'}. Remove it from one of them, declare that object (pin its id), or delete it (prune)`,
        });
      }
    }
    return out;
  }

  private problem(sk: string, p: PlanProblem): void {
    const list = this.problemsByScope.get(sk);
    if (list) list.push(p);
    else this.problemsByScope.set(sk, [p]);
  }

  private planScope(
    sk: string,
    docs: readonly DesiredDocument[],
    scope: LiveScope | undefined,
  ): AccountClaim[] {
    const input = this.input;
    const sample = docs[0];
    const kind = sample?.key.kind ?? scope?.kind ?? '';
    const targetName = sample?.key.target ?? scope?.target ?? '';
    const account = sample?.key.account ?? scope?.account ?? '';
    const provider = input.providers.get(kind);
    const target = input.targets[targetName];
    if (!provider || !target) return [];
    const objects = scope?.objects ?? [];
    const claimed: AccountClaim[] = [];
    const checkAll = target.check_numbers === 'all';
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
      const change = planDocument(doc, live, reason, provider, target);
      if (live) matched.add(live.id);
      if ('problems' in change) {
        for (const message of change.problems)
          this.problem(sk, {
            key: doc.key,
            source: doc.source,
            message: `${doc.key.kind} "${doc.key.name}": ${message}`,
          });
        continue;
      }
      this.push(change);
      // What the account check must see: the DIDs this plan routes here (an
      // unchanged document's DIDs are routed already, whatever this plan does).
      const values = checkAll ? provider.claims(doc.spec) : change.claims;
      if (provider.checkAccountFacts && values.length > 0) claimed.push({ doc, values });
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
        this.push({
          write: {
            address: keyString(key),
            action: 'delete',
            id: o.id,
            base: provider.conditionalWrites ? revision : bodyRevision(beforeN),
            body: null,
          },
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
        this.undeclared.push({ key, id: o.id, values: provider.exclusiveValues?.(o.body) ?? [] });
      }
    }
    return claimed;
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
): PlanChange | { readonly problems: readonly string[] } {
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
    const identities = provider.identities ?? {};
    const after = withoutIgnored(desiredN, ignoredIn(doc.ignore, desiredN, identities));
    const afterMasked = maskBody(after, sensitive, undefined);
    const createBody = provider.buildCreate(doc.spec, target);
    const request: WriteRequest = {
      method: provider.verbs.create as WriteRequest['method'],
      body: provider.markManaged(createBody),
    };
    return {
      key: doc.key,
      action: 'create',
      reason,
      ...(doc.id !== undefined ? { id: doc.id } : {}),
      after,
      // The ownership marker is written too, so the plan shows it.
      ops: [...diffOps({}, afterMasked), ...markerOps(createBody, request.body ?? {})],
      request,
      write: {
        address: keyString(doc.key),
        action: 'create',
        id: doc.id ?? null,
        base: null,
        body: bodyDigest(request.body, secretValues([doc.spec, desiredN], sensitive), target),
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
  // Each pointer is resolved in each body: an identity pointer finds its server
  // wherever it is, and an index pointer whose server moved is refused (ignore.ts).
  const identities = provider.identities ?? {};
  const paired = pairIgnored(doc.ignore, liveN, desiredN, identities);
  if (paired.problems.length > 0) return { problems: paired.problems };
  const desiredForWrite = shareEqual(
    liveN,
    overlayIgnored(desiredN, liveN, paired.pairs),
  ) as JsonObject;
  if (desiredForWrite === liveN) return noopChange(doc, live.id, revision);
  const liveIgnored = paired.pairs.flatMap((p) => (p.live !== undefined ? [p.live] : []));
  const desiredIgnored = paired.pairs.flatMap((p) => (p.desired !== undefined ? [p.desired] : []));
  const before = withoutIgnored(liveN, liveIgnored);
  const after = withoutIgnored(desiredForWrite, desiredIgnored);
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
  // An object connops adopts is marked only when it is written anyway (an
  // unchanged one costs no write), and the plan shows the marker it adds.
  const mark = (r: WriteRequest): WriteRequest =>
    !provider.isManaged(live.body) && r.body ? { ...r, body: provider.markManaged(r.body) } : r;
  const unmarked = provider.buildUpdate(liveN, desiredForWrite, doc.spec);
  const request = mark(unmarked);
  const had = new Set(provider.claims(liveN));
  const has = new Set(provider.claims(desiredForWrite));
  const claims = [...has].filter((d) => !had.has(d));
  const releases = [...had].filter((d) => !has.has(d));
  const ops = diffOps(beforeMasked, afterMasked);
  if (request !== unmarked && unmarked.body && request.body)
    ops.push(...markerOps(unmarked.body, request.body));
  // Kept only when ordering finds this update on a swap cycle (orderChanges).
  let claimFirst: PlanChange['claimFirst'];
  if (claims.length > 0 && releases.length > 0 && provider.keepReleased) {
    const between = provider.keepReleased(liveN, desiredForWrite, releases);
    claimFirst = {
      request: mark(provider.buildUpdate(liveN, between, doc.spec)),
      then: mark(provider.buildUpdate(between, desiredForWrite, doc.spec)),
    };
  }
  return {
    ...base,
    write: {
      address: keyString(doc.key),
      action: 'update',
      id: live.id,
      base: provider.conditionalWrites ? revision : bodyRevision(liveN),
      body: bodyDigest(
        request.body,
        secretValues([doc.spec, desiredForWrite, liveN], sensitive),
        target,
      ),
    },
    action: 'update',
    reason: `${ops.length} field${ops.length === 1 ? '' : 's'} differ${ops.length === 1 ? 's' : ''}`,
    ops,
    request,
    claims,
    releases,
    dependsOn: [],
    ...(claimFirst ? { claimFirst } : {}),
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

/**
 * Copies live values into `desired` at each ignored pointer pair (or removes
 * the desired value when live has none). Pairs come from `pairIgnored`, which
 * resolves each pointer in each body, so the value stays on its own server.
 */
export function overlayIgnored(
  desired: JsonObject,
  live: JsonObject,
  pairs: readonly IgnorePair[],
): JsonObject {
  let out = desired;
  for (const pair of pairs) {
    if (pair.desired === undefined) continue;
    const liveValue = pair.live === undefined ? undefined : getAtPointer(live, pair.live);
    // Copy on the path only: normalised bodies share frozen default objects
    // (one `options` object for many servers), so writing into a deep clone
    // would land the value on every server that shares it.
    out = withValueAt(out, parsePointer(pair.desired), liveValue);
  }
  return out;
}

/**
 * A copy of `root` with the value at `tokens` set (or removed when `value` is
 * undefined); only the containers on the path are copied. A path whose parent
 * is missing leaves `root` as it is.
 */
function withValueAt(
  root: JsonObject,
  tokens: readonly string[],
  value: JsonValue | undefined,
): JsonObject {
  const step = (cur: JsonValue | undefined, i: number): JsonValue | undefined => {
    const t = tokens[i] as string;
    const last = i === tokens.length - 1;
    if (Array.isArray(cur)) {
      const n = Number(t);
      if (!Number.isInteger(n) || n < 0 || n >= cur.length) return cur;
      const copy = [...cur];
      if (last) {
        if (value === undefined) copy.splice(n, 1);
        else copy[n] = cloneJson(value);
      } else copy[n] = step(cur[n], i + 1) as JsonValue;
      return copy;
    }
    if (isObject(cur)) {
      if (last) {
        if (value === undefined) {
          if (!(t in cur)) return cur;
          const { [t]: _gone, ...rest } = cur;
          return rest;
        }
        return { ...cur, [t]: cloneJson(value) };
      }
      if (!(t in cur)) return cur;
      return { ...cur, [t]: step(cur[t], i + 1) as JsonValue };
    }
    return cur;
  };
  if (tokens.length === 0) return root;
  const out = step(root, 0);
  return isObject(out) ? out : root;
}

/** A copy of `body` without the ignored pointers. */
export function withoutIgnored(body: JsonObject, ignore: readonly string[]): JsonObject {
  let out = body;
  // Copy on the path (see overlayIgnored): shared default objects stay untouched.
  for (const p of ignore) out = withValueAt(out, parsePointer(p), undefined);
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
 * Orders changes so no declared number is unrouted at any instant (INVARIANTS.md
 * item 1): a DID moving between documents is claimed by its new document before
 * its old one releases it (Kazoo accepts a DID in two documents for that
 * moment, reference/kazoo-api.md §7.6, §12). `dependsOn[i]` lists the changes
 * whose claiming write must land before change i's releasing write. Creates
 * only claim and deletes only release, so a rename (delete + create) runs the
 * create first. Updates that both claim and release can form cycles (two
 * documents swapping DIDs); each update on a cycle is split into a claiming
 * write (its new DIDs added, the old ones kept: `claimFirst`) and the final
 * write, so a swap becomes "claim both, then release both". A cycle through a
 * change that cannot be split (a provider without `keepReleased`) is a plan
 * problem.
 */
function orderChanges(changes: PlanChange[], problems: PlanProblem[]): PlanChange[] {
  const rank: Record<Action, number> = { create: 0, update: 1, delete: 2, noop: 3 };
  const keys = new Map(changes.map((c) => [c, keyString(c.key)]));
  const collator = new Intl.Collator(); // what String#localeCompare uses, without its per-call set-up
  const sorted = [...changes].sort(
    (a, b) =>
      rank[a.action] - rank[b.action] ||
      collator.compare(keys.get(a) as string, keys.get(b) as string),
  );
  // A number is one per target, across its accounts (INVARIANTS.md item 2).
  const claimedBy = new Map<string, number[]>();
  sorted.forEach((c, i) => {
    for (const d of c.claims) {
      const k = `${c.key.target}/${d}`;
      const list = claimedBy.get(k);
      if (list) list.push(i);
      else claimedBy.set(k, [i]);
    }
  });
  const deps = sorted.map((c, i) => {
    const d = new Set<number>();
    for (const r of c.releases)
      for (const j of claimedBy.get(`${c.key.target}/${r}`) ?? []) if (j !== i) d.add(j);
    return [...d].sort((a, b) => a - b);
  });
  // A split change's claiming write waits for nothing, so edges into it end there;
  // cycles can only run through unsplit changes. Split the changes on each cycle
  // found until none is left (each round splits at least one more change).
  const split = new Set<number>();
  const unsplittable = new Set<number>();
  for (;;) {
    const cycle = findCycle(deps, (j) => !split.has(j) && !unsplittable.has(j));
    if (cycle.length === 0) break;
    // Every cycle found holds a change not seen before, so this ends.
    for (const i of cycle) (sorted[i]?.claimFirst ? split : unsplittable).add(i);
  }
  const stuck = findCycleMembers(deps, (j) => !split.has(j));
  if (stuck.size > 0) {
    const names = [...stuck].map((i) => `"${sorted[i]?.key.name}"`).join(', ');
    problems.push({
      message: `${names} swap DIDs with each other and this API's documents cannot hold both for a moment; no single apply can order that safely. Move the DIDs in two steps (first add them to the new document, apply, then remove them from the old one)`,
    });
  }
  // A delete whose numbers a create claims is a rename connops could not prove
  // (no pinned id): say so on both, with the numbers, so a reviewer sees them
  // side by side (INVARIANTS.md item 7).
  const reasons = new Map<number, string>();
  sorted.forEach((c, i) => {
    if (c.action !== 'delete') return;
    for (const j of deps[i] ?? []) {
      const created = sorted[j];
      if (created?.action !== 'create') continue;
      const numbers = c.releases.filter((r) => created.claims.includes(r)).join(', ');
      reasons.set(
        i,
        `${reasons.get(i) ?? c.reason}; "${created.key.name}" takes over ${numbers} and is created first`,
      );
      reasons.set(
        j,
        `${reasons.get(j) ?? created.reason}; takes over ${numbers} from "${c.key.name}", which is deleted after it`,
      );
    }
  });
  return sorted.map((c, i) => {
    const { claimFirst, ...rest } = c;
    const reason = reasons.get(i);
    if (reason !== undefined) rest.reason = reason;
    if (split.has(i) && claimFirst) return { ...rest, claimFirst, dependsOn: deps[i] ?? [] };
    return { ...rest, dependsOn: deps[i] ?? [] };
  });
}

/** One cycle of `deps` through nodes that `follow` accepts (empty when there is none). */
function findCycle(deps: readonly (readonly number[])[], follow: (i: number) => boolean): number[] {
  const state = new Uint8Array(deps.length);
  const stack: number[] = [];
  const visit = (i: number): number[] => {
    state[i] = 1;
    stack.push(i);
    for (const j of deps[i] ?? []) {
      if (!follow(j)) continue;
      if (state[j] === 1) return stack.slice(stack.indexOf(j));
      if (state[j] === 0) {
        const found = visit(j);
        if (found.length > 0) return found;
      }
    }
    stack.pop();
    state[i] = 2;
    return [];
  };
  for (let i = 0; i < deps.length; i++) {
    if (state[i] !== 0 || !follow(i)) continue;
    const found = visit(i);
    if (found.length > 0) return found;
  }
  return [];
}

/** Every node on some cycle through nodes `follow` accepts (Tarjan's strongly connected components). */
function findCycleMembers(
  deps: readonly (readonly number[])[],
  follow: (i: number) => boolean,
): Set<number> {
  const index = new Array<number>(deps.length).fill(-1);
  const low = new Array<number>(deps.length).fill(0);
  const onStack = new Uint8Array(deps.length);
  const stack: number[] = [];
  const out = new Set<number>();
  let next = 0;
  const strong = (v: number): void => {
    index[v] = low[v] = next++;
    stack.push(v);
    onStack[v] = 1;
    for (const w of deps[v] ?? []) {
      if (!follow(w)) continue;
      if (index[w] === -1) {
        strong(w);
        low[v] = Math.min(low[v] as number, low[w] as number);
      } else if (onStack[w]) low[v] = Math.min(low[v] as number, index[w] as number);
    }
    if (low[v] === index[v]) {
      const component: number[] = [];
      let w: number;
      do {
        w = stack.pop() as number;
        onStack[w] = 0;
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (deps[v] ?? []).includes(v))
        for (const c of component) out.add(c);
    }
  };
  for (let v = 0; v < deps.length; v++) if (index[v] === -1 && follow(v)) strong(v);
  return out;
}

function summarize(changes: readonly PlanChange[]): PlanSummary {
  const s = { create: 0, update: 0, delete: 0, noop: 0 };
  for (const c of changes) s[c.action]++;
  return s;
}

/** The string values at `pointers` in any of `bodies`: the secrets a write may carry. */
function secretValues(
  bodies: readonly JsonObject[],
  pointers: ReadonlySet<string>,
): ReadonlySet<string> {
  const out = new Set<string>();
  for (const p of pointers)
    for (const b of bodies) {
      const v = getAtPointer(b, p);
      if (typeof v === 'string' && v !== '') out.add(v);
    }
  return out;
}

/**
 * The HMAC key of a target: derived from its credentials, which every run that
 * can plan or apply against it has, and which the plan's readers need not have.
 */
const hmacKeys = new WeakMap<TargetConfig, Buffer>();
function hmacKeyOf(target: TargetConfig): Buffer {
  let key = hmacKeys.get(target);
  if (!key) {
    key = createHash('sha256')
      .update(`connops-fingerprint\0${canonicalJson(target.auth as JsonObject)}`)
      .digest();
    hmacKeys.set(target, key);
  }
  return key;
}

/** A copy of `value` with every string in `secrets` replaced by its keyed hash. */
function keyedSecrets(value: JsonValue, secrets: ReadonlySet<string>, key: Buffer): JsonValue {
  if (typeof value === 'string')
    return secrets.has(value)
      ? `hmac-sha256:${createHmac('sha256', key).update(value).digest('hex')}`
      : value;
  if (Array.isArray(value)) return value.map((v) => keyedSecrets(v, secrets, key));
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = keyedSecrets(v, secrets, key);
    return out;
  }
  return value;
}

/** WriteRecord.body: SHA-256 of the canonical body sent, secrets as keyed hashes. */
function bodyDigest(
  body: JsonObject | null,
  secrets: ReadonlySet<string>,
  target: TargetConfig,
): string | null {
  if (body === null) return null;
  const keyed = secrets.size === 0 ? body : keyedSecrets(body, secrets, hmacKeyOf(target));
  return `sha256:${createHash('sha256').update(canonicalJson(keyed)).digest('hex')}`;
}

/**
 * The fingerprint: SHA-256 of the plan format, the policy and the write
 * records sorted by address. Documents and live objects that produce no write
 * do not enter it, so an edit elsewhere in the estate (another account, an
 * ignored field of an unchanged document) or another PR's disjoint writes
 * leave it unchanged (INVARIANTS.md 11). Returns the sorted records too.
 */
export function sealWrites(
  writes: readonly WriteRecord[],
  policy: PlanPolicy,
): { fingerprint: string; writes: WriteRecord[]; policy: PlanPolicy } {
  const sorted = [...writes].sort((a, b) =>
    a.address < b.address ? -1 : a.address > b.address ? 1 : 0,
  );
  const fingerprint = createHash('sha256')
    .update(
      canonicalJson({ v: PLAN_FORMAT_VERSION, policy, writes: sorted } as unknown as JsonObject),
    )
    .digest('hex');
  return { fingerprint, writes: sorted, policy };
}

/** `"acme-main" (account 3f2a…, target kazoo-prod)` from an address (target/account/kind/name). */
function labelOf(address: string): string {
  const parts = address.split('/');
  const [target, account] = parts;
  // Every kind is provider/name (kazoo/connectivity), so the name starts at the fifth part.
  return `"${parts.slice(4).join('/') || address}" (account ${account ?? '?'}, target ${target ?? '?'})`;
}

/**
 * Why `fresh` makes other writes than the reviewed `reviewed` records: each
 * write added, dropped or changed, and for a changed one whether the live
 * revision it is based on moved or the body to send changed. Empty when the
 * two agree write for write (then the policy alone differs, said last).
 */
export function compareWrites(
  reviewed: { readonly writes: readonly WriteRecord[]; readonly policy?: PlanPolicy | undefined },
  fresh: { readonly writes?: readonly WriteRecord[]; readonly policy?: PlanPolicy },
): string[] {
  const reasons: string[] = [];
  const now = new Map((fresh.writes ?? []).map((w) => [w.address, w]));
  const then = new Map(reviewed.writes.map((w) => [w.address, w]));
  for (const [address, old] of then) {
    const cur = now.get(address);
    if (!cur) {
      reasons.push(`${labelOf(address)}: the reviewed ${old.action} is no longer needed (dropped)`);
      continue;
    }
    const why: string[] = [];
    if (old.action !== cur.action) why.push(`planned ${old.action}, now ${cur.action}`);
    if (old.id !== cur.id)
      why.push(`it now targets id ${cur.id ?? 'none'} (was ${old.id ?? 'none'})`);
    if (old.base !== cur.base)
      why.push(
        `the live object changed since the review (revision ${old.base ?? 'none'} → ${cur.base ?? 'none'})`,
      );
    if (old.body !== cur.body)
      why.push(
        old.base === cur.base
          ? 'the desired body changed (the document or a secret value it uses)'
          : 'the body to send changed as well',
      );
    if (why.length > 0)
      reasons.push(`${labelOf(address)}: ${cur.action} changed: ${why.join('; ')}`);
  }
  for (const [address, cur] of now)
    if (!then.has(address))
      reasons.push(`${labelOf(address)}: a ${cur.action} that was not reviewed (added)`);
  const p = reviewed.policy;
  const q = fresh.policy;
  if (
    p &&
    q &&
    (p.prune !== q.prune || p.max_deletes !== q.max_deletes || p.max_changes !== q.max_changes)
  )
    reasons.push(
      `the policy changed (prune ${p.prune} → ${q.prune}, max_deletes ${p.max_deletes} → ${q.max_deletes}, max_changes ${p.max_changes} → ${q.max_changes})`,
    );
  return reasons;
}
