/**
 * `npm run bench`: the connops benchmark suite. Generates a realistic estate in
 * a temp dir, seeds a Kazoo emulator (in this process, on 127.0.0.1) with the
 * matching live documents and drift variants, and runs each scenario in a
 * child process (bench/scenario.ts) so its peak RSS is its own. Prints a table
 * and writes bench/RESULTS.md. Ratios, not absolute times, are what compare
 * across machines.
 *
 * Flags: --accounts 1000 --docs 10000 --dids 20..200 --latency 0,20
 *        --scales 1000,10000,50000 --concurrency 32 --updates 1000 --repeat 1 --quick
 *        --services-per-doc 0.25 --cf-updates 100 --baseline 78db091 (or none)
 *
 * Beside the Kazoo estate, a Cloudflare target holds `docs × services-per-doc`
 * connectivity services on a Cloudflare emulator; apply also updates
 * `--cf-updates` of them. The minimum request counts are bench/minimum.ts.
 *
 * --repeat N runs every scenario N times and reports its median run, with the
 * range over the runs beside it (this machine's timings move by ±20 %).
 *
 * --baseline REV also runs validate and the two 0 ms plans (no changes, 100 %
 * drift) with REV's committed dist/cli.js, and this build's CLI bundled the
 * same way, both through bench/wrapper.ts, alternately; RESULTS.md compares
 * their medians (see BASELINE_REV).
 */
import { spawn } from 'node:child_process';
import { build } from 'esbuild';
import { BUNDLE_OPTIONS, NO_HTTP_IN_WORKER } from '../scripts/bundle-options.mjs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONCURRENCY } from '../src/core/config.ts';
import type { JsonObject } from '../src/core/json.ts';
import type { TargetConfig } from '../src/core/model.ts';
import { kazooConnectivity } from '../src/providers/kazoo/provider.ts';
import { startKazooEmulator, type KazooEmulator } from '../src/emulator/kazoo/server.ts';
import {
  startCloudflareEmulator,
  type CloudflareEmulator,
} from '../src/emulator/cloudflare/server.ts';
import {
  BENCH_API_KEY,
  BENCH_CLOUDFLARE,
  drifted,
  driftedService,
  driftMovesNumbers,
  generateEstate,
  type Estate,
} from './estate.ts';
import {
  numberReads,
  minimumApplyRequests,
  minimumPlanRequests,
  type EstateShape,
} from './minimum.ts';
import { assignNumbers } from '../src/emulator/examples.ts';
import type { FloorWrite } from './floor.ts';
import type { ScenarioResult } from './scenario.ts';
import { bundleCurrent, bundleWrapper, extractBaseline, runWrapped } from './baseline.ts';
import {
  baselineSection,
  baselineTargetLines,
  failed,
  failureText,
  type BaselinePair,
  type BaselineStatus,
  type Side,
} from './baseline-report.ts';

/**
 * The build `--baseline` compares against by default: 78db091 (2026-12-02),
 * main's last commit before the phone-number work (issue 19), whose committed
 * dist/ is the "today's" build that issue's "validate and plan times must stay
 * within 10 % of today's in the same run" means. Its bundle exports
 * `main(argv)` like every later dist/cli.js, so the same wrapper runs both.
 */
const BASELINE_REV = '78db091';

interface Options {
  accounts: number;
  docs: number;
  didsMin: number;
  didsMax: number;
  latencies: number[];
  scales: number[];
  concurrency: number;
  updates: number;
  /** Cloudflare services per Kazoo document (0: no Cloudflare target). */
  servicesPerDoc: number;
  /** Cloudflare services apply updates. */
  cfUpdates: number;
  repeat: number;
  quick: boolean;
  /** The commit whose committed bundle the baseline rows run; null: no baseline rows (`--baseline none`). */
  baseline: string | null;
}

/** A scenario must finish within this, or the bench stops it and reports the timeout. */
const SCENARIO_TIMEOUT_MS = 5 * 60_000;

function parseOptions(argv: readonly string[]): Options {
  const quick = argv.includes('--quick');
  const o: Options = quick
    ? {
        accounts: 100,
        docs: 1000,
        didsMin: 20,
        didsMax: 200,
        latencies: [0, 20],
        scales: [300, 1000],
        concurrency: 32,
        updates: 100,
        servicesPerDoc: 0.25,
        cfUpdates: 20,
        repeat: 1,
        quick,
        baseline: BASELINE_REV,
      }
    : {
        accounts: 1000,
        docs: 10000,
        didsMin: 20,
        didsMax: 200,
        latencies: [0, 20],
        scales: [1000, 10000, 50000],
        concurrency: 32,
        updates: 1000,
        servicesPerDoc: 0.25,
        cfUpdates: 100,
        repeat: 1,
        quick,
        baseline: BASELINE_REV,
      };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1] ?? '';
    const list = (): number[] => value.split(',').map(Number);
    switch (flag) {
      case '--accounts':
        o.accounts = Number(value);
        break;
      case '--docs':
        o.docs = Number(value);
        break;
      case '--dids': {
        const [lo, hi] = value.split('..').map(Number);
        o.didsMin = lo ?? o.didsMin;
        o.didsMax = hi ?? lo ?? o.didsMax;
        break;
      }
      case '--latency':
        o.latencies = list();
        break;
      case '--scales':
        o.scales = list();
        break;
      case '--concurrency':
        o.concurrency = Number(value);
        break;
      case '--updates':
        o.updates = Number(value);
        break;
      case '--services-per-doc':
        o.servicesPerDoc = Number(value);
        break;
      case '--cf-updates':
        o.cfUpdates = Number(value);
        break;
      case '--baseline':
        o.baseline = value === 'none' ? null : value;
        break;
      case '--repeat':
        o.repeat = Math.max(1, Math.floor(Number(value)) || 1);
        break;
      default:
        continue;
    }
    i++;
  }
  return o;
}

