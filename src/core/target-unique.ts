/**
 * Values that may appear in only one place of a whole target, across all its
 * accounts (Kazoo: a DID, INVARIANTS.md 2: the number manager assigns a number
 * to one account, so a second document never routes it; kazoo-api.md §7.1, §12).
 * Pure.
 *
 * The checks inside one account (Provider.checkAll) run wherever the account's
 * documents are (one thread each, engine/check-threads.ts). This check needs
 * every document of the target, so each holder of documents builds a compact
 * table of its values (`uniqueTableOf`: numbers in typed arrays that move
 * between threads without a copy, sorted by the holder, in parallel) and one
 * pass over all the tables (`findTargetDuplicates`) finds the values that occur
 * more than once: a walk over the sorted arrays, O(values), and only the rare
 * repeated values are looked at again.
 *
 * What it reports, so that any split of whole accounts into holders gives the
 * same diagnostics: for each value, the first use in each account (in file
 * order) is compared with the first use in the whole target, and every account
 * other than that first one gets one error at its first use. Later uses inside
 * one account are `checkAll`'s (one error each, against the account's first).
 */
import type { CheckedDocument, Diagnostic } from './model.ts';
import type { Provider } from '../providers/types.ts';

/** One use of a value: a document and the part of it (Kazoo: the server index). */
export interface UniqueUse {
  readonly doc: CheckedDocument;
  readonly part: number;
}

/** A document a table refers to, and its place in file order. */
export interface UniqueDoc<D = CheckedDocument> {
  /** File index × 2^20 + document index in the file: the order of the single-thread check. */
  readonly order: number;
  readonly doc: D;
}

/** The values of one (kind, target) in one table. */
export interface UniqueColumn {
  readonly kind: string;
  readonly target: string;
  /** Values that encode as numbers (encodeValue), one per use. */
  readonly nums: Float64Array;
  /** `nums`, sorted (by the holder, so threads sort their own in parallel). */
  readonly sorted: Float64Array;
  /** Per use in `nums`: [document (index into the table's docs), part]. */
  readonly refs: Int32Array;
  /** Uses of values that do not encode as numbers (rare: malformed DIDs). */
  readonly odd: { readonly value: string; readonly doc: number; readonly part: number }[];
}

export interface UniqueTable<D = CheckedDocument> {
  readonly docs: UniqueDoc<D>[];
  readonly columns: UniqueColumn[];
}

/** The order key of document `index` of file `file`. */
export function orderOf(file: number, index: number): number {
  return file * 1_048_576 + index;
}

/**
 * A value as a number when it is "+" and up to 15 digits, the first not 0
 * (positive), or the same without "+" (negative); NaN otherwise. Both fit a
 * double exactly (< 2^53), and the map is one-to-one, so equal numbers are
 * equal values.
 */
export function encodeValue(s: string): number {
  const plus = s.charCodeAt(0) === 43;
  const start = plus ? 1 : 0;
  const len = s.length - start;
  if (len < 1 || len > 15) return NaN;
  let n = 0;
  for (let i = start; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9 || (i === start && d === 0)) return NaN;
    n = n * 10 + d;
  }
  return plus ? n : -n;
}

export function decodeValue(n: number): string {
  return n > 0 ? `+${n}` : String(-n);
}

/** The table of a holder's documents (whole accounts), in their order. */
export function uniqueTableOf<
  D extends { readonly key: CheckedDocument['key']; readonly facts: unknown },
>(docs: readonly UniqueDoc<D>[], providers: ReadonlyMap<string, Provider>): UniqueTable<D> {
  // Two passes: count the uses of each column, then fill typed arrays of that size
  // (no growing arrays of doubles: a holder may have every DID of the estate).
  const building = new Map<
    string,
    {
      kind: string;
      target: string;
      size: number;
      parts: { d: number; values: readonly (readonly string[])[] }[];
    }
  >();
  docs.forEach(({ doc }, d) => {
    const provider = providers.get(doc.key.kind);
    if (!provider?.uniqueInTarget) return;
    const k = `${doc.key.kind}\u0000${doc.key.target}`;
    let col = building.get(k);
    if (!col)
      building.set(k, (col = { kind: doc.key.kind, target: doc.key.target, size: 0, parts: [] }));
    const values = provider.uniqueInTarget(doc.facts);
    for (const part of values) col.size += part.length;
    col.parts.push({ d, values });
  });
  const columns = [...building.values()].map((c): UniqueColumn => {
    const nums = new Float64Array(c.size);
    const refs = new Int32Array(2 * c.size);
    const odd: { value: string; doc: number; part: number }[] = [];
    let i = 0;
    for (const { d, values } of c.parts)
      for (let part = 0; part < values.length; part++)
        for (const value of values[part] as readonly string[]) {
          const n = encodeValue(value);
          if (Number.isNaN(n)) odd.push({ value, doc: d, part });
          else {
            nums[i] = n;
            refs[2 * i] = d;
            refs[2 * i + 1] = part;
            i++;
          }
        }
    const used = i === c.size ? nums : nums.slice(0, i);
    return {
      kind: c.kind,
      target: c.target,
      nums: used,
      sorted: used.slice().sort(),
      refs: i === c.size ? refs : refs.slice(0, 2 * i),
      odd,
    };
  });
  return { docs: [...docs], columns };
}

