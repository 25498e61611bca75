/**
 * Renders a plan as text (per-field before → after, optional ANSI colour),
 * Markdown (PR comments and job summaries, kept under GitHub's 64 KiB) and
 * versioned JSON. All three come from the same Plan; none contains a secret
 * value (masked bodies only).
 */
import { escapeFenced, escapeMarkdown } from './escape.ts';
import { getAtPointer, isObject, parsePointer, type JsonObject, type JsonValue } from './json.ts';
import type { PatchOp } from './json-patch.ts';
import { keyString } from './model.ts';
import {
  countNumbers,
  type NumberEntry,
  type NumberFieldChange,
  type NumberPlace,
} from './numbers.ts';
import {
  compareWrites,
  isComplete,
  type Plan,
  type PlanChange,
  type PlanPolicy,
  type WriteRecord,
} from './plan.ts';

/** GitHub rejects comment bodies over 65 536 characters; keep a margin for the marker. */
export const MARKDOWN_LIMIT = 60_000;

const ANSI = {
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  reset: '\x1b[0m',
};
const SYMBOL: Record<PlanChange['action'], string> = {
  create: '+',
  update: '~',
  delete: '-',
  noop: '=',
};

/**
 * `INCOMPLETE: …` when part of the live state could not be read or planned:
 * the line every output leads with, so an incomplete plan is never mistaken
 * for a complete one (INVARIANTS.md 10).
 */
export function incompleteLine(plan: Plan): string | undefined {
  const reasons = plan.incomplete ?? [];
  const n = reasons.length;
  if (n === 0) return undefined;
  return `INCOMPLETE: this plan does not cover everything (${n} problem${n === 1 ? '' : 's'}: ${reasons.slice(0, 3).join('; ')}${n > 3 ? `; and ${n - 3} more` : ''}). It cannot be applied; fix the cause and plan again.`;
}

/** `Plan: 3 to create, 5 to update, 0 to delete; 992 unchanged.` */
export function summaryLine(plan: Plan): string {
  const s = plan.summary;
  if (!isComplete(plan))
    return `INCOMPLETE plan: ${s.create} to create, ${s.update} to update, ${s.delete} to delete in what could be read; ${s.noop} unchanged.`;
  if (s.create + s.update + s.delete === 0)
    return `No changes: ${s.noop} document${s.noop === 1 ? '' : 's'} up to date.`;
  return `Plan: ${s.create} to create, ${s.update} to update, ${s.delete} to delete; ${s.noop} unchanged.`;
}

function short(v: JsonValue | undefined): string {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** Leaf (pointer, value) pairs of a value; empty objects and arrays count as leaves. */
function leaves(
  path: string,
  value: JsonValue | undefined,
  out: [string, JsonValue | undefined][] = [],
): [string, JsonValue | undefined][] {
  if (Array.isArray(value) && value.length > 0)
    value.forEach((v, i) => leaves(`${path}/${i}`, v, out));
  else if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.keys(value).length > 0
  ) {
    for (const [k, v] of Object.entries(value))
      leaves(`${path}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`, v, out);
  } else out.push([path, value]);
  return out;
}

/**
 * One line per changed field: `~ path: "old" → "new"`, `+ path: value`,
 * `- path (was value)`. Added or removed objects are expanded to their leaves,
 * so a new server reads field by field rather than as one JSON blob. Paths
 * name array items by their `name` where they have one
 * (`servers[pbx-hq-standby].options.progress_timeout`), else by index
 * (`servers[0]…`). Fields under a pointer in `covered` (the numbers the
 * numbers view already lists) are left out.
 */