interface Row {
  readonly scenario: string;
  readonly docs: number;
  readonly latencyMs: number | null;
  /** The median run (by time) of `runs`. */
  readonly result: ScenarioResult;
  /** Every run of the scenario (one unless --repeat). */
  readonly runs: readonly ScenarioResult[];
  /** Requests the emulator saw (cross-check of the client's count). */
  readonly serverRequests: number | null;
  /** Fewest requests the scenario could make. */
  readonly minRequests: number | null;
  /** (requests made × latency) / concurrency, ms. */
  readonly lowerBoundMs: number | null;
}

/**
 * Bundles bench/scenario.ts the way scripts/build.mjs bundles the CLI, so the
 * scenarios time the code as it ships (plain JavaScript, not tsx's on-the-fly
 * transform, which adds its own cost to every function).
 */
async function bundleScenario(dir: string): Promise<string> {
  // The worker that `validate` starts for a large repo is looked up beside the bundle,
  // as dist/check-worker.js is beside dist/cli.js (an ES module, as the package says).
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  await build({
    ...BUNDLE_OPTIONS,
    entryPoints: { scenario: join(import.meta.dirname, 'scenario.ts') },
    outdir: dir,
  });
  await build({
    ...BUNDLE_OPTIONS,
    entryPoints: { 'check-worker': join(import.meta.dirname, '../src/engine/check-worker.ts') },
    outdir: dir,
    plugins: [NO_HTTP_IN_WORKER],
  });
  return join(dir, 'scenario.js');
}

/** The whole environment of a scenario's process: PATH, the trunk passwords and both emulators. */
function scenarioEnv(estate: Estate, url: string, cloudflareUrl: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '',
    ...estate.env,
    KAZOO_URL: url,
    KAZOO_API_KEY: BENCH_API_KEY,
    CLOUDFLARE_URL: cloudflareUrl,
    CLOUDFLARE_TOKEN: BENCH_CLOUDFLARE.token,
  };
}

/** One run of a scenario and the requests the emulators saw during it. */
interface RunOf {
  readonly result: ScenarioResult;
  readonly serverRequests: number;
}

interface PreparedBaseline {
  readonly status: BaselineStatus;
  /** The bundled wrapper and both builds' cli.js, when the baseline could be extracted. */
  readonly builds?: {
    readonly wrapper: string;
    readonly baseline: string;
    readonly current: string;
  };
}

/**
 * Extracts the baseline's bundle (`git show` in the repo root) and bundles this
 * build and the wrapper beside it. A missing git or commit (a shallow clone) is
 * one line on stderr and no baseline rows, never a failed run.
 */
async function prepareBaseline(
  root: string,
  rev: string | null,
  say: (s: string) => void,
): Promise<PreparedBaseline> {
  if (rev === null) return { status: { kind: 'off' } };
  const extracted = await extractBaseline(
    rev,
    join(import.meta.dirname, '..'),
    join(root, 'baseline'),
  );
  if (!extracted.ok) {
    say(`baseline ${rev} skipped: ${extracted.reason}`);
    return { status: { kind: 'skipped', rev, reason: extracted.reason } };
  }
  say(
    `baseline ${extracted.label}: its committed dist/cli.js, against this build through bench/wrapper.ts`,
  );
  const [wrapper, current] = await Promise.all([
    bundleWrapper(root),
    bundleCurrent(join(root, 'current')),
  ]);
  return {
    status: { kind: 'measured', rev, label: extracted.label },
    builds: { wrapper, baseline: extracted.cli, current },
  };
}