/** The buffers of a table, to transfer to another thread rather than copy. */
export function tableBuffers(table: UniqueTable<unknown>): ArrayBuffer[] {
  return table.columns.flatMap(
    (c) => [c.nums.buffer, c.sorted.buffer, c.refs.buffer] as ArrayBuffer[],
  );
}

/**
 * The errors for values used in more than one account of a target, over tables
 * of disjoint groups of whole accounts.
 */
export function findTargetDuplicates(
  tables: readonly UniqueTable[],
  providers: ReadonlyMap<string, Provider>,
): Diagnostic[] {
  const groups = new Map<string, { table: UniqueTable; column: UniqueColumn }[]>();
  for (const table of tables)
    for (const column of table.columns) {
      const k = `${column.kind}\u0000${column.target}`;
      const list = groups.get(k);
      if (list) list.push({ table, column });
      else groups.set(k, [{ table, column }]);
    }
  const out: Diagnostic[] = [];
  for (const members of groups.values()) {
    const provider = providers.get(members[0]?.column.kind ?? '');
    if (!provider?.duplicateInTarget) continue;
    const repeated = repeatedNumbers(members.map((m) => m.column.sorted));
    const uses = new Map<string, { order: number; use: UniqueUse }[]>();
    const add = (value: string, table: UniqueTable, d: number, part: number): void => {
      const doc = table.docs[d] as UniqueDoc;
      const u = { order: doc.order, use: { doc: doc.doc, part } };
      const list = uses.get(value);
      if (list) list.push(u);
      else uses.set(value, [u]);
    };
    const oddCount = new Map<string, number>();
    for (const { column } of members)
      for (const o of column.odd) oddCount.set(o.value, (oddCount.get(o.value) ?? 0) + 1);
    for (const { table, column } of members) {
      if (repeated.size > 0)
        for (let i = 0; i < column.nums.length; i++) {
          const n = column.nums[i] as number;
          if (repeated.has(n))
            add(
              decodeValue(n),
              table,
              column.refs[2 * i] as number,
              column.refs[2 * i + 1] as number,
            );
        }
      for (const o of column.odd)
        if ((oddCount.get(o.value) ?? 0) > 1) add(o.value, table, o.doc, o.part);
    }
    for (const [value, list] of uses) {
      list.sort((a, b) => a.order - b.order || a.use.part - b.use.part);
      const first = list[0] as (typeof list)[number];
      const accounts = new Set([first.use.doc.key.account]);
      for (const u of list) {
        if (accounts.has(u.use.doc.key.account)) continue;
        accounts.add(u.use.doc.key.account);
        out.push(provider.duplicateInTarget(value, first.use, u.use));
      }
    }
  }
  return out;
}

/**
 * Values that occur more than once over sorted arrays (within one or across
 * them): one walk over all of them at once, reading each in order (a Map or a
 * hash set of the estate's 775,000 DIDs costs several times as much, in cache
 * misses).
 */
function repeatedNumbers(sorted: readonly Float64Array[]): Set<number> {
  const out = new Set<number>();
  for (const a of sorted)
    for (let i = 1; i < a.length; i++) if (a[i] === a[i - 1]) out.add(a[i] as number);
  const lists = sorted.filter((a) => a.length > 0);
  if (lists.length < 2) return out;
  const at = new Array<number>(lists.length).fill(0);
  for (;;) {
    let min = Infinity;
    for (let k = 0; k < lists.length; k++) {
      const a = lists[k] as Float64Array;
      const i = at[k] as number;
      if (i < a.length && (a[i] as number) < min) min = a[i] as number;
    }
    if (min === Infinity) return out;
    let holders = 0;
    for (let k = 0; k < lists.length; k++) {
      const a = lists[k] as Float64Array;
      let i = at[k] as number;
      if (i >= a.length || a[i] !== min) continue;
      holders++;
      while (i < a.length && a[i] === min) i++;
      at[k] = i;
    }
    if (holders > 1) out.add(min);
  }
}