export function opLines(change: PlanChange, covered: ReadonlySet<string> = new Set()): string[] {
  const before = change.beforeMasked ?? {};
  const after = change.afterMasked ?? {};
  const lines: string[] = [];
  const hidden = (p: string): boolean => covered.size > 0 && isCovered(p, covered);
  const add = (p: string, v: JsonValue | undefined): void => {
    if (!hidden(p)) lines.push(`+ ${displayPath(p, after)}: ${short(v)}`);
  };
  const remove = (p: string, v: JsonValue | undefined): void => {
    if (!hidden(p)) lines.push(`- ${displayPath(p, before)} (was ${short(v)})`);
  };
  for (const op of change.ops) {
    if (op.op === 'add') for (const [p, v] of leaves(op.path, op.value)) add(p, v);
    else if (op.op === 'remove')
      for (const [p, v] of leaves(op.path, getAtPointer(before, op.path))) remove(p, v);
    else {
      const old = getAtPointer(before, op.path);
      const scalar = (v: JsonValue | undefined): boolean => v === null || typeof v !== 'object';
      if (scalar(old) && scalar(op.value)) {
        if (!hidden(op.path))
          lines.push(`~ ${displayPath(op.path, before)}: ${short(old)} → ${short(op.value)}`);
      } else {
        for (const [p, v] of leaves(op.path, old)) remove(p, v);
        for (const [p, v] of leaves(op.path, op.value)) add(p, v);
      }
    }
  }
  return lines;
}

/** True when `pointer` is one of `covered` or lies under one. */
function isCovered(pointer: string, covered: ReadonlySet<string>): boolean {
  for (let p = pointer; p !== ''; p = p.slice(0, p.lastIndexOf('/')))
    if (covered.has(p)) return true;
  return false;
}

/**
 * A JSON Pointer as a reviewer reads it: `servers[pbx-hq-1].options.delay`.
 * An array item is named by its `name` when it has one that no other item of
 * the array has (looked up in `body`), else by its index.
 */
export function displayPath(pointer: string, body: JsonValue): string {
  let out = '';
  let cur: JsonValue | undefined = body;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(cur)) {
      const item: JsonValue | undefined = cur[Number(token)];
      const name = isObject(item) ? item['name'] : undefined;
      const unique =
        typeof name === 'string' &&
        cur.filter((x) => isObject(x) && x['name'] === name).length === 1;
      out += unique ? `[${/^[\w.:@+-]+$/.test(name) ? name : JSON.stringify(name)}]` : `[${token}]`;
      cur = item;
    } else {
      out += /^[\w:@+-]+$/.test(token)
        ? `${out === '' ? '' : '.'}${token}`
        : `[${JSON.stringify(token)}]`;
      cur = isObject(cur) ? cur[token] : undefined;
    }
  }
  return out === '' ? '(the whole document)' : out;
}

/** What the numbers view covers of one document: the numbers' pointers, and the numbers. */
interface Covered {
  readonly pointers: Set<string>;
  readonly numbers: Set<string>;
}

/** What the numbers view covers, per document address (target/account/kind/name). */
function coveredByNumbers(plan: Plan): Map<string, Covered> {
  const out = new Map<string, Covered>();
  const docs = new Map<string, string[]>();
  for (const c of plan.changes) {
    const k = `${c.key.target}\u0000${c.key.account}\u0000${c.key.name}`;
    docs.set(k, [...(docs.get(k) ?? []), keyString(c.key)]);
  }
  const cover = (did: string, p: NumberPlace | null): void => {
    if (!p) return;
    for (const address of docs.get(`${p.target}\u0000${p.account}\u0000${p.document}`) ?? []) {
      let c = out.get(address);
      if (!c) out.set(address, (c = { pointers: new Set(), numbers: new Set() }));
      c.pointers.add(p.pointer);
      c.numbers.add(did);
    }
  };
  for (const e of plan.numbers ?? []) {
    cover(e.did, e.from);
    cover(e.did, e.to);
  }
  return out;
}

/** How a plan names accounts: by a name the caller knows, else a short, unambiguous id. */
export type AccountNames = Readonly<Record<string, string>>;

/**
 * Short labels for the plan's accounts: a name from `names` (a hook: neither
 * the config nor the documents name accounts today), else the shortest prefix
 * of at least 8 characters that no other account of the plan shares, with "…".
 */
