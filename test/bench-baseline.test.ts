/**
 * The bench's comparison against a baseline build, checked without running the
 * bench: the pure pieces (output tail, summary, RESULTS.md section and Targets
 * lines), the extraction of a commit's bundle with `git show` (a throwaway git
 * repository), and the wrapper itself, bundled as bench/run.ts bundles it and
 * run in a child process against tiny fake CLIs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWrapper, extractBaseline, runWrapped } from '../bench/baseline.ts';
import {
  baselineSection,
  baselineTargetLines,
  failureText,
  findSummary,
  TailBuffer,
  type BaselinePair,
  type BaselineStatus,
  type Side,
} from '../bench/baseline-report.ts';
import type { ScenarioResult } from '../bench/scenario.ts';

const result = (over: Partial<ScenarioResult> = {}): ScenarioResult => ({
  code: 0,
  ms: 1000,
  onlineMs: NaN,
  requests: {},
  totalRequests: 0,
  maxInFlight: 0,
  maxRssMb: 300,
  summary: 'OK: 12500 documents in 1001 files, no problems',
  stderrTail: '',
  ...over,
});
const side = (r: ScenarioResult, serverRequests = 0): Side => ({
  result: r,
  runs: [r],
  serverRequests,
});
const pair = (
  scenario: string,
  current: ScenarioResult,
  baseline: ScenarioResult,
  latencyMs: number | null = null,
): BaselinePair => ({ scenario, latencyMs, current: side(current), baseline: side(baseline) });
const measured: BaselineStatus = {
  kind: 'measured',
  rev: '78db091',
  label: '78db091 (2026-12-02)',
};

describe('TailBuffer', () => {
  it('keeps exactly the last `limit` characters of whatever was written', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.string({ maxLength: 200 }), { maxLength: 40 }),
        (limit, chunks) => {
          const tail = new TailBuffer(limit);
          for (const c of chunks) tail.push(c);
          expect(tail.text()).toBe(chunks.join('').slice(-limit));
        },
      ),
    );
  });

  it('takes bytes as the streams do', () => {
    const tail = new TailBuffer(8);
    tail.push(Buffer.from('hello '));
    tail.push(new TextEncoder().encode('world'));
    expect(tail.text()).toBe('lo world');
  });
});

describe('findSummary', () => {
  it("finds apply's line first, then the plan's or validate's, then stderr's", () => {
    expect(findSummary('Plan: 1 to create\nApply: 1 created\n', '')).toBe('Apply: 1 created');
    expect(
      findSummary(
        '…\nPlan: 0 to create, 3 to update, 0 to delete; 9 unchanged.\nFingerprint: x\n',
        '',
      ),
    ).toBe('Plan: 0 to create, 3 to update, 0 to delete; 9 unchanged.');
    expect(findSummary('', 'OK: 3 documents in 1 file, no problems\n')).toBe(
      'OK: 3 documents in 1 file, no problems',
    );
    expect(findSummary('', 'connops.yaml:3:5: error: unknown key "x"\n')).toBe(
      'connops.yaml:3:5: error: unknown key "x"',
    );
    expect(findSummary('nothing', 'nothing')).toBe('');
  });
});

describe('baselineTargetLines', () => {
  it('is met at a ratio up to 1.10 and names the revision and the issue', () => {
    const lines = baselineTargetLines(measured, [
      pair('validate', result({ ms: 1040 }), result({ ms: 1000 })),
      pair('plan, no changes', result({ ms: 1100 }), result({ ms: 1000 }), 0),
      pair('plan, 100 % drift', result({ ms: 1110 }), result({ ms: 1000 }), 0),
    ]);
    expect(lines).toEqual([
      '- validate within 10 % of 78db091 (issue 19): 1.04×: met',
      '- plan, no changes, 0 ms within 10 % of 78db091 (issue 19): 1.10×: met',
      '- plan, 100 % drift, 0 ms within 10 % of 78db091 (issue 19): 1.11×: **not met**',
    ]);
  });

  it('says "not measured" with the error text when a side failed, never a ratio', () => {
    const broken = result({
      code: 1,
      ms: 200,
      summary: '',
      stderrTail: 'connops: connops.yaml:12:3: unknown key "check_numbers"\n',
    });
    const [baselineFailed] = baselineTargetLines(measured, [pair('validate', result(), broken)]);
    expect(baselineFailed).toBe(
      '- validate within 10 % of 78db091 (issue 19): not measured (baseline FAILED (exit 1): connops: connops.yaml:12:3: unknown key "check_numbers")',
    );
    const [currentFailed] = baselineTargetLines(measured, [pair('validate', broken, result())]);
    expect(currentFailed).toContain('not measured (this build FAILED (exit 1)');
  });

  it('is one "not measured" line when the baseline was skipped, and nothing when off', () => {
    expect(
      baselineTargetLines({ kind: 'skipped', rev: '78db091', reason: 'no such commit' }, []),
    ).toEqual([
      '- validate and plan within 10 % of 78db091 (issue 19): not measured (no such commit)',
    ]);
    expect(baselineTargetLines({ kind: 'off' }, [])).toEqual([]);
  });
});

describe('baselineSection', () => {
  it('has a row per scenario with both times, the ratio and both peaks', () => {
    const lines = baselineSection(
      measured,
      [
        {
          scenario: 'plan, 100 % drift',
          latencyMs: 0,
          current: {
            ...side(result({ ms: 10_400, maxRssMb: 455, summary: 'Plan: a' })),
            serverRequests: 13051,
          },
          baseline: {
            ...side(result({ ms: 10_000, maxRssMb: 465, summary: 'Plan: b' })),
            serverRequests: 11004,
          },
        },
      ],
      1,
    );
    expect(lines[0]).toBe('## Against the baseline build (78db091, same run, same harness)');
    expect(lines).toContain(
      '| plan, 100 % drift | 0 ms | 10.40 | 10.00 | 1.04× | 455 / 465 | 13051 / 11004 | Plan: a; baseline: Plan: b |',
    );
  });

  it('shows the range over repeated runs and FAILED for a side that failed', () => {
    const runs = [result({ ms: 900 }), result({ ms: 1000 }), result({ ms: 1300 })];
    const failedRun = result({ code: -1, ms: NaN, summary: 'FAILED (exit 1)', stderrTail: 'boom' });
    const lines = baselineSection(
      measured,
      [
        {
          scenario: 'validate',
          latencyMs: null,
          current: { result: runs[1] as ScenarioResult, runs, serverRequests: 0 },
          baseline: side(failedRun),
        },
      ],
      3,
    );
    const row = lines.find((l) => l.startsWith('| validate'));
    expect(row).toBe(
      '| validate | – | 1.00 (0.90–1.30) | FAILED | – | 300 / – | 0 / 0 | OK: 12500 documents in 1001 files, no problems; baseline FAILED (exit 1): boom |',
    );
  });

  it('says why when the baseline was skipped', () => {
    expect(
      baselineSection({ kind: 'skipped', rev: 'abc', reason: 'git is not installed' }, [], 1),
    ).toContain('Not measured: git is not installed.');
  });
});

describe('failureText', () => {
  it("keeps the harness's reason and the last stderr line", () => {
    expect(
      failureText(
        result({ code: -1, summary: 'FAILED (stopped after 300 s)', stderrTail: 'a\nlast\n\n' }),
      ),
    ).toBe('FAILED (stopped after 300 s): last');
  });
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_SYSTEM: '/dev/null' },
  });
}

describe('extractBaseline', () => {
  let repo: string;
  let rev: string;
  beforeAll(async () => {
    repo = await mkdtemp(join(tmpdir(), 'connops-bench-baseline-repo-'));
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'config', 'user.name', 'test');
    git(repo, 'config', 'user.email', 'test@connops.invalid');
    git(repo, 'config', 'commit.gpgsign', 'false');
    execFileSync('mkdir', ['-p', join(repo, 'dist')]);
    await writeFile(join(repo, 'dist/cli.js'), 'export async function main() { return 0; }\n');
    await writeFile(join(repo, 'dist/check-worker.js'), '// worker\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'bundle');
    rev = git(repo, 'rev-parse', '--short', 'HEAD').trim();
    // A later commit changes the bundle: the extraction must take the named commit's.
    await writeFile(join(repo, 'dist/cli.js'), 'export async function main() { return 1; }\n');
    git(repo, 'commit', '-q', '-a', '-m', 'later');
  });
  afterAll(() => rm(repo, { recursive: true, force: true }));

  it("writes the commit's cli.js, check-worker.js and a module package.json into the dir", async () => {
    const dir = join(repo, 'out');
    const got = await extractBaseline(rev, repo, dir);
    expect(got).toMatchObject({ ok: true, cli: join(dir, 'cli.js') });
    if (!got.ok) return;
    expect(got.label).toMatch(new RegExp(`^${rev} \\(\\d{4}-\\d\\d-\\d\\d\\)$`));
    expect(await readFile(join(dir, 'cli.js'), 'utf8')).toContain('return 0;');
    expect(await readFile(join(dir, 'check-worker.js'), 'utf8')).toBe('// worker\n');
    expect(JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'))).toEqual({
      type: 'module',
    });
  });

  it('says why, without throwing, when the commit is missing (a shallow clone)', async () => {
    const got = await extractBaseline('0123abc', repo, join(repo, 'none'));
    expect(got.ok).toBe(false);
    if (got.ok) return;
    expect(got.reason).toMatch(
      /^commit 0123abc is not in this clone \(a shallow clone lacks older commits\): \S.*[^.]$/,
    );
    expect(got.reason).not.toContain('fatal:');
  });

  it('says so when git is not there', async () => {
    const path = process.env['PATH'];
    process.env['PATH'] = join(repo, 'no-bin');
    try {
      const got = await extractBaseline(rev, repo, join(repo, 'nogit'));
      expect(got).toEqual({
        ok: false,
        reason: `git is not installed, so ${rev}'s bundle cannot be extracted`,
      });
    } finally {
      process.env['PATH'] = path;
    }
  });

  it('says why when the commit has no bundle', async () => {
    await rm(join(repo, 'dist'), { recursive: true });
    git(repo, 'commit', '-q', '-a', '-m', 'no dist');
    const head = git(repo, 'rev-parse', '--short', 'HEAD').trim();
    const got = await extractBaseline(head, repo, join(repo, 'nodist'));
    expect(got).toMatchObject({ ok: false });
    if (got.ok) return;
    expect(got.reason).toContain(`${head} has no dist/cli.js`);
  });
});

describe('the wrapper (bench/wrapper.ts bundled, in a child process)', () => {
  let dir: string;
  let wrapper: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'connops-bench-wrapper-'));
    wrapper = await bundleWrapper(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const run = (cli: string, argv: string[] = [], env: NodeJS.ProcessEnv = {}) =>
    runWrapped({
      wrapper,
      cli,
      argv,
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      timeoutMs: 20_000,
    });

  it("reports main's exit code and summary, seeing the argv, cwd and env it was given", async () => {
    const cli = join(dir, 'fake-cli.js');
    await writeFile(
      cli,
      [
        'export async function main(argv = process.argv.slice(2)) {',
        '  process.stdout.write(`Plan: ${argv.join(" ")} in ${process.cwd()} for ${process.env.FAKE_WHO}\\n`);',
        "  process.stderr.write('a warning\\n');",
        '  return 2;',
        '}',
      ].join('\n'),
    );
    const r = await run(cli, ['plan', '-c', 'x.yaml'], { FAKE_WHO: 'bench' });
    expect(r.code).toBe(2);
    expect(r.summary).toBe(`Plan: plan -c x.yaml in ${dir} for bench`);
    expect(Number.isFinite(r.ms) && r.ms >= 0).toBe(true);
    expect(r.maxRssMb).toBeGreaterThan(10);
    expect(r).toMatchObject({ requests: {}, totalRequests: 0, maxInFlight: 0 });
    expect(Number.isNaN(r.onlineMs)).toBe(true);
    expect(r.stderrTail).toBe('a warning\n');
  });

  it('keeps only the tail of a big output, and exits although main left a timer running', async () => {
    const cli = join(dir, 'big-cli.js');
    await writeFile(
      cli,
      [
        'export async function main() {',
        "  const line = 'x'.repeat(99) + '\\n';",
        '  for (let i = 0; i < 50000; i++) process.stdout.write(line);',
        "  process.stdout.write('No changes: 5 documents up to date.\\n', () => {});",
        '  setInterval(() => {}, 1000);',
        '  return 0;',
        '}',
      ].join('\n'),
    );
    const r = await run(cli);
    expect(r.code).toBe(0);
    expect(r.summary).toBe('No changes: 5 documents up to date.');
  });

  it('is a FAILED row, not a crash, for a bundle without main or one that throws', async () => {
    const none = join(dir, 'no-main.js');
    await writeFile(none, 'export const x = 1;\n');
    const r = await run(none);
    expect(r.code).toBe(-1);
    expect(r.stderrTail).toContain('exports no main(argv)');
    const throws = join(dir, 'throws.js');
    await writeFile(throws, "export async function main() { throw new Error('kaput'); }\n");
    const t = await run(throws);
    expect(t.code).toBe(-1);
    expect(Number.isNaN(t.ms)).toBe(true);
    expect(t.stderrTail).toContain('main threw: kaput');
    const missing = await run(join(dir, 'absent.js'));
    expect(missing.code).toBe(-1);
    expect(missing.summary).toMatch(/^FAILED \(exit \d+\)$/);
    expect(missing.stderrTail).toContain('absent.js');
  });
});
