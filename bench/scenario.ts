/**
 * One benchmark scenario in its own process, so peak RSS belongs to that
 * scenario alone: runs one CLI command in-process, counts every HTTP attempt
 * through `httpOverrides.deps.onRequest`, and prints one JSON line.
 *
 * Usage: node <bundle of this file> '<json ScenarioArgs>' (bench/run.ts bundles it)
 * (the environment carries KAZOO_URL, KAZOO_API_KEY and the trunk passwords).
 */
import { run } from '../src/cli/main.ts';
import { memoryIO } from '../src/cli/io.ts';
import { httpOverrides } from '../src/engine/project.ts';
import { tuneHeap } from '../src/io/heap.ts';
import { readFloor, writeFloor } from './floor.ts';

export interface ScenarioArgs {
  readonly argv: readonly string[];
  readonly cwd: string;
}

export interface ScenarioResult {
  readonly code: number;
  /** Wall time of the command, ms. */
  readonly ms: number;
  /** From the first request's start to the last request's end, ms (0 without requests). */
  readonly onlineMs: number;
  /** HTTP attempts by method. */
  readonly requests: Record<string, number>;
  readonly totalRequests: number;
  /** Most attempts in flight at once. */
  readonly maxInFlight: number;
  /** Peak resident set size, MB. */
  readonly maxRssMb: number;
  readonly summary: string;
  readonly stderrTail: string;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as ScenarioArgs;
  if (args.argv[0] === 'floor' || args.argv[0] === 'floor-writes') return floor(args);
  tuneHeap(); // as the shipped entries (src/cli/entry.ts, src/action/entry.ts) do
  const requests: Record<string, number> = {};
  let total = 0;
  let first = Infinity;
  let last = 0;
  // onRequest fires when an attempt ends; its start is end - duration.
  const spans: Array<[number, number]> = [];
  httpOverrides.deps = {
    onRequest: (e) => {
      const end = performance.now();
      requests[e.method] = (requests[e.method] ?? 0) + 1;
      total++;
      first = Math.min(first, end - e.durationMs);
      last = Math.max(last, end);
      spans.push([end - e.durationMs, end]);
    },
  };
  const io = memoryIO({ env: process.env, cwd: args.cwd });
  const started = performance.now();
  const code = await run(args.argv, io);
  const ms = performance.now() - started;
  const summary =
    /^(Apply: .*)$/m.exec(io.out)?.[1] ??
    /^(Plan: .*|No changes: .*|OK: .*)$/m.exec(io.out)?.[1] ??
    /^(OK: .*|.*error.*)$/m.exec(io.err)?.[1] ??
    '';
  const result: ScenarioResult = {
    code,
    ms,
    onlineMs: total > 0 ? last - first : 0,
    requests,
    totalRequests: total,
    maxInFlight: maxOverlap(spans),
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    summary,
    stderrTail: io.err.slice(-600),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * `floor <concurrency>` and `floor-writes <concurrency>`: the bare-client
 * requests of bench/floor.ts, reported like a scenario (time = the timed
 * requests only).
 */
async function floor(args: ScenarioArgs): Promise<void> {
  const writes = args.argv[0] === 'floor-writes';
  const concurrency = Number(args.argv[1]);
  const run = writes
    ? await writeFloor(args.cwd, concurrency)
    : await readFloor(args.cwd, concurrency);
  const result: ScenarioResult = {
    code: 0,
    ms: run.lastEnd - run.firstStart,
    onlineMs: run.lastEnd - run.firstStart,
    requests: writes
      ? { PATCH: run.requests / 2, GET: run.requests / 2 }
      : { GET: run.requests - 1, PUT: 1 },
    totalRequests: run.requests,
    maxInFlight: concurrency,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    summary: writes
      ? `bare undici PATCHes with If-Match, then read-back GETs, no connops (${run.requests} requests)`
      : `bare undici GETs + JSON.parse, no connops (${run.requests} requests)`,
    stderrTail: '',
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function maxOverlap(spans: ReadonlyArray<[number, number]>): number {
  const events: Array<[number, number]> = [];
  for (const [s, e] of spans) events.push([s, 1], [e, -1]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (cur += d));
  return max;
}

await main();