/** Runs the bundled scenario in a child process and parses its JSON line. */
async function runScenario(
  script: string,
  argv: string[],
  estate: Estate,
  url: string,
  cloudflareUrl: string,
): Promise<ScenarioResult> {
  const child = spawn(process.execPath, [script, JSON.stringify({ argv, cwd: estate.dir })], {
    cwd: join(import.meta.dirname, '..'),
    env: scenarioEnv(estate, url, cloudflareUrl),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), SCENARIO_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  const line = out.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ScenarioResult;
  } catch {
    // A failed or stopped scenario is a row in the results, not the end of the run.
    const reason = code === null ? `stopped after ${SCENARIO_TIMEOUT_MS / 1000} s` : `exit ${code}`;
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

/** Seeds the emulators' stores directly (no HTTP) and switches drift variants cheaply. */
class LiveState {
  private drift = new Set<number>();
  private serviceDrift = new Set<number>();
  constructor(
    private readonly emulator: KazooEmulator,
    private readonly cloudflare: CloudflareEmulator,
    private readonly estate: Estate,
  ) {
    const docs: Record<string, JsonObject[]> = {};
    for (const d of estate.docs) (docs[d.account] ??= []).push({ ...d.live, _id: d.id });
    emulator.seed({ accounts: [estate.reseller, ...estate.accounts], docs });
    // Every DID is its account's in the number manager, as on a working server (§12).
    assignNumbers(
      emulator,
      estate.docs.map((d) => ({ account: d.account, body: d.live })),
    );
    cloudflare.seed({ services: estate.services });
  }

  /** The documents `setDrift(count)` drifts: `count` spread evenly over the estate. */
  private driftIndices(count: number): Set<number> {
    const step = count > 0 ? this.estate.docs.length / count : 0;
    const next = new Set<number>();
    for (let i = 0; i < count; i++) next.add(Math.floor(i * step));
    return next;
  }

  /** Kazoo accounts in which applying `setDrift(count)` claims a DID: one number fix each. */
  numberAccounts(count: number): number {
    return this.claimed(count).size;
  }

  /**
   * The number-manager requests a plan of `setDrift(count)` makes: in the
   * accounts where it routes DIDs anew (the ownership check reads no others).
   */
  numberReads(count: number): number {
    return numberReads(this.estate.docs, this.claimed(count));
  }

  /** Per account, the DIDs applying `setDrift(count)` routes anew (one per drifted document that lost one). */
  private claimed(count: number): Map<string, number> {
    const accounts = new Map<string, number>();
    for (const i of this.driftIndices(count)) {
      const d = this.estate.docs[i];
      if (d && driftMovesNumbers(d.live, i))
        accounts.set(d.account, (accounts.get(d.account) ?? 0) + 1);
    }
    return accounts;
  }

  /**
   * Drifts `count` documents spread evenly over the estate (and `services`
   * Cloudflare services, by default the same share of them); the rest match git again.
   */
  setDrift(count: number, services?: number): void {
    const total = this.estate.services.length;
    const cf = Math.min(
      total,
      services ?? Math.round((count * total) / Math.max(1, this.estate.docs.length)),
    );
    const cfStep = cf > 0 ? total / cf : 0;
    const cfNext = new Set<number>();
    for (let i = 0; i < cf; i++) cfNext.add(Math.floor(i * cfStep));
    const reseed: JsonObject[] = [];
    for (const i of new Set([...this.serviceDrift, ...cfNext])) {
      const live = this.estate.services[i];
      if (live) reseed.push(cfNext.has(i) ? driftedService(live, i) : live);
    }
    this.cloudflare.seed({ services: reseed });
    this.serviceDrift = cfNext;

    const next = this.driftIndices(count);
    const docs: Record<string, JsonObject[]> = {};
    for (const i of new Set([...this.drift, ...next])) {
      const d = this.estate.docs[i];
      if (!d) continue;
      const body = next.has(i) ? drifted(d.live, i) : d.live;
      (docs[d.account] ??= []).push({ ...body, _id: d.id });
    }
    this.emulator.seed({ docs });
    this.drift = next;
  }

  /** After an apply the drifted documents match git again (with new revisions). */
  forgetDrift(): void {
    this.drift = new Set();
    this.serviceDrift = new Set();
  }

  /**
   * The PATCHes an apply sends for the drifted documents, built as the plan
   * builds them (normalise both sides, smallest merge patch, the ownership
   * marker when missing): the bodies for the writes floor.
   */
  floorWrites(): FloorWrite[] {
    const target: TargetConfig = {
      name: 'kazoo-bench',
      type: 'kazoo',
      schema: '4.3',
      auth: {},
      concurrency: 1,
      timeout_ms: 60_000,
      source: { file: 'connops.yaml', line: 1, col: 1 },
    };
    const p = kazooConnectivity;
    return [...this.drift].map((i) => {
      const d = this.estate.docs[i] as Estate['docs'][number];
      const live = drifted(d.live, i);
      const { body } = p.buildUpdate(p.normalize(live, target), p.normalize(d.live, target), {});
      return {
        path: `/accounts/${d.account}/connectivity/${d.id}`,
        body: body && !p.isManaged(live) ? p.markManaged(body) : body,
      };
    });
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const root = await mkdtemp(join(tmpdir(), 'connops-bench-'));
  const rows: Row[] = [];
  const pairs: BaselinePair[] = [];
  const started = Date.now();
  const say = (s: string): void => void process.stderr.write(`[${elapsed(started)}] ${s}\n`);
  let compare: PreparedBaseline = { status: { kind: 'off' } };
  try {
    const script = await bundleScenario(root);
    compare = await prepareBaseline(root, options.baseline, say);
    const scales = [...new Set([options.docs, ...options.scales])].sort((a, b) => a - b);
    for (const docs of scales) {
      const accounts = Math.max(1, Math.round((options.accounts * docs) / options.docs));
      say(`generating ${docs} documents in ${accounts} accounts`);
      const estate = await generateEstate(join(root, String(docs)), {
        accounts,
        docs,
        didsMin: options.didsMin,
        didsMax: options.didsMax,
        concurrency: options.concurrency,
        services: Math.round(docs * options.servicesPerDoc),
      });
      say(
        `  ${(estate.bytes / 1e6).toFixed(1)} MB of YAML, ${estate.dids} DIDs, ${estate.services.length} Cloudflare services`,
      );
      const emulator = await startKazooEmulator({ host: '127.0.0.1', accounts: [] });
      // The bench measures connops, not the emulator's rate limit: connops keeps its
      // own client-side budget of 1,200 per 5 minutes within each scenario's process.
      const cloudflare = await startCloudflareEmulator({
        accountId: BENCH_CLOUDFLARE.accountId,
        token: BENCH_CLOUDFLARE.token,
        rateLimit: { requests: Number.MAX_SAFE_INTEGER, windowS: 300 },
      });
      const live = new LiveState(emulator, cloudflare, estate);
      const cfg = ['-c', estate.configPath];
      const shape: EstateShape = {
        kazooAccounts: accounts,
        kazooDocs: docs,
        // Without changes a plan routes no DID, so it reads no number page.
        kazooNumberReads: 0,
        services: estate.services.length,
      };
      const minReads = minimumPlanRequests(shape);
      // The floors are bare Kazoo clients: they make only the Kazoo share of the requests.
      const minKazooReads = minimumPlanRequests({ ...shape, services: 0 });
      const requestsSeen = (): number => emulator.requestCount() + cloudflare.requestCount();
      const scenario = async (
        name: string,
        argv: string[],
        latencyMs: number | null,
        minRequests: number | null,
        extra: {
          readonly prepare?: () => void;
          /** A config whose targets have this concurrency (default: the estate's). */
          readonly concurrency?: number;
        } = {},
      ): Promise<void> => {
        const concurrency = extra.concurrency ?? options.concurrency;
        const config =
          concurrency === options.concurrency
            ? cfg
            : ['-c', await configWithConcurrency(estate.configPath, concurrency)];
        emulator.faults.update({ latencyMs: latencyMs ?? 0 });
        cloudflare.faults.update({ latencyMs: latencyMs ?? 0 });
        say(`${name} (${docs} docs${latencyMs !== null ? `, ${latencyMs} ms` : ''})`);
        const runs: Array<{ result: ScenarioResult; serverRequests: number }> = [];
        for (let n = 0; n < options.repeat; n++) {
          extra.prepare?.();
          const before = requestsSeen();
          const result = await runScenario(
            script,
            [...argv, ...config],
            estate,
            emulator.url,
            cloudflare.url,
          );
          runs.push({ result, serverRequests: requestsSeen() - before });
          say(
            `  ${(result.ms / 1000).toFixed(2)} s, ${result.maxRssMb.toFixed(0)} MB, ${result.summary}`,
          );
        }
        const { result, serverRequests } = medianRun(runs);
        const lowerBoundMs =
          latencyMs !== null && latencyMs > 0
            ? (result.totalRequests * latencyMs) / concurrency
            : null;
        rows.push({
          scenario: name,
          docs,
          latencyMs,
          result,
          runs: runs.map((r) => r.result),
          serverRequests: latencyMs === null ? null : serverRequests,
          minRequests,
          lowerBoundMs,
        });
      };
      /**
       * The baseline build and this one through the same wrapper, alternately
       * (baseline first), right after the main rows of the same scenario so both
       * see the live state those rows saw.
       */
      const versus = async (
        name: string,
        argv: string[],
        latencyMs: number | null,
      ): Promise<void> => {
        if (compare.status.kind !== 'measured' || !compare.builds) return;
        const { wrapper, baseline, current } = compare.builds;
        emulator.faults.update({ latencyMs: latencyMs ?? 0 });
        cloudflare.faults.update({ latencyMs: latencyMs ?? 0 });
        const sides = { baseline: [] as RunOf[], current: [] as RunOf[] };
        for (let n = 0; n < options.repeat; n++) {
          for (const side of ['baseline', 'current'] as const) {
            say(
              `${name} (${docs} docs, ${side === 'baseline' ? compare.status.rev : 'this build'} through the wrapper)`,
            );
            const before = requestsSeen();
            const result = await runWrapped({
              wrapper,
              cli: side === 'baseline' ? baseline : current,
              argv: [...argv, ...cfg],
              cwd: estate.dir,
              env: scenarioEnv(estate, emulator.url, cloudflare.url),
              timeoutMs: SCENARIO_TIMEOUT_MS,
            });
            sides[side].push({ result, serverRequests: requestsSeen() - before });
            say(
              `  ${(result.ms / 1000).toFixed(2)} s, ${result.maxRssMb.toFixed(0)} MB, ${failed(result) ? failureText(result) : result.summary}`,
            );
          }
        }
        // A side with a failed run shows that failure, not the median of the runs that worked.
        const side = (runs: RunOf[]): Side => ({
          ...(runs.find((r) => failed(r.result)) ?? medianRun(runs)),
          runs: runs.map((r) => r.result),
        });
        pairs.push({
          scenario: name,
          latencyMs,
          current: side(sides.current),
          baseline: side(sides.baseline),
        });
      };
      const main = docs === options.docs;
      try {
        await scenario('validate', ['validate'], null, null);
        if (main) await versus('validate', ['validate'], null);
        const latencies = main ? options.latencies : [0];
        const drifts = main
          ? [
              ['no changes', 0],
              ['1 % drift', Math.round(docs / 100)],
              ['100 % drift', docs],
            ]
          : [['no changes', 0]];
        for (const latency of latencies) {
          for (const [label, count] of drifts as Array<[string, number]>) {
            live.setDrift(count);
            await scenario(
              `plan, ${label}`,
              ['plan'],
              latency,
              minimumPlanRequests({ ...shape, kazooNumberReads: live.numberReads(count) }),
            );
            if (main && latency === 0) await versus(`plan, ${label}`, ['plan'], latency);
          }
        }
        if (main) {
          // The rig's own floor at the highest latency: the same reads without connops.
          const latency = Math.max(...options.latencies);
          const floorPaths = [
            ...estate.accounts.map((a) => `/accounts/${a.id}/connectivity`),
            ...estate.docs.map((d) => `/accounts/${d.account}/connectivity/${d.id}`),
          ];
          await writeFile(join(estate.dir, 'floor-requests.json'), JSON.stringify(floorPaths));
          live.setDrift(0);
          await scenario(
            'floor: bare client, same reads',
            ['floor', String(options.concurrency)],
            latency,
            minKazooReads,
          );
          // The same pair at the default concurrency, which most targets keep.
          if (options.concurrency !== DEFAULT_CONCURRENCY) {
            const at = { concurrency: DEFAULT_CONCURRENCY };
            const suffix = `, concurrency ${DEFAULT_CONCURRENCY} (the default)`;
            await scenario(`plan, no changes${suffix}`, ['plan'], latency, minReads, at);
            await scenario(
              `floor: bare client${suffix}`,
              ['floor', String(DEFAULT_CONCURRENCY)],
              latency,
              minKazooReads,
              at,
            );
          }
        }
        if (main) {
          // A pull request that changes one document: the estate in a real git
          // repo, one commit changing customer-0's first document, planned as
          // the Action's PR job plans it (only the accounts the change touches).
          const latency = Math.max(...options.latencies);
          const touched = estate.docs.filter((d) => d.account === estate.accounts[0]?.id).length;
          const undo = await commitOneChange(estate.dir);
          live.setDrift(0);
          await scenario(
            'PR plan: one document changed (--changed-since, --scope accounts)',
            ['plan', '--changed-since', 'HEAD~1', '--scope', 'accounts'],
            latency,
            // sign-in, the account's listing page, its documents (the change routes no DID)
            1 + 1 + touched,
          );
          await undo();
        }
        if (main) {
          const updates = Math.min(options.updates, docs);
          const cfUpdates = Math.min(options.cfUpdates, estate.services.length);
          const latency = Math.max(...options.latencies);
          const minApply = minimumApplyRequests(
            { ...shape, kazooNumberReads: live.numberReads(updates) },
            {
              kazoo: updates,
              cloudflare: cfUpdates,
              numberAccounts: live.numberAccounts(updates),
            },
          );
          const label = `apply ${updates} + ${cfUpdates} Cloudflare updates`;
          // Each run drifts the same documents again (the run before converged them).
          await scenario(label, ['apply', '--yes'], latency, minApply, {
            prepare: () => live.setDrift(updates, cfUpdates),
          });
          if (options.concurrency !== DEFAULT_CONCURRENCY)
            await scenario(
              `${label}, concurrency ${DEFAULT_CONCURRENCY} (the default)`,
              ['apply', '--yes'],
              latency,
              minApply,
              {
                prepare: () => live.setDrift(updates, cfUpdates),
                concurrency: DEFAULT_CONCURRENCY,
              },
            );
          // The same PATCHes and read-backs from a bare client (drifted again before each run).
          live.setDrift(updates, 0);
          await writeFile(
            join(estate.dir, 'floor-writes.json'),
            JSON.stringify(live.floorWrites()),
          );
          await scenario(
            'floor: bare client, same writes',
            ['floor-writes', String(options.concurrency)],
            latency,
            2 * updates,
            { prepare: () => live.setDrift(updates, 0) },
          );
          if (options.concurrency !== DEFAULT_CONCURRENCY)
            await scenario(
              `floor: bare client, same writes, concurrency ${DEFAULT_CONCURRENCY} (the default)`,
              ['floor-writes', String(DEFAULT_CONCURRENCY)],
              latency,
              2 * updates,
              { prepare: () => live.setDrift(updates, 0), concurrency: DEFAULT_CONCURRENCY },
            );
          live.forgetDrift();
        }
      } finally {
        await Promise.all([emulator.close(), cloudflare.close()]);
      }
      await rm(estate.dir, { recursive: true, force: true });
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const text = render(rows, pairs, compare.status, options, command, Date.now() - started);
  process.stdout.write(text);
  await writeFile(join(import.meta.dirname, 'RESULTS.md'), text);
}

/**
 * Makes the estate folder a git repository (one commit of everything), then
 * commits a change to the first document of customer-0's file. The change is
 * to a field that is not in the live state, so the plan shows one update.
 */
async function commitOneChange(dir: string): Promise<() => Promise<void>> {
  const git = async (...args: string[]): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('git', args, {
        cwd: dir,
        stdio: 'ignore',
        env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_SYSTEM: '/dev/null' },
      });
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`git ${args[0]} exited ${code}`)),
      );
    });
  };
  await git('init', '-q', '-b', 'main');
  for (const [k, v] of [
    ['user.name', 'connops bench'],
    ['user.email', 'bench@connops.invalid'],
    ['commit.gpgsign', 'false'],
  ] as const)
    await git('config', k, v);
  await git('add', '-A');
  await git('commit', '-q', '-m', 'estate');
  const file = join(dir, 'connectivity', 'customer-0.yaml');
  const text = await readFile(file, 'utf8');
  await writeFile(
    file,
    text.replace('        enabled: true', '        enabled: true\n        delay: 2'),
  );
  await git('commit', '-q', '-a', '-m', 'one document changed');
  // The scenarios after this one time the estate as generated, outside git.
  return async () => {
    await writeFile(file, text);
    await rm(join(dir, '.git'), { recursive: true, force: true });
  };
}

