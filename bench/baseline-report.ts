/**
 * The pure pieces of the bench's comparison against a baseline build
 * (`npm run bench -- --baseline REV`): the output tail the wrapper keeps, the
 * summary line it reports, and the RESULTS.md section and Targets lines. No
 * I/O here, so test/bench-baseline.test.ts checks them without a bench run;
 * bench/wrapper.ts (a child process) and bench/run.ts both import it.
 */
import type { ScenarioResult } from './scenario.ts';

/**
 * Bytes of each stream the wrapper keeps. A 100 % drift plan prints tens of MB;
 * keeping only a tail makes that output cost the same (next to nothing) for
 * both builds, while the summary line, which a plan prints near its end, stays
 * in it.
 */
export const TAIL_CHARS = 16 * 1024;

/**
 * The last `limit` characters written to a stream. Chunks are joined only when
 * twice the limit has piled up, so a command that writes many small pieces
 * costs one join per `limit` characters, not one per write.
 */
export class TailBuffer {
  private chunks: string[] = [];
  private size = 0;
  constructor(private readonly limit = TAIL_CHARS) {}

  push(chunk: string | Uint8Array): void {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    // A single huge chunk (a whole plan rendered as one string) is cut at once.
    const kept = text.length > this.limit ? text.slice(-this.limit) : text;
    this.chunks.push(kept);
    this.size += kept.length;
    if (this.size > 2 * this.limit) this.compact();
  }

  text(): string {
    this.compact();
    return this.chunks[0] ?? '';
  }

  private compact(): void {
    const joined = this.chunks.join('');
    const tail = joined.length > this.limit ? joined.slice(-this.limit) : joined;
    this.chunks = tail ? [tail] : [];
    this.size = tail.length;
  }
}

/**
 * The line a run's row shows, found as bench/scenario.ts has always found it:
 * apply's closing line, else the plan's summary or validate's OK line on
 * stdout, else an OK or error line on stderr.
 */
export function findSummary(out: string, err: string): string {
  return (
    /^(Apply: .*)$/m.exec(out)?.[1] ??
    /^(Plan: .*|No changes: .*|OK: .*)$/m.exec(out)?.[1] ??
    /^(OK: .*|.*error.*)$/m.exec(err)?.[1] ??
    ''
  );
}

/** Exit codes a row counts as the command not having done its job (2 is "changes", -1 the harness's own failure). */
export function failed(r: ScenarioResult): boolean {
  return r.code === -1 || r.code === 1 || r.code > 2 || !Number.isFinite(r.ms);
}

/** What a failed run said: the harness's own reason and stderr's last line, or the command's summary (else that last line). */
export function failureText(r: ScenarioResult): string {
  const last = r.stderrTail
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .pop();
  if (r.summary.startsWith('FAILED')) return last ? `${r.summary}: ${last}` : r.summary;
  const said = r.summary || last;
  return `FAILED (exit ${r.code})${said ? `: ${said}` : ''}`;
}

/** One side (this build or the baseline) of a comparison row. */
export interface Side {
  /** The median run (by time). */
  readonly result: ScenarioResult;
  readonly runs: readonly ScenarioResult[];
  /** Requests the emulators saw during the median run. */
  readonly serverRequests: number;
}

/** A scenario run by both builds through the same wrapper, alternately. */
export interface BaselinePair {
  readonly scenario: string;
  readonly latencyMs: number | null;
  readonly current: Side;
  readonly baseline: Side;
}

/** Where the comparison stands for a run. */
export type BaselineStatus =
  | { readonly kind: 'off' }
  | { readonly kind: 'skipped'; readonly rev: string; readonly reason: string }
  | { readonly kind: 'measured'; readonly rev: string; readonly label: string };

/** Issue 19: validate and plan within 10 % of the build before the phone-number work. */
export const BASELINE_TOLERANCE = 1.1;

/** This build's median over the baseline's; null when either side failed. */
export function ratio(p: BaselinePair): number | null {
  if (failed(p.current.result) || failed(p.baseline.result)) return null;
  const base = p.baseline.result.ms;
  return base > 0 ? p.current.result.ms / base : null;
}