export function accountLabels(plan: Plan, names: AccountNames = {}): Map<string, string> {
  const ids = new Set<string>();
  for (const c of plan.changes) ids.add(c.key.account);
  for (const e of plan.numbers ?? []) for (const p of [e.from, e.to]) if (p) ids.add(p.account);
  // Sorted, an id shares its longest prefix with a neighbour: O(n log n) for
  // estates of thousands of accounts.
  const all = [...ids].sort();
  const common = (a: string | undefined, b: string): number => {
    let i = 0;
    if (a === undefined) return 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    return i;
  };
  const out = new Map<string, string>();
  all.forEach((id, i) => {
    const named = names[id];
    if (named !== undefined) {
      out.set(id, named);
      return;
    }
    const n = Math.max(8, common(all[i - 1], id) + 1, common(all[i + 1], id) + 1);
    out.set(id, n < id.length ? `${id.slice(0, n)}…` : id);
  });
  return out;
}

/** `Numbers: 1 to route, 1 to unroute, 1 to move, 1 changed.` */
export function numbersLine(entries: readonly NumberEntry[]): string {
  const n = countNumbers(entries);
  return `Numbers: ${n.route} to route, ${n.unroute} to unroute, ${n.move} to move, ${n.change} with changed options.`;
}

/**
 * The numbers view in words, one line per number (a change of options: one per
 * field): `+ route +14155550103 → acme-main / pbx-hq-1`,
 * `- unroute +16175550100 (was alpha-main / pbx-1)`,
 * `~ move +13125550200: bravo-fax / fax-1 → bravo-sbc / sbc-1`,
 * `~ +14155550102 failover e164 +14155550101 → +14155550198 (acme-main / pbx-hq-1)`.
 */
export function numberLines(
  entries: readonly NumberEntry[],
  accounts: ReadonlyMap<string, string> = new Map(),
): string[] {
  const targets = new Set<string>();
  for (const e of entries) for (const p of [e.from, e.to]) if (p) targets.add(p.target);
  const place = (p: NumberPlace): string =>
    `${p.document} / ${p.server}${targets.size > 1 ? ` on ${p.target}` : ''}`;
  const account = (a: string): string => accounts.get(a) ?? a;
  const out: string[] = [];
  for (const e of entries) {
    const set = (e.changes ?? []).map(fieldText).join(', ');
    if (e.action === 'route' && e.to)
      out.push(`+ route ${e.did} → ${place(e.to)}${set ? ` (${set})` : ''}`);
    else if (e.action === 'unroute' && e.from)
      out.push(`- unroute ${e.did} (was ${place(e.from)})`);
    else if (e.action === 'move' && e.from && e.to) {
      const across =
        e.from.account !== e.to.account
          ? ` (account ${account(e.from.account)} → ${account(e.to.account)})`
          : '';
      out.push(
        `~ move ${e.did}: ${place(e.from)} → ${place(e.to)}${across}${set ? `; ${set}` : ''}`,
      );
    } else if (e.action === 'change' && e.to)
      for (const f of e.changes ?? []) out.push(`~ ${e.did} ${fieldText(f)} (${place(e.to)})`);
  }
  return out;
}

