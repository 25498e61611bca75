/**
 * Runs one bundled connops CLI (a dist/cli.js of any build: this one, or the
 * baseline commit's) in this process and prints one JSON line in
 * bench/scenario.ts's `ScenarioResult` shape. bench/run.ts runs both builds
 * through this same file, so the comparison measures the builds, not two
 * harnesses.
 *
 * Usage: node <bundle of this file> '<json WrapperArgs>' (bench/run.ts bundles it)
 * in the scenario's working directory and environment: the bundle's `main(argv)`
 * reads process.cwd() and process.env as the shipped bin/connops.js does.
 */
import { pathToFileURL } from 'node:url';
import { findSummary, TailBuffer } from './baseline-report.ts';
import type { ScenarioResult } from './scenario.ts';

export interface WrapperArgs {
  /** Absolute path of the bundle (its check-worker.js and a `{"type":"module"}` package.json beside it). */
  readonly cli: string;
  readonly argv: readonly string[];
}

type Main = (argv?: readonly string[]) => Promise<number>;
type Write = typeof process.stdout.write;

/** A stand-in for a stream's write that keeps only the tail and reports success at once. */
function tailWriter(tail: TailBuffer): Write {
  return ((chunk: string | Uint8Array, a?: unknown, b?: unknown): boolean => {
    tail.push(chunk);
    const done = typeof a === 'function' ? a : typeof b === 'function' ? b : undefined;
    if (done) queueMicrotask(() => (done as (err?: Error | null) => void)(null));
    return true;
  }) as Write;
}

async function wrapper(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as WrapperArgs;
  const realOut = process.stdout.write.bind(process.stdout);
  const report = (r: ScenarioResult): void => {
    // Exit once the line is out: a handle the bundle left open must not keep the
    // bench waiting until its timeout (the line is all the parent reads).
    realOut(`${JSON.stringify(r)}\n`, () => process.exit(0));
  };
  const out = new TailBuffer();
  const err = new TailBuffer();
  let code: number;
  let ms = NaN;
  // The import (parsing ~2 MB of JavaScript) is outside the timed call, as
  // scenario.ts's static import is outside its timing.
  const mod = (await import(pathToFileURL(args.cli).href)) as { main?: Main };
  if (typeof mod.main !== 'function') {
    err.push(`wrapper: ${args.cli} exports no main(argv)\n`);
    code = -1;
  } else {
    const main = mod.main;
    const writes = { out: process.stdout.write, err: process.stderr.write };
    process.stdout.write = tailWriter(out);
    process.stderr.write = tailWriter(err);
    const started = performance.now();
    try {
      code = await main([...args.argv]);
      ms = performance.now() - started;
    } catch (e) {
      err.push(`wrapper: main threw: ${e instanceof Error ? e.message : String(e)}\n`);
      code = -1;
    } finally {
      process.stdout.write = writes.out;
      process.stderr.write = writes.err;
    }
  }
  const stdout = out.text();
  const stderr = err.text();
  report({
    code,
    ms,
    // The wrapper sees no request; the row's server count comes from the emulators.
    onlineMs: NaN,
    requests: {},
    totalRequests: 0,
    maxInFlight: 0,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    summary: findSummary(stdout, stderr),
    stderrTail: stderr.slice(-600),
  });
}

await wrapper();
