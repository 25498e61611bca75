/**
 * The plan in numbers (INVARIANTS.md 5): for every change, which numbers start
 * routing, stop routing, move from one document or server to another, or have
 * their own options changed. Pure; derived from the masked bodies of a plan's
 * changes, so it can hold no secret the plan's other output does not.
 *
 * A provider says where the numbers of a body are (Provider.numbers); this
 * module knows nothing of Kazoo's layout.
 */
import {
  deepEqual,
  escapePointerToken,
  isObject,
  type JsonObject,
  type JsonValue,
} from './json.ts';
import type { DocumentKey } from './model.ts';

/** One number in one body, as its provider finds it. */
export interface NumberSite {
  /** The number, as the body keys it (Kazoo: the DID key, +E.164). */
  readonly number: string;
  /** JSON Pointer of the number's own entry in the body (Kazoo: /servers/0/DIDs/+1…). */
  readonly pointer: string;
  /** The part of the document that routes it, as a reviewer names it (Kazoo: the server's name, else servers[i]). */
  readonly part: string;
  /**
   * Identity of that part, comparable across the two sides of a change (Kazoo:
   * the server's name, else its SIP user or IP, else its index), so that
   * servers that only changed places are not read as numbers moving.
   */
  readonly partKey: string;
  /** The number's own options, as the body has them. */
  readonly options: JsonValue;
  /** What the server fills into a number's options by itself (Kazoo: force_outbound false). */
  readonly defaults: JsonObject;
}

/** Where a number is routed: which target, account, document and server. */
export interface NumberPlace {
  readonly target: string;
  readonly account: string;
  /** The document's name. */
  readonly document: string;
  /** The server (or other part) by name, e.g. "pbx-hq-1", or "servers[0]" when it has none. */
  readonly server: string;
  /** JSON Pointer of the number's entry inside the document's body. */
  readonly pointer: string;
}

/** One option of a number that a change sets, clears or changes (`before`/`after` absent: not set). */
export interface NumberFieldChange {
  /** JSON Pointer inside the number's options, e.g. /failover/e164. */
  readonly field: string;
  readonly before?: JsonValue;
  readonly after?: JsonValue;
}

export type NumberAction = 'route' | 'unroute' | 'move' | 'change';

export interface NumberEntry {
  readonly did: string;
  readonly action: NumberAction;
  /** Where it was routed (unroute, move, change), else null. */
  readonly from: NumberPlace | null;
  /** Where it will be routed (route, move, change), else null. */
  readonly to: NumberPlace | null;
  /**
   * Options the change sets (route: those that are not the server's defaults),
   * or changes (move, change). Absent when there are none.
   */
  readonly changes?: NumberFieldChange[];
}

/** What the view needs of one change: its identity, its action, and the numbers on each side. */
export interface NumberedChange {
  readonly key: DocumentKey;
  readonly action: 'create' | 'update' | 'delete' | 'noop';
  /** Numbers of the live body (update, delete); empty for a create. */
  readonly before: readonly NumberSite[];
  /** Numbers of the desired body (create, update); empty for a delete. */
  readonly after: readonly NumberSite[];
}

const ORDER: Record<NumberAction, number> = { route: 0, unroute: 1, move: 2, change: 3 };

interface Side {
  readonly place: NumberPlace;
  readonly site: NumberSite;
}

/**
 * What of a change the numbers view needs: the sites that differ between its
 * two sides (a number on one side only, or on another part, or with other
 * options). `numbersOf` of the result equals `numbersOf` of the change, and a
 * change that rewrites one trunk of a document with hundreds of DIDs keeps a
 * handful of sites instead of all of them (a plan keeps this per change).
 */