/** `failover e164 +14155550101 → +14155550198`; a field set or cleared reads `(none)` on that side. */
function fieldText(f: NumberFieldChange): string {
  const name = parsePointer(f.field).join(' ');
  const v = (x: JsonValue | undefined): string =>
    x === undefined ? '(none)' : typeof x === 'string' && /^[^\s"]+$/.test(x) ? x : short(x);
  if (f.before === undefined && f.after !== undefined) return `${name} ${v(f.after)}`;
  return `${name} ${v(f.before)} → ${v(f.after)}`;
}

function headline(c: PlanChange, accounts: ReadonlyMap<string, string>): string {
  const verb = { create: 'create', update: 'update', delete: 'delete', noop: 'unchanged' }[
    c.action
  ];
  return `${SYMBOL[c.action]} ${verb} ${c.key.kind} "${c.key.name}" (account ${accounts.get(c.key.account) ?? c.key.account}, target ${c.key.target})`;
}

/** Lines of one change's fields, the numbers view's left out, with a pointer to it. */
function fieldLines(c: PlanChange, covered: Covered | undefined): string[] {
  if (!covered) return opLines(c);
  const n = covered.numbers.size;
  return [
    ...opLines(c, covered.pointers),
    `# ${n} number${n === 1 ? '' : 's'} of this document: see Numbers above`,
  ];
}

/** Most number lines the text output shows (the JSON has them all). */
const TEXT_NUMBERS = 1000;
/** Most field lines the text output shows per document. */
const TEXT_FIELDS = 200;

export interface TextOptions {
  readonly color: boolean;
  /** List unchanged documents too. */
  readonly verbose?: boolean;
  /** Names for account ids (see accountLabels). */
  readonly accountNames?: AccountNames;
}

export function renderPlanText(plan: Plan, options: TextOptions): string {
  const paint = (color: keyof typeof ANSI, s: string): string =>
    options.color ? `${ANSI[color]}${s}${ANSI.reset}` : s;
  const colorOf = { create: 'green', update: 'yellow', delete: 'red', noop: 'dim' } as const;
  const lineColor = (line: string) =>
    line.startsWith('+')
      ? 'green'
      : line.startsWith('-')
        ? 'red'
        : line.startsWith('#')
          ? 'dim'
          : 'yellow';
  const accounts = accountLabels(plan, options.accountNames);
  const out: string[] = [];
  const incomplete = incompleteLine(plan);
  if (incomplete) out.push(paint('red', incomplete), '');
  const numbers = plan.numbers ?? [];
  if (numbers.length > 0) {
    out.push(paint('bold', numbersLine(numbers)));
    const lines = numberLines(numbers, accounts);
    for (const line of lines.slice(0, TEXT_NUMBERS)) out.push(`  ${paint(lineColor(line), line)}`);
    if (lines.length > TEXT_NUMBERS)
      out.push(`  … ${lines.length - TEXT_NUMBERS} more (see --format json)`);
    out.push('');
  }
  const covered = coveredByNumbers(plan);
  for (const c of plan.changes) {
    if (c.action === 'noop' && !options.verbose) continue;
    out.push(paint(colorOf[c.action], headline(c, accounts)));
    out.push(
      `    ${c.reason}${c.id ? ` [id ${c.id}${c.revision ? `, revision ${c.revision}` : ''}]` : ''}${c.source ? ` (${c.source.file}:${c.source.line})` : ''}`,
    );
    const lines = fieldLines(c, covered.get(keyString(c.key)));
    for (const line of lines.slice(0, TEXT_FIELDS)) out.push(`    ${paint(lineColor(line), line)}`);
    if (lines.length > TEXT_FIELDS)
      out.push(`    … ${lines.length - TEXT_FIELDS} more field changes (see --format json)`);
    out.push('');
  }
  for (const p of plan.problems) out.push(paint('red', `! ${p.message}`));
  for (const line of undeclaredLines(plan)) out.push(paint('dim', line));
  out.push(paint('bold', summaryLine(plan)));
  const scoped = scopeLine(plan);
  if (scoped) out.push(scoped);
  out.push(`Fingerprint: ${plan.fingerprint}`);
  return out.join('\n') + '\n';
}

/**
 * For a plan scoped to the accounts a change touches (`--scope accounts`):
 * what it read and what it could not see.
 */
export function scopeLine(plan: Plan): string | undefined {
  const scope = plan.meta.selection?.['scope'] as
    | {
        since?: string;
        planned_accounts?: number;
        declared_accounts?: number;
        whole_estate_because?: string;
      }
    | undefined;
  if (!scope) return undefined;
  const since = String(scope.since ?? '').slice(0, 12);
  if (scope.whole_estate_because)
    return `Planned every account: ${scope.whole_estate_because} since ${since}, which can affect any account.`;
  const n = scope.planned_accounts ?? 0;
  const total = scope.declared_accounts ?? 0;
  return `Planned ${n.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} accounts: the ones changed since ${since}. Drift in the others is not read here; a full plan (the scheduled drift run) reads all.`;
}

const mdEscape = escapeMarkdown;

/** How many undeclared objects are named before "…and N more". */
const UNDECLARED_SHOWN = 50;

/**
 * The live objects no document declares, by name (INVARIANTS.md item 8): a
 * heading line, then one indented line each (the first UNDECLARED_SHOWN).
 */
export function undeclaredLines(plan: Plan): string[] {
  if (plan.unmanaged === 0) return [];
  const n = plan.unmanaged;
  const named = plan.undeclared ?? [];
  return [
    `${n} live object${n === 1 ? '' : 's'} in declared accounts ${n === 1 ? 'is' : 'are'} not declared by any document and will be left alone${named.length > 0 ? ':' : '.'}`,
    ...named
      .slice(0, UNDECLARED_SHOWN)
      .map(
        (u) =>
          `  ${u.key.kind} "${u.key.name}" (id ${u.id}, account ${u.key.account}, target ${u.key.target})`,
      ),
    ...(named.length > UNDECLARED_SHOWN
      ? [`  …and ${named.length - UNDECLARED_SHOWN} more (see --format json)`]
      : []),
  ];
}

/** Markdown for a PR comment or job summary; summarised when it would exceed `limit`. */
export interface MarkdownOptions {
  readonly title?: string;
  readonly limit?: number;
  /** Show each document's field changes open rather than collapsed (small plans). */
  readonly open?: boolean;
  /** Where a changed document is defined (e.g. its file and line at a commit), to link its name. */
  readonly linkOf?: (change: PlanChange) => string | undefined;
  /** Markdown placed after the summary line and the numbers, before the table. */
  readonly lead?: string;
  /** Account id → a name to show for it. */
  readonly accountNames?: AccountNames;
}

export function renderPlanMarkdown(plan: Plan, options: MarkdownOptions = {}): string {
  const limit = options.limit ?? MARKDOWN_LIMIT;
  const s = plan.summary;
  const incomplete = incompleteLine(plan);
  const changed = plan.changes.filter((c) => c.action !== 'noop');
  const accounts = accountLabels(plan, options.accountNames);
  const numbers = plan.numbers ?? [];
  // The numbers lead (INVARIANTS.md 5), in a diff block so routes read green and
  // unroutes red; at most half the comment, the rest is in the JSON plan.
  const allNumbers = numberLines(numbers, accounts).map((l) => escapeFenced(l));
  const numbersBlock = (n: number): string[] =>
    numbers.length === 0
      ? []
      : [
          `**${numbersLine(numbers)}**`,
          '',
          '```diff',
          ...allNumbers.slice(0, n),
          '```',
          ...(n < allNumbers.length
            ? [
                '',
                `_${n} of ${allNumbers.length} number lines shown; the JSON plan has all of them._`,
              ]
            : []),
          '',
        ];
  let shownNumbers = allNumbers.length;
  while (shownNumbers > 0 && numbersBlock(shownNumbers).join('\n').length > limit / 2)
    shownNumbers = Math.floor(shownNumbers / 2);
  const head: string[] = [
    `### ${options.title ?? 'connops plan'}`,
    '',
    ...(incomplete
      ? [
          `> [!CAUTION]\n> **${mdEscape(incomplete)}**`,
          '',
          ...(plan.incomplete ?? []).slice(0, 50).map((r) => `- ${mdEscape(r)}`),
          ...((plan.incomplete?.length ?? 0) > 50
            ? [`- …and ${(plan.incomplete?.length ?? 0) - 50} more`]
            : []),
          '',
        ]
      : []),
    `**${summaryLine(plan)}**`,
    '',
    ...(scopeLine(plan) ? [`_${mdEscape(scopeLine(plan) ?? '')}_`, ''] : []),
    ...numbersBlock(shownNumbers),
    ...(options.lead ? [options.lead, ''] : []),
    // "No changes" needs no table.
    ...(changed.length > 0
      ? ['| action | kind | name | account | target |', '| --- | --- | --- | --- | --- |']
      : []),
  ];
  const nameCell = (c: PlanChange): string => {
    const url = options.linkOf?.(c);
    return url ? `[${mdEscape(c.key.name)}](${url})` : mdEscape(c.key.name);
  };
  const rows = changed.map(
    (c) =>
      `| ${SYMBOL[c.action]} ${c.action} | ${c.key.kind} | ${nameCell(c)} | \`${mdEscape(accounts.get(c.key.account) ?? c.key.account)}\` | ${mdEscape(c.key.target)} |`,
  );
  const covered = coveredByNumbers(plan);
  const details = changed.map((c) => {
    const body = escapeFenced(fieldLines(c, covered.get(keyString(c.key))).join('\n'));
    return `<details${options.open ? ' open' : ''}><summary>${SYMBOL[c.action]} ${c.action} <code>${mdEscape(c.key.name)}</code>: ${mdEscape(c.reason)}</summary>\n\n\`\`\`diff\n${body}\n\`\`\`\n\n</details>`;
  });
  const tail: string[] = [];
  for (const p of plan.problems) tail.push(`> [!WARNING]\n> ${mdEscape(p.message)}`);
  const undeclared = undeclaredLines(plan);
  if (undeclared.length > 0)
    tail.push('', ...undeclared.map((l, i) => (i === 0 ? mdEscape(l) : `- ${mdEscape(l.trim())}`)));
  tail.push(
    '',
    `<sub>fingerprint \`${plan.fingerprint}\` · ${s.noop} unchanged${plan.meta.git ? ` · commit \`${plan.meta.git.commit.slice(0, 12)}\`${plan.meta.git.dirty ? ' (dirty)' : ''}` : ''}</sub>`,
  );

  const assemble = (r: string[], d: string[], note?: string): string =>
    [...head, ...r, '', ...(note ? [note, ''] : []), ...d, ...tail].join('\n') + '\n';
  let text = assemble(rows, details);
  if (text.length <= limit) return text;
  // Too large: keep the table, drop per-field details from the end.
  let keep = details.length;
  while (
    keep > 0 &&
    (text = assemble(
      rows,
      details.slice(0, keep),
      `_Details shown for ${keep} of ${details.length} documents; the full plan is in the JSON output._`,
    )).length > limit
  )
    keep = Math.floor(keep / 2);
  if (text.length <= limit) return text;
  let keepRows = rows.length;
  do {
    keepRows = Math.floor(keepRows / 2);
    text = assemble(
      rows.slice(0, keepRows),
      [],
      `_Plan too large for one comment: ${keepRows} of ${rows.length} changes listed; see the JSON plan for all of them._`,
    );
  } while (text.length > limit && keepRows > 0);
  return text;
}

export interface PlanJsonChange {
  readonly address: string;
  readonly key: PlanChange['key'];
  readonly action: PlanChange['action'];
  readonly reason: string;
  readonly id: string | null;
  readonly revision: string | null;
  readonly ops: PatchOp[];
  readonly before: JsonObject | null;
  readonly after: JsonObject | null;
  readonly source: { file: string; line: number } | null;
}

export interface PlanJson {
  readonly format_version: string;
  readonly fingerprint: string;
  /** False when part of the live state could not be read or planned (then never applied). */
  readonly complete?: boolean;
  /** Why the plan is incomplete (empty when complete). */
  readonly incomplete?: string[];
  /** The policy and writes the fingerprint covers (absent in plans of older connops). */
  readonly policy?: PlanPolicy;
  readonly writes?: WriteRecord[];
  readonly summary: Plan['summary'];
  /** The plan in numbers (core/numbers.ts); absent in plans saved before it existed. */
  readonly numbers?: NumberEntry[];
  readonly problems: { message: string; address: string | null }[];
  readonly unmanaged: number;
  /** Those live objects by address and id (absent in plans saved before it existed). */
  readonly undeclared?: { address: string; key: Plan['changes'][number]['key']; id: string }[];
  readonly meta: Plan['meta'];
  readonly changes: PlanJsonChange[];
}

/** The versioned JSON plan; also the saved-plan file. Masked bodies only. */
export function planToJson(plan: Plan): PlanJson {
  return {
    format_version: plan.format_version,
    fingerprint: plan.fingerprint,
    complete: isComplete(plan),
    incomplete: [...(plan.incomplete ?? [])],
    ...(plan.policy ? { policy: plan.policy } : {}),
    writes: [...(plan.writes ?? [])],
    summary: plan.summary,
    numbers: [...(plan.numbers ?? [])],
    problems: plan.problems.map((p) => ({
      message: p.message,
      address: p.key ? keyString(p.key) : null,
    })),
    unmanaged: plan.unmanaged,
    undeclared: (plan.undeclared ?? []).map((u) => ({
      address: keyString(u.key),
      key: u.key,
      id: u.id,
    })),
    meta: plan.meta,
    changes: plan.changes.map((c) => ({
      address: keyString(c.key),
      key: c.key,
      action: c.action,
      reason: c.reason,
      id: c.id ?? null,
      revision: c.revision ?? null,
      ops: c.ops,
      before: c.beforeMasked ?? null,
      after: c.afterMasked ?? null,
      source: c.source ? { file: c.source.file, line: c.source.line } : null,
    })),
  };
}

export function renderPlanJson(plan: Plan): string {
  return JSON.stringify(planToJson(plan), null, 2) + '\n';
}

/**
 * Explains why a saved plan no longer matches a fresh one, write by write
 * (core/plan.ts compareWrites): each write added, dropped or changed and why.
 */
export function explainStale(saved: PlanJson, fresh: Plan): string[] {
  if (!saved.writes)
    return [
      'the saved plan was made by an older connops that did not record its writes; plan again',
    ];
  const reasons = compareWrites({ writes: saved.writes, policy: saved.policy }, fresh);
  return reasons.length > 0 ? reasons : ['the plan format or the policy changed since the plan'];
}

/**
 * A Plan to render from its JSON form (e.g. shards merged by `connops report
 * merge`). Display fields only: no write requests, and bodies are the masked ones.
 */
export function planFromJson(json: PlanJson): Plan {
  return {
    format_version: json.format_version,
    fingerprint: json.fingerprint,
    writes: json.writes ?? [],
    policy: json.policy ?? { prune: false, max_deletes: null, max_changes: null },
    incomplete:
      json.incomplete ?? (json.complete === false ? ['the plan is marked incomplete'] : []),
    summary: json.summary,
    ...(json.numbers ? { numbers: json.numbers } : {}),
    unmanaged: json.unmanaged,
    ...(json.undeclared
      ? { undeclared: json.undeclared.map((u) => ({ key: u.key, id: u.id })) }
      : {}),
    meta: json.meta,
    problems: json.problems.map((p) => ({ message: p.message })),
    changes: json.changes.map((c) => ({
      key: c.key,
      action: c.action,
      reason: c.reason,
      ...(c.id !== null ? { id: c.id } : {}),
      ...(c.revision !== null ? { revision: c.revision } : {}),
      ops: c.ops,
      ...(c.before !== null ? { beforeMasked: c.before } : {}),
      ...(c.after !== null ? { afterMasked: c.after } : {}),
      ...(c.source !== null ? { source: { ...c.source, col: 1 } } : {}),
      claims: [],
      releases: [],
      dependsOn: [],
    })),
  };
}
