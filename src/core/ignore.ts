/**
 * `ignore` pointers that follow their owner (INVARIANTS.md item 9). A plain
 * JSON Pointer addresses array items by index, so `/servers/0/…` protects
 * whatever server happens to be first: insert a server before it and the
 * ignored value would be carried onto the wrong server. Two rules keep the
 * value with its owner:
 *
 * - an index pointer under an array the provider can tell items apart in
 *   (Kazoo `servers`: by `name`, else `auth/auth_user`, else `auth/ip`) is an
 *   error when the live and desired items at that index are not the same item;
 *   never a guess, since carrying it by name once would silently drop the
 *   protection on the next plan;
 * - an identity pointer, `/servers[name=pbx-hq-1]/options/hunt_account_id`,
 *   is resolved in each body separately, so it protects the same server's
 *   field whatever the order.
 *
 * Pure.
 */
import { buildPointer, getAtPointer, parsePointer, type JsonValue } from './json.ts';

/** Identity fields per array pointer: e.g. { "/servers": { name: "/name", ip: "/auth/ip" } }. */
export type Identities = Readonly<Record<string, Readonly<Record<string, string>>>>;

const SELECTOR = /^(.+)\[([A-Za-z_][A-Za-z0-9_]*)=([^\]]*)\]$/;

interface Parsed {
  /** Tokens before the array item. */
  readonly array: readonly string[];
  /** The item: an index or an identity selector. */
  readonly item: { readonly index: number } | { readonly field: string; readonly value: string };
  /** Tokens after the item. */
  readonly rest: readonly string[];
}

/** The first token naming an array item by index or by `[field=value]`, if any. */
function parse(pointer: string, identities: Identities): Parsed | undefined {
  const tokens = parsePointer(pointer);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    const m = SELECTOR.exec(t);
    if (m) {
      return {
        array: [...tokens.slice(0, i), m[1] as string],
        item: { field: m[2] as string, value: m[3] as string },
        rest: tokens.slice(i + 1),
      };
    }
    if (/^\d+$/.test(t) && identities[buildPointer(tokens.slice(0, i))] !== undefined) {
      return { array: tokens.slice(0, i), item: { index: Number(t) }, rest: tokens.slice(i + 1) };
    }
  }
  return undefined;
}

/** True when `pointer` addresses an array item by `[field=value]`. */
export function isIdentityPointer(pointer: string): boolean {
  return parsePointer(pointer).some((t) => SELECTOR.test(t));
}

/** The identity of an item as "field=value" (first field it has, in order of preference). */
export function itemIdentity(
  item: JsonValue | undefined,
  fields: Readonly<Record<string, string>>,
): string | undefined {
  if (item === undefined) return undefined;
  for (const [field, pointer] of Object.entries(fields)) {
    const v = getAtPointer(item, pointer);
    if (typeof v === 'string' && v !== '') return `${field}=${v}`;
  }
  return undefined;
}

/**
 * Whether two items are the same: compared on the first identity field both
 * have; undefined when they share none (connops cannot tell).
 */
function sameItem(
  a: JsonValue,
  b: JsonValue,
  fields: Readonly<Record<string, string>>,
): boolean | undefined {
  for (const pointer of Object.values(fields)) {
    const x = getAtPointer(a, pointer);
    const y = getAtPointer(b, pointer);
    if (typeof x === 'string' && x !== '' && typeof y === 'string' && y !== '') return x === y;
  }
  return undefined;
}

/**
 * `pointer` as a plain JSON Pointer into `body`: an identity selector becomes
 * the index of the one item that has it. Undefined when no item has it;
 * a string message when the selector is unusable (unknown field, several items).
 */
