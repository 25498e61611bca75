/**
 * Renders a plan as text (per-field before → after, optional ANSI colour),
 * Markdown (PR comments and job summaries, kept under GitHub's 64 KiB) and
 * versioned JSON. All three come from the same Plan; none contains a secret
 * value (masked bodies only).
 */
import { getAtPointer, type JsonObject, type JsonValue } from './json.ts';
import type { PatchOp } from './json-patch.ts';
import { keyString } from './model.ts';
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
 * One line per changed field: `~ /path: "old" → "new"`, `+ /path: value`,
 * `- /path (was value)`. Added or removed objects are expanded to their leaves,
 * so a new server reads field by field rather than as one JSON blob.
 */
export function opLines(change: PlanChange): string[] {
  const before = change.beforeMasked ?? {};
  const lines: string[] = [];
  for (const op of change.ops) {
    if (op.op === 'add')
      for (const [p, v] of leaves(op.path, op.value)) lines.push(`+ ${p}: ${short(v)}`);
    else if (op.op === 'remove')
      for (const [p, v] of leaves(op.path, getAtPointer(before, op.path)))
        lines.push(`- ${p} (was ${short(v)})`);
    else {
      const old = getAtPointer(before, op.path);
      const scalar = (v: JsonValue | undefined): boolean => v === null || typeof v !== 'object';
      if (scalar(old) && scalar(op.value))
        lines.push(`~ ${op.path}: ${short(old)} → ${short(op.value)}`);
      else {
        for (const [p, v] of leaves(op.path, old)) lines.push(`- ${p} (was ${short(v)})`);
        for (const [p, v] of leaves(op.path, op.value)) lines.push(`+ ${p}: ${short(v)}`);
      }
    }
  }
  return lines;
}

function headline(c: PlanChange): string {
  const verb = { create: 'create', update: 'update', delete: 'delete', noop: 'unchanged' }[
    c.action
  ];
  return `${SYMBOL[c.action]} ${verb} ${c.key.kind} "${c.key.name}" (account ${c.key.account}, target ${c.key.target})`;
}

export interface TextOptions {
  readonly color: boolean;
  /** List unchanged documents too. */
  readonly verbose?: boolean;
}

export function renderPlanText(plan: Plan, options: TextOptions): string {
  const paint = (color: keyof typeof ANSI, s: string): string =>
    options.color ? `${ANSI[color]}${s}${ANSI.reset}` : s;
  const colorOf = { create: 'green', update: 'yellow', delete: 'red', noop: 'dim' } as const;
  const out: string[] = [];
  const incomplete = incompleteLine(plan);
  if (incomplete) out.push(paint('red', incomplete), '');
  for (const c of plan.changes) {
    if (c.action === 'noop' && !options.verbose) continue;
    out.push(paint(colorOf[c.action], headline(c)));
    out.push(
      `    ${c.reason}${c.id ? ` [id ${c.id}${c.revision ? `, revision ${c.revision}` : ''}]` : ''}${c.source ? ` (${c.source.file}:${c.source.line})` : ''}`,
    );
    for (const line of opLines(c).slice(0, 200)) {
      const col = line.startsWith('+') ? 'green' : line.startsWith('-') ? 'red' : 'yellow';
      out.push(`    ${paint(col, line)}`);
    }
    if (c.ops.length > 200)
      out.push(`    … ${c.ops.length - 200} more field changes (see --format json)`);
    out.push('');
  }
  for (const p of plan.problems) out.push(paint('red', `! ${p.message}`));
  if (plan.unmanaged > 0)
    out.push(
      paint(
        'dim',
        `${plan.unmanaged} live object${plan.unmanaged === 1 ? '' : 's'} in declared accounts ${plan.unmanaged === 1 ? 'is' : 'are'} not declared by any document and will be left alone.`,
      ),
    );
  out.push(paint('bold', summaryLine(plan)));
  out.push(`Fingerprint: ${plan.fingerprint}`);
  return out.join('\n') + '\n';
}

function mdEscape(s: string): string {
  return s.replace(/[|<>`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Markdown for a PR comment or job summary; summarised when it would exceed `limit`. */
export interface MarkdownOptions {
  readonly title?: string;
  readonly limit?: number;
  /** Show each document's field changes open rather than collapsed (small plans). */
  readonly open?: boolean;
  /** Where a changed document is defined (e.g. its file and line at a commit), to link its name. */
  readonly linkOf?: (change: PlanChange) => string | undefined;
  /** Markdown placed after the summary line, before the table (e.g. a per-number view). */
  readonly lead?: string;
}

export function renderPlanMarkdown(plan: Plan, options: MarkdownOptions = {}): string {
  const limit = options.limit ?? MARKDOWN_LIMIT;
  const s = plan.summary;
  const incomplete = incompleteLine(plan);
  const changed = plan.changes.filter((c) => c.action !== 'noop');
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
      `| ${SYMBOL[c.action]} ${c.action} | ${c.key.kind} | ${nameCell(c)} | \`${c.key.account}\` | ${mdEscape(c.key.target)} |`,
  );
  const details = changed.map((c) => {
    const body = opLines(c).join('\n').replaceAll('```', "'''");
    return `<details${options.open ? ' open' : ''}><summary>${SYMBOL[c.action]} ${c.action} <code>${mdEscape(c.key.name)}</code>: ${mdEscape(c.reason)}</summary>\n\n\`\`\`diff\n${body}\n\`\`\`\n\n</details>`;
  });
  const tail: string[] = [];
  for (const p of plan.problems) tail.push(`> [!WARNING]\n> ${mdEscape(p.message)}`);
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
  readonly problems: { message: string; address: string | null }[];
  readonly unmanaged: number;
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
    problems: plan.problems.map((p) => ({
      message: p.message,
      address: p.key ? keyString(p.key) : null,
    })),
    unmanaged: plan.unmanaged,
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
    unmanaged: json.unmanaged,
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
