/**
 * The I/O of the bench's comparison against a baseline build: extracting the
 * baseline commit's committed bundle with `git show`, bundling this build's CLI
 * and bench/wrapper.ts, and running one build through the wrapper in a child
 * process. bench/run.ts decides what to run; bench/baseline-report.ts renders it.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_OPTIONS, NO_HTTP_IN_WORKER } from '../scripts/bundle-options.mjs';
import type { ScenarioResult } from './scenario.ts';
import type { WrapperArgs } from './wrapper.ts';

/** The files a bundle needs beside each other (src/engine/check-threads.ts looks for the worker there). */
const BUNDLE_FILES = ['dist/cli.js', 'dist/check-worker.js'] as const;

const PACKAGE_JSON = '{ "type": "module" }\n';

export type Extracted =
  | { readonly ok: true; readonly cli: string; readonly label: string }
  | { readonly ok: false; readonly reason: string };

const GIT_MISSING = 'git is not installed';

function git(args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...args],
      // The bundle is ~2 MB; the default 1 MB buffer would cut it.
      { cwd, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const code = (error as NodeJS.ErrnoException).code;
        reject(
          new Error(
            code === 'ENOENT'
              ? GIT_MISSING
              : // git's first line, without its "fatal: " and closing period.
                (stderr.trim().split('\n')[0] ?? '').replace(/^fatal: /, '').replace(/\.$/, '') ||
                  error.message,
          ),
        );
      },
    );
  });
}

/**
 * Writes `rev`'s dist/cli.js and dist/check-worker.js into `dir` (with the
 * package.json that makes them ES modules). Without git or without the commit
 * (a shallow clone) it says why instead of throwing: the bench then skips the
 * baseline rows.
 */
export async function extractBaseline(
  rev: string,
  repoRoot: string,
  dir: string,
): Promise<Extracted> {
  let label: string;
  try {
    // "78db091 (2026-12-02)": the short hash and commit date, for RESULTS.md.
    label = (await git(['show', '-s', '--format=%h (%cs)', `${rev}^{commit}`], repoRoot)).trim();
  } catch (e) {
    const said = (e as Error).message;
    return {
      ok: false,
      reason:
        said === GIT_MISSING
          ? `${GIT_MISSING}, so ${rev}'s bundle cannot be extracted`
          : `commit ${rev} is not in this clone (a shallow clone lacks older commits): ${said}`,
    };
  }
  await mkdir(dir, { recursive: true });
  for (const file of BUNDLE_FILES) {
    try {
      const text = await git(['show', `${rev}:${file}`], repoRoot);
      await writeFile(join(dir, file.slice('dist/'.length)), text);
    } catch (e) {
      return { ok: false, reason: `${rev} has no ${file} (${(e as Error).message})` };
    }
  }
  await writeFile(join(dir, 'package.json'), PACKAGE_JSON);
  return { ok: true, cli: join(dir, 'cli.js'), label };
}

/**
 * Bundles this build's CLI (src/cli/entry.ts, the entry dist/cli.js ships) and
 * its check worker into `dir` with the options scripts/build.mjs uses, so this
 * build runs through the wrapper exactly as the baseline's committed bundle does.
 */
export async function bundleCurrent(dir: string): Promise<string> {
  const root = join(import.meta.dirname, '..');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), PACKAGE_JSON);
  await build({
    ...BUNDLE_OPTIONS,
    entryPoints: { cli: join(root, 'src/cli/entry.ts') },
    outdir: dir,
  });
  await build({
    ...BUNDLE_OPTIONS,
    entryPoints: { 'check-worker': join(root, 'src/engine/check-worker.ts') },
    outdir: dir,
    plugins: [NO_HTTP_IN_WORKER],
  });
  return join(dir, 'cli.js');
}

/** Bundles bench/wrapper.ts into `dir` (plain JavaScript, as scenario.ts is bundled); returns its path. */
export async function bundleWrapper(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), PACKAGE_JSON);
  await build({
    ...BUNDLE_OPTIONS,
    entryPoints: { wrapper: join(import.meta.dirname, 'wrapper.ts') },
    outdir: dir,
  });
  return join(dir, 'wrapper.js');
}

export interface WrappedRun {
  /** The bundled wrapper (bundleWrapper). */
  readonly wrapper: string;
  /** The bundle whose main(argv) runs. */
  readonly cli: string;
  readonly argv: readonly string[];
  /** The CLI's working directory (its process.cwd()). */
  readonly cwd: string;
  /** The child's whole environment. */
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
}

/** Runs one bundle through the wrapper in a child process and parses its JSON line. */
export async function runWrapped(o: WrappedRun): Promise<ScenarioResult> {
  const args: WrapperArgs = { cli: o.cli, argv: o.argv };
  const child = spawn(process.execPath, [o.wrapper, JSON.stringify(args)], {
    cwd: o.cwd,
    env: o.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(null));
    child.on('close', resolve);
  });
  clearTimeout(timer);
  const line = out.trim().split('\n').pop() ?? '';
  try {
    // A build the timeout had to stop has no valid row, whatever it printed.
    if (code === null) throw new Error('stopped');
    const r = JSON.parse(line) as ScenarioResult;
    // JSON has no NaN: the wrapper's NaN (no online time; no time when main threw) arrives as null.
    return { ...r, ms: r.ms ?? NaN, onlineMs: r.onlineMs ?? NaN };
  } catch {
    // A crashed or stopped build is a FAILED row, not the end of the run.
    const reason = code === null ? `stopped after ${o.timeoutMs / 1000} s` : `exit ${code}`;
    return {
      code: -1,
      ms: NaN,
      onlineMs: NaN,
      requests: {},
      totalRequests: 0,
      maxInFlight: 0,
      maxRssMb: NaN,
      summary: `FAILED (${reason})`,
      stderrTail: err.slice(-2000),
    };
  }
}