const fmt = (n: number, digits = 2): string => n.toFixed(digits);

function pairName(p: BaselinePair): string {
  return p.latencyMs === null ? p.scenario : `${p.scenario}, ${p.latencyMs} ms`;
}

/** The Targets lines: "- validate within 10 % of 78db091 (issue 19): 1.04×: met". */
export function baselineTargetLines(
  status: BaselineStatus,
  pairs: readonly BaselinePair[],
): string[] {
  if (status.kind === 'off') return [];
  if (status.kind === 'skipped')
    return [
      `- validate and plan within 10 % of ${status.rev} (issue 19): not measured (${status.reason})`,
    ];
  return pairs.map((p) => {
    const head = `- ${pairName(p)} within 10 % of ${status.rev} (issue 19)`;
    const r = ratio(p);
    if (r === null) {
      const which = failed(p.baseline.result) ? 'baseline' : 'this build';
      const side = failed(p.baseline.result) ? p.baseline : p.current;
      return `${head}: not measured (${which} ${failureText(side.result)})`;
    }
    return `${head}: ${fmt(r)}×: ${r <= BASELINE_TOLERANCE ? 'met' : '**not met**'}`;
  });
}

/** `pick` of the median run, with the range over the runs when they differ. */
function cell(side: Side, pick: (r: ScenarioResult) => number, digits: number): string {
  if (failed(side.result)) return 'FAILED';
  const shown = fmt(pick(side.result), digits);
  const ok = side.runs.filter((r) => !failed(r));
  if (ok.length < 2) return shown;
  const lo = fmt(Math.min(...ok.map(pick)), digits);
  const hi = fmt(Math.max(...ok.map(pick)), digits);
  return lo === hi ? shown : `${shown} (${lo}–${hi})`;
}

const tableSafe = (s: string): string => s.replace(/\|/g, '/').replace(/\n/g, ' ');

/** The RESULTS.md section "## Against the baseline build (REV, same run, same harness)". */
export function baselineSection(
  status: BaselineStatus,
  pairs: readonly BaselinePair[],
  repeat: number,
): string[] {
  if (status.kind === 'off') return [];
  const lines = [`## Against the baseline build (${status.rev}, same run, same harness)`, ''];
  if (status.kind === 'skipped') {
    lines.push(`Not measured: ${status.reason}.`, '');
    return lines;
  }
  lines.push(
    `Baseline: ${status.label}, its committed dist/cli.js and dist/check-worker.js. Both builds run through bench/wrapper.ts (the shipped entry's \`main(argv)\` in a child process, stdout and stderr cut to their last ${TAIL_CHARS / 1024} KB, time = the \`main\` call only), alternately (baseline, this build, …), ${repeat} run${repeat === 1 ? '' : 's'} each, right after the main rows of the same scenario, against the same emulators and live state. Ratio = this build's median / the baseline's median (issue 19: ≤ ${fmt(BASELINE_TOLERANCE)}).`,
    '',
    '| scenario | latency | this build (s) | baseline (s) | ratio | peak RSS this / baseline (MB) | requests (server) this / baseline | result |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  );
  for (const p of pairs) {
    const r = ratio(p);
    const cur = p.current.result;
    const base = p.baseline.result;
    const rss = (s: Side): string => (failed(s.result) ? '–' : fmt(s.result.maxRssMb, 0));
    const result = failed(cur)
      ? `this build ${failureText(cur)}`
      : failed(base)
        ? `${cur.summary}; baseline ${failureText(base)}`
        : base.summary === cur.summary
          ? cur.summary
          : `${cur.summary}; baseline: ${base.summary}`;
    lines.push(
      `| ${p.scenario} | ${p.latencyMs === null ? '–' : `${p.latencyMs} ms`} | ${cell(p.current, (x) => x.ms / 1000, 2)} | ${cell(p.baseline, (x) => x.ms / 1000, 2)} | ${r === null ? '–' : `${fmt(r)}×`} | ${rss(p.current)} / ${rss(p.baseline)} | ${p.current.serverRequests} / ${p.baseline.serverRequests} | ${tableSafe(result)} |`,
    );
  }
  lines.push('');
  return lines;
}