export function numberDelta(c: NumberedChange): NumberedChange {
  if (c.action === 'noop' || c.before.length === 0 || c.after.length === 0) return c;
  const has = new Map(c.after.map((s) => [s.number, s]));
  const same = new Set<string>();
  for (const b of c.before) {
    const a = has.get(b.number);
    if (
      a &&
      a.partKey === b.partKey &&
      (a.options === b.options || deepEqual(a.options, b.options))
    )
      same.add(b.number);
  }
  if (same.size === 0) return c;
  return {
    key: c.key,
    action: c.action,
    before: c.before.filter((s) => !same.has(s.number)),
    after: c.after.filter((s) => !same.has(s.number)),
  };
}

/**
 * The numbers view of a plan's changes. A number that leaves one change and
 * enters another of the same target (another document, account or server) is
 * one move, not an unroute and a route; each number a change routes or
 * unroutes is counted exactly once.
 */
export function numbersOf(changes: Iterable<NumberedChange>): NumberEntry[] {
  const out: NumberEntry[] = [];
  // Routes and unroutes of each (target, number) across changes, paired into moves below.
  const routes = new Map<string, Side[]>();
  const unroutes = new Map<string, Side[]>();
  const push = (m: Map<string, Side[]>, k: string, s: Side): void => {
    const list = m.get(k);
    if (list) list.push(s);
    else m.set(k, [s]);
  };
  for (const c of changes) {
    if (c.action === 'noop' || (c.before.length === 0 && c.after.length === 0)) continue;
    const had = new Map(c.before.map((s) => [s.number, s]));
    const has = new Map(c.after.map((s) => [s.number, s]));
    for (const [number, b] of had) {
      const a = has.get(number);
      const from = { place: placeOf(c.key, b), site: b };
      if (!a) {
        push(unroutes, `${c.key.target}\u0000${number}`, from);
        continue;
      }
      // Most numbers of a changed document did not change: the desired side shares
      // the live side's objects where they agree (core/plan.ts), so this is cheap.
      if (a.partKey === b.partKey && (a.options === b.options || deepEqual(a.options, b.options)))
        continue;
      const fields = optionChanges(b, a);
      if (a.partKey !== b.partKey)
        out.push(entry(number, 'move', from.place, placeOf(c.key, a), fields));
      else if (fields.length > 0)
        out.push(entry(number, 'change', from.place, placeOf(c.key, a), fields));
    }
    for (const [number, a] of has)
      if (!had.has(number))
        push(routes, `${c.key.target}\u0000${number}`, { place: placeOf(c.key, a), site: a });
  }
  // Which unroute pairs with which route does not depend on the order changes came in.
  const byPlace = (x: Side, y: Side): number =>
    placeText(x.place).localeCompare(placeText(y.place));
  for (const list of unroutes.values()) list.sort(byPlace);
  for (const [k, tos] of routes) {
    tos.sort(byPlace);
    const froms = unroutes.get(k) ?? [];
    const number = k.slice(k.indexOf('\u0000') + 1);
    tos.forEach((to, i) => {
      const from = froms[i];
      if (from)
        out.push(entry(number, 'move', from.place, to.place, optionChanges(from.site, to.site)));
      else out.push(entry(number, 'route', null, to.place, optionChanges(undefined, to.site)));
    });
    unroutes.set(k, froms.slice(tos.length));
  }
  for (const [k, froms] of unroutes) {
    const number = k.slice(k.indexOf('\u0000') + 1);
    for (const from of froms) out.push(entry(number, 'unroute', from.place, null, []));
  }
  return sortNumbers(out);
}

/**
 * Pairs, across lists made separately (the shards of `report merge`), a
 * number's unroute in one with its route in another of the same target into
 * one move. The options' change is not known then, so the move lists only what
 * the route set.
 */