/** A copy of the estate's config beside it whose targets have another concurrency; returns its path. */
async function configWithConcurrency(configPath: string, concurrency: number): Promise<string> {
  const text = await readFile(configPath, 'utf8');
  const changed = text.replace(/^(\s+concurrency:) \d+$/gm, `$1 ${concurrency}`);
  if (changed === text) throw new Error(`bench: no concurrency line in ${configPath}`);
  const path = configPath.replace(/\.yaml$/, `-c${concurrency}.yaml`);
  await writeFile(path, changed);
  return path;
}

/** The run with the median time (the lower middle one for an even count). */
function medianRun<T extends { result: ScenarioResult }>(runs: readonly T[]): T {
  const sorted = [...runs].sort((a, b) => a.result.ms - b.result.ms);
  return sorted[Math.floor((sorted.length - 1) / 2)] as T;
}

function elapsed(since: number): string {
  const s = Math.round((Date.now() - since) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

const fmt = (n: number, digits = 2): string => n.toFixed(digits);

/** `pick` of the median run, and the range over the runs when they differ: "12.10 (11.73–12.75)". */
function withRange(
  runs: readonly ScenarioResult[],
  pick: (r: ScenarioResult) => number,
  median: ScenarioResult,
  digits = 2,
): string {
  const shown = fmt(pick(median), digits);
  if (runs.length < 2) return shown;
  const [lo, hi] = [
    fmt(Math.min(...runs.map(pick)), digits),
    fmt(Math.max(...runs.map(pick)), digits),
  ];
  return lo === hi ? shown : `${shown} (${lo}–${hi})`;
}

/** Issue 24 item 3: peak RSS under 1 GB at 50,000 documents (the growth rows at that scale). */
function largeScaleTargetLines(rows: readonly Row[]): string[] {
  const at = rows.filter((r) => r.docs >= 50_000 && r.latencyMs !== 20);
  if (at.length === 0) return [];
  const top = at.reduce((a, b) => (b.result.maxRssMb > a.result.maxRssMb ? b : a));
  return [
    `- peak RSS < 1 GB at ${top.docs} documents (${at.map((r) => `${r.scenario} ${fmt(r.result.maxRssMb, 0)} MB`).join(', ')}): ${top.result.maxRssMb < 1024 ? 'met' : '**not met**'}`,
  ];
}

/**
 * Issue 24 item 2: the whole command against the bare-client floor of the
 * same run and concurrency: a plan without changes against the reads floor,
 * an apply against the reads floor plus the writes floor (the floors make the
 * Kazoo requests only; the apply also writes Cloudflare services, so its
 * ratio is a little against it).
 */
export function floorTargetLines(rows: readonly Row[], concurrency: number): string[] {
  const out: string[] = [];
  const mark = (ok: boolean): string => (ok ? 'met' : '**not met**');
  for (const c of [concurrency, DEFAULT_CONCURRENCY]) {
    const suffix = c === concurrency ? '' : `, concurrency ${c} (the default)`;
    const reads = rows.find(
      (r) => r.scenario === `floor: bare client${suffix ? suffix : ', same reads'}`,
    );
    const writes = rows.find((r) => r.scenario === `floor: bare client, same writes${suffix}`);
    const plan = rows.find((r) => r.scenario === `plan, no changes${suffix}` && r.latencyMs === 20);
    const apply = rows.find(
      (r) =>
        r.scenario.startsWith('apply') &&
        r.scenario.endsWith(suffix) &&
        (suffix !== '' || !r.scenario.includes('concurrency')),
    );
    const line = (what: string, row: Row | undefined, floorMs: number | undefined): void => {
      if (!row || floorMs === undefined) return;
      const ratio = row.result.ms / floorMs;
      const worst = Math.max(...row.runs.map((x) => x.ms)) / floorMs;
      out.push(
        `- ${what}, concurrency ${c}, 20 ms, whole command within 1.15× of the bare-client floor (issue 24): ${fmt(ratio)}× (${fmt(worst)}×): ${mark(ratio <= 1.15)}`,
      );
    };
    line('plan, no changes', plan, reads?.result.ms);
    line(
      apply?.scenario.replace(/, concurrency.*$/, '') ?? 'apply',
      apply,
      reads && writes ? reads.result.ms + writes.result.ms : undefined,
    );
    if (suffix === '' && c === DEFAULT_CONCURRENCY) break;
  }
  return out;
}

/**
 * The issues' targets (validate < 2 s, plan and apply at 20 ms within 1.3× of
 * the lower bound, peak RSS < 500 MB, no request beyond the minimum) checked
 * against this run's rows: the median run decides, the worst run is shown.
 */
function targetLines(rows: readonly Row[], concurrency: number): string[] {
  const out = ['## Targets (median run; worst run in brackets)', ''];
  const mark = (ok: boolean): string => (ok ? 'met' : '**not met**');
  const validate = rows.find((r) => r.scenario === 'validate');
  if (validate) {
    const worst = Math.max(...validate.runs.map((x) => x.ms)) / 1000;
    const t = validate.result.ms / 1000;
    out.push(`- validate < 2 s: ${fmt(t)} s (${fmt(worst)}): ${mark(t < 2)}`);
  }
  const timed = rows.filter(
    (r) =>
      r.lowerBoundMs !== null &&
      (r.scenario.startsWith('plan, no changes') || r.scenario.startsWith('apply')),
  );
  for (const r of timed) {
    const lb = r.lowerBoundMs as number;
    const ratio = r.result.ms / lb;
    const worst = Math.max(...r.runs.map((x) => x.ms)) / lb;
    const name = r.scenario.includes('concurrency')
      ? r.scenario
      : `${r.scenario}, concurrency ${concurrency}`;
    out.push(
      `- ${name}, ${r.latencyMs} ms, within 1.3× of the lower bound: ${fmt(ratio)}× (${fmt(worst)}×): ${mark(ratio <= 1.3)}`,
    );
  }
  for (const r of rows.filter((x) => x.scenario.startsWith('PR plan'))) {
    const t = r.result.ms / 1000;
    const worst = Math.max(...r.runs.map((x) => x.ms)) / 1000;
    out.push(
      `- PR plan of one changed document, ${r.latencyMs} ms, under 2 s with only the touched account's requests (${r.minRequests}): ${fmt(t)} s (${fmt(worst)} s), ${r.result.totalRequests} requests: ${mark(t < 2 && r.result.totalRequests === r.minRequests)}`,
    );
  }
  const connops = rows.filter((r) => !r.scenario.startsWith('floor'));
  const peaks = connops.map((r) => ({ r, mb: Math.max(...r.runs.map((x) => x.maxRssMb)) }));
  const top = peaks.reduce((a, b) => (b.mb > a.mb ? b : a), peaks[0] as (typeof peaks)[number]);
  if (top) {
    const median = Math.max(...connops.map((r) => r.result.maxRssMb));
    out.push(
      `- peak RSS < 500 MB in every scenario: highest median ${fmt(median, 0)} MB (highest run ${fmt(top.mb, 0)} MB, ${top.r.scenario}): ${mark(median < 500)}`,
    );
  }
  out.push(...floorTargetLines(rows, concurrency));
  const counted = connops.filter((r) => r.minRequests !== null && r.latencyMs !== null);
  const extra = counted.filter((r) => r.runs.some((x) => x.totalRequests > (r.minRequests ?? 0)));
  out.push(
    `- no request beyond the minimum: ${extra.length === 0 ? 'every run of every scenario' : `exceeded in ${extra.map((r) => r.scenario).join(', ')}`}: ${mark(extra.length === 0)}`,
  );
  return out;
}

function render(
  rows: readonly Row[],
  pairs: readonly BaselinePair[],
  baseline: BaselineStatus,
  o: Options,
  command: string,
  totalMs: number,
): string {
  const mainRows = rows.filter((r) => r.docs === o.docs);
  const lines: string[] = [
    '# connops benchmark results',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${fmt(totalmem() / 2 ** 30, 1)} GiB memory, Node ${process.version}, ${process.platform}/${process.arch}`,
    `- Command: \`${command}\` (whole run ${fmt(totalMs / 60_000, 1)} min)`,
    `- Estate: ${o.docs} documents in ${o.accounts} accounts, ${o.didsMin}..${o.didsMax} DIDs per document (log-uniform, split over 1-3 servers), password (\`\${env:}\`) and IP servers; plus ${Math.round(o.docs * o.servicesPerDoc)} Cloudflare connectivity services on a Cloudflare emulator (apply updates ${o.cfUpdates} of them: PUT + one read-back GET each)`,
    `- Target concurrency: ${o.concurrency} (\`targets.*.concurrency\` in the generated connops.yaml), and ${DEFAULT_CONCURRENCY} (the default) where a row says so; Kazoo and Cloudflare emulators on 127.0.0.1 in the parent process, each scenario in its own child process running the CLI bundled as it ships`,
    '- Lower bound = (requests actually made × emulator latency) / concurrency. Ratio = time / lower bound (1.00 is perfect).',
    '- Shared machine: other jobs may run at the same time, so absolute times are noisy; compare ratios measured in the same run.',
    o.repeat > 1
      ? `- Runs per scenario: ${o.repeat}; each row is the median run (by time), with the range over all runs in brackets.`
      : '- Runs per scenario: 1 (`--repeat N` runs each N times and reports the median).',
    '',
    `## Scenarios at ${o.docs} documents`,
    '',
    '| scenario | latency | time (s) | online (s) | requests (server) | min requests | lower bound (s) | ratio time / online | peak RSS (MB) | result |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of mainRows) {
    const x = r.result;
    const lb = r.lowerBoundMs;
    lines.push(
      `| ${r.scenario} | ${r.latencyMs === null ? '–' : `${r.latencyMs} ms`} | ${withRange(r.runs, (y) => y.ms / 1000, x)} | ${withRange(r.runs, (y) => y.onlineMs / 1000, x)} | ${withRange(r.runs, (y) => y.totalRequests, x, 0)}${r.serverRequests !== null ? ` (${r.serverRequests})` : ''} | ${r.minRequests ?? '–'} | ${lb !== null ? fmt(lb / 1000) : '–'} | ${lb !== null ? `${fmt(x.ms / lb)} / ${fmt(x.onlineMs / lb)}` : '–'} | ${withRange(r.runs, (y) => y.maxRssMb, x, 0)} | ${x.summary.replace(/\|/g, '/')}${x.code > 2 || x.code === 1 ? ` (exit ${x.code})` : ''} |`,
    );
  }
  const validate = mainRows.find((r) => r.scenario === 'validate');
  if (validate)
    lines.push('', `Validate: ${fmt(o.docs / (validate.result.ms / 1000), 0)} documents/s.`);
  lines.push(
    '',
    ...targetLines(mainRows, o.concurrency),
    ...largeScaleTargetLines(rows),
    ...baselineTargetLines(baseline, pairs),
  );
  lines.push(
    '',
    '"online" is the time from the first request to the end of the last; the rest of "time" is loading and validating the documents and building and printing the plan.',
    '',
    'The floor rows time only their own requests. The writes floor first signs in and GETs each drifted document for its revision, untimed (the server count includes those); its PATCH bodies are the ones apply sends.',
    '',
    ...baselineSection(baseline, pairs, o.repeat),
    '## Growth (validate; plan without changes at 0 ms)',
    '',
    '| documents | validate (s) | per doc (ms) | ratio to smallest | peak RSS (MB) | plan (s) | per doc (ms) | ratio to smallest | peak RSS (MB) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  const scales = [...new Set(rows.map((r) => r.docs))].sort((a, b) => a - b);
  const perDoc = (r: Row | undefined): number | undefined => (r ? r.result.ms / r.docs : undefined);
  const base = {
    validate: perDoc(rows.find((r) => r.docs === scales[0] && r.scenario === 'validate')),
    plan: perDoc(
      rows.find(
        (r) => r.docs === scales[0] && r.scenario === 'plan, no changes' && r.latencyMs === 0,
      ),
    ),
  };
  for (const docs of scales) {
    const v = rows.find((r) => r.docs === docs && r.scenario === 'validate');
    const p = rows.find(
      (r) => r.docs === docs && r.scenario === 'plan, no changes' && r.latencyMs === 0,
    );
    const cell = (r: Row | undefined, b: number | undefined): string => {
      const pd = perDoc(r);
      if (!r || pd === undefined) return '– | – | – | –';
      return `${fmt(r.result.ms / 1000)} | ${fmt(pd, 3)} | ${b ? fmt(pd / b) : '–'} | ${fmt(r.result.maxRssMb, 0)}`;
    };
    lines.push(`| ${docs} | ${cell(v, base.validate)} | ${cell(p, base.plan)} |`);
  }
  lines.push('', 'Per-document cost ratios near 1.0 across scales mean linear growth.', '');
  return lines.join('\n');
}

await main();
