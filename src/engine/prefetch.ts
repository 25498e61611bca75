/**
 * Reads live state while the documents are still being loaded (issue 24
 * item 2). Loading and validating a large repository takes seconds of CPU
 * before the first request could otherwise start; the listings and GETs of the
 * accounts already seen can use that time, since reads change nothing.
 *
 * What keeps this safe (README "Plan"): only reads are started here; a plan is
 * made, shown or saved only after every document passed its checks; when one
 * did not, `abort()` stops the reads in flight and drops what was read. Writes
 * start only from a finished plan, so none can start before validation passed.
 *
 * What keeps it small: at most PREFETCH_SCOPES scopes are read ahead (their
 * live bodies wait in memory until the planner takes them), a window of the
 * targets' concurrency at a time, as readLiveState reads.
 */
import { setMaxListeners } from 'node:events';
import type { Config, DesiredDocument, TargetConfig } from '../core/model.ts';
import { scopeKey } from '../core/plan.ts';
import { Semaphore } from '../io/http.ts';
import type { LiveObject, Provider } from '../providers/types.ts';
import { inSelection, type Selection } from './reconcile.ts';
import type { SessionPool } from './sessions.ts';

/**
 * Scopes (target, kind, account) read ahead at most. The bench estate's
 * accounts hold ~10 documents (~100 KB of live JSON once parsed), so this is
 * tens of MB at most, and at concurrency 32 and 20 ms about 1.8 s of reads.
 */
export const PREFETCH_SCOPES = 256;

/** One scope read ahead: its live objects, or why they could not be read. */
export type PrefetchedScope =
  | { readonly objects: LiveObject[]; readonly error?: undefined }
  | { readonly objects?: undefined; readonly error: unknown };

export class LivePrefetch {
  private readonly reads = new Map<string, Promise<PrefetchedScope>>();
  private readonly controller = new AbortController();
  private readonly window: Semaphore;
  private started = 0;

  constructor(
    private readonly input: {
      readonly config: Config;
      readonly providers: ReadonlyMap<string, Provider>;
      readonly pool: SessionPool;
      readonly selection: Selection;
      /** Whether a target has what a read needs (url, credentials); others are read later, or refused. */
      readonly reachable: (target: TargetConfig) => boolean;
      readonly max?: number;
    },
  ) {
    const sum = Object.values(input.config.targets).reduce((n, t) => n + t.concurrency, 0);
    this.window = new Semaphore(Math.max(1, sum));
    // Every read ahead listens on this one signal (the HTTP layer adds a listener per request).
    setMaxListeners(0, this.controller.signal);
  }

  /** Scopes started so far (for tests and debugging). */
  get count(): number {
    return this.started;
  }

  /** Starts reading the scopes of these documents that are selected and not yet started. */
  offer(documents: readonly DesiredDocument[]): void {
    const { config, providers, selection } = this.input;
    const max = this.input.max ?? PREFETCH_SCOPES;
    for (const d of documents) {
      if (this.controller.signal.aborted || this.started >= max) return;
      const k = d.key;
      if (!inSelection(selection, k.target, k.account)) continue;
      if (selection.keys && !selection.keys.has(`${k.target}/${k.account}/${k.kind}/${k.name}`))
        continue;
      const sk = scopeKey(k.target, k.kind, k.account);
      if (this.reads.has(sk)) continue;
      const target = config.targets[k.target];
      const provider = providers.get(k.kind);
      if (!target || !provider || !this.input.reachable(target)) continue;
      this.started++;
      this.reads.set(sk, this.read(provider, target, k.account));
    }
  }

  /** The read of a scope started here (once; later calls get undefined). */
  take(target: string, kind: string, account: string): Promise<PrefetchedScope> | undefined {
    const sk = scopeKey(target, kind, account);
    const read = this.reads.get(sk);
    this.reads.delete(sk);
    return read;
  }

  /** Stops the reads in flight and forgets every result (the documents turned out invalid). */
  abort(): void {
    this.controller.abort();
    this.reads.clear();
  }

  private async read(
    provider: Provider,
    target: TargetConfig,
    account: string,
  ): Promise<PrefetchedScope> {
    const signal = this.controller.signal;
    try {
      await this.window.acquire(signal);
    } catch (error) {
      return { error };
    }
    try {
      return { objects: await this.input.pool.get(provider, target).list(account, signal) };
    } catch (error) {
      return { error };
    } finally {
      this.window.release();
    }
  }
}