export function resolveIn(
  pointer: string,
  body: JsonValue,
  identities: Identities,
): { pointer: string } | { missing: true } | { error: string } {
  const p = parse(pointer, identities);
  if (!p || 'index' in p.item) return { pointer };
  const arrayPointer = buildPointer(p.array);
  const fields = identities[arrayPointer];
  const field = p.item.field;
  const fieldPointer = fields?.[field];
  if (fields === undefined || fieldPointer === undefined) {
    const known = fields ? Object.keys(fields).join(', ') : '';
    return {
      error:
        fields === undefined
          ? `items of ${arrayPointer} cannot be addressed by identity; use an index`
          : `${arrayPointer} items are addressed by ${known}, not "${field}"`,
    };
  }
  const items = getAtPointer(body, arrayPointer);
  const want = p.item.value;
  const at: number[] = [];
  if (Array.isArray(items))
    items.forEach((it, i) => {
      if (getAtPointer(it, fieldPointer) === want) at.push(i);
    });
  if (at.length > 1)
    return { error: `${at.length} items of ${arrayPointer} have ${field} "${want}"` };
  if (at.length === 0) return { missing: true };
  return { pointer: buildPointer([...p.array, String(at[0]), ...p.rest]) };
}

/** The ignore pointers as plain pointers into one body (selectors resolved; unmatched ones left out). */
export function ignoredIn(
  ignore: readonly string[],
  body: JsonValue,
  identities: Identities,
): string[] {
  const out: string[] = [];
  for (const p of ignore) {
    const r = resolveIn(p, body, identities);
    if ('pointer' in r) out.push(r.pointer);
  }
  return out;
}

/** One ignore pointer resolved on both sides (undefined where that side has no such item). */
export interface IgnorePair {
  readonly live: string | undefined;
  readonly desired: string | undefined;
}

/**
 * Resolves every ignore pointer in the live and the desired body, and checks
 * that an index pointer's item is the same item on both sides. Returns the
 * pairs, or the problems (each a sentence naming both items and the pointer to
 * write instead).
 */
export function pairIgnored(
  ignore: readonly string[],
  live: JsonValue,
  desired: JsonValue,
  identities: Identities,
): { pairs: IgnorePair[]; problems: string[] } {
  const pairs: IgnorePair[] = [];
  const problems: string[] = [];
  for (const pointer of ignore) {
    const p = parse(pointer, identities);
    if (p && 'index' in p.item) {
      const arrayPointer = buildPointer(p.array);
      const fields = identities[arrayPointer] ?? {};
      const l = getAtPointer(live, buildPointer([...p.array, String(p.item.index)]));
      const d = getAtPointer(desired, buildPointer([...p.array, String(p.item.index)]));
      if (l !== undefined && d !== undefined && sameItem(l, d, fields) !== true) {
        const li = itemIdentity(l, fields);
        const di = itemIdentity(d, fields);
        const rewrite = (id: string | undefined) =>
          id === undefined ? undefined : `${arrayPointer}[${id}]${buildPointer(p.rest)}`;
        const none = `an item without ${Object.keys(fields).join(', ')}`;
        const liveForm = rewrite(li);
        problems.push(
          `ignore ${pointer}: item ${p.item.index} of ${arrayPointer} is ${di ? `"${di}"` : none} in the document but ${li ? `"${li}"` : none} on the server, so the ignored value would move to another item. ` +
            (liveForm
              ? `Write ${liveForm} to keep protecting the field of the item that has it now`
              : `Give the item a ${Object.keys(fields).join(' or ')} and address it as ${arrayPointer}[${Object.keys(fields)[0] ?? 'name'}=…]/…`) +
            (di && di !== li ? ` (or ${rewrite(di) ?? ''} for the document's item)` : '') +
            '; an index pointer follows the position, not the item.',
        );
        continue;
      }
    }
    const l = resolveIn(pointer, live, identities);
    const d = resolveIn(pointer, desired, identities);
    const err = 'error' in l ? l.error : 'error' in d ? d.error : undefined;
    if (err !== undefined) {
      problems.push(`ignore ${pointer}: ${err}`);
      continue;
    }
    pairs.push({
      live: 'pointer' in l ? l.pointer : undefined,
      desired: 'pointer' in d ? d.pointer : undefined,
    });
  }
  return { pairs, problems };
}