export function pairNumbers(entries: readonly NumberEntry[]): NumberEntry[] {
  const routes = new Map<string, NumberEntry[]>();
  for (const e of entries)
    if (e.action === 'route' && e.to) {
      const k = `${e.to.target}\u0000${e.did}`;
      routes.set(k, [...(routes.get(k) ?? []), e]);
    }
  const used = new Set<NumberEntry>();
  const out: NumberEntry[] = [];
  for (const e of entries) {
    if (e.action !== 'unroute' || !e.from) continue;
    const to = routes.get(`${e.from.target}\u0000${e.did}`)?.find((r) => !used.has(r));
    if (!to?.to) continue;
    used.add(to);
    used.add(e);
    out.push(entry(e.did, 'move', e.from, to.to, to.changes ?? []));
  }
  for (const e of entries) if (!used.has(e)) out.push(e);
  return sortNumbers(out);
}

export interface NumberCounts {
  readonly route: number;
  readonly unroute: number;
  readonly move: number;
  readonly change: number;
}

export function countNumbers(entries: readonly NumberEntry[]): NumberCounts {
  const n = { route: 0, unroute: 0, move: 0, change: 0 };
  for (const e of entries) n[e.action]++;
  return n;
}

function sortNumbers(list: NumberEntry[]): NumberEntry[] {
  return list.sort(
    (a, b) =>
      ORDER[a.action] - ORDER[b.action] ||
      (a.did < b.did ? -1 : a.did > b.did ? 1 : 0) ||
      placeText(a.to ?? a.from).localeCompare(placeText(b.to ?? b.from)),
  );
}

function placeText(p: NumberPlace | null): string {
  return p ? `${p.account}/${p.document}${p.pointer}` : '';
}

function entry(
  did: string,
  action: NumberAction,
  from: NumberPlace | null,
  to: NumberPlace | null,
  changes: NumberFieldChange[],
): NumberEntry {
  return { did, action, from, to, ...(changes.length > 0 ? { changes } : {}) };
}

function placeOf(key: DocumentKey, site: NumberSite): NumberPlace {
  return {
    target: key.target,
    account: key.account,
    document: key.name,
    server: site.part,
    pointer: site.pointer,
  };
}

/**
 * The options that differ between two sides (`before` undefined: a new number).
 * A value the server fills in by itself is no change when the other side lacks
 * it: a new number's `force_outbound: false`, or a live document that was
 * written without it.
 */
function optionChanges(before: NumberSite | undefined, after: NumberSite): NumberFieldChange[] {
  const out: NumberFieldChange[] = [];
  const b = new Map(optionLeaves(before?.options));
  const a = new Map(optionLeaves(after.options));
  const isDefault = (field: string, v: JsonValue | undefined, site: NumberSite | undefined) =>
    v !== undefined && site !== undefined && deepEqual(leafAt(site.defaults, field), v);
  for (const [field, av] of a) {
    const bv = b.get(field);
    if (deepEqual(av, bv)) continue;
    if (bv === undefined && isDefault(field, av, after)) continue;
    out.push({ field, ...(bv !== undefined ? { before: bv } : {}), after: av });
  }
  for (const [field, bv] of b) {
    if (a.has(field)) continue;
    if (before && isDefault(field, bv, before)) continue;
    out.push({ field, before: bv });
  }
  return out.sort((x, y) => (x.field < y.field ? -1 : x.field > y.field ? 1 : 0));
}

/** Leaf (pointer, value) pairs of a number's options; empty objects and arrays count as leaves. */
function optionLeaves(
  value: JsonValue | undefined,
  path = '',
  out: [string, JsonValue][] = [],
): [string, JsonValue][] {
  if (value === undefined) return out;
  if (isObject(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value))
      optionLeaves(v, `${path}/${escapePointerToken(k)}`, out);
  } else if (path !== '') out.push([path, value]);
  return out;
}

function leafAt(defaults: JsonObject, field: string): JsonValue | undefined {
  let cur: JsonValue | undefined = defaults;
  for (const t of field.split('/').slice(1)) {
    const k = t.replaceAll('~1', '/').replaceAll('~0', '~');
    cur = isObject(cur) ? cur[k] : undefined;
  }
  return cur;
}
