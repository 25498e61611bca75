/**
 * Fault injection shared by the Kazoo and Cloudflare emulators: latency, random
 * 429/5xx answers, connections dropped mid-response or reset mid-request, and
 * deterministic scripted one-shot faults. The injector only *decides*; the HTTP
 * layer (`http-util.ts`) carries the decision out and each emulator renders the
 * error body in its own API's envelope.
 *
 * Injected 429/5xx answers are decided before the request is processed (the
 * server did no work, as when Kazoo's token bucket is empty, reference/kazoo-api.md
 * §3.4); a drop happens after the request was processed, so clients can test the
 * "did my write land?" case.
 */

export interface FaultRule {
  /** HTTP method to match (case-insensitive); any when absent. */
  method?: string;
  /** A string matches when the request path (no query) contains it; a RegExp is tested. */
  path?: string | RegExp;
  /**
   * `cut`: the request is processed, then answered with its own status and a
   * body cut to half its length, sent whole (Content-Length matches): the
   * client sees a complete response it cannot read, like a proxy that
   * truncated the body; `body: ''` for an empty one.
   */
  action: 'status' | 'drop' | 'reset' | 'delay' | 'cut';
  /** For `status`: the HTTP status to answer (default 500). */
  status?: number;
  /** For `status`: a Retry-After header value in seconds (none when absent). */
  retryAfterS?: number;
  /** For `delay`: milliseconds to wait before handling the request normally. */
  delayMs?: number;
  /** How many matching requests the rule applies to (default 1). */
  times?: number;
}

export interface FaultConfig {
  /** Added before every response. */
  latencyMs?: number;
  /** Up to this much extra random latency. */
  jitterMs?: number;
  /** Probability 0..1 of answering 429. */
  rate429?: number;
  /** Retry-After for random 429s; null = send 429 WITHOUT Retry-After; default 1. */
  retryAfterS?: number | null;
  rate500?: number;
  rate502?: number;
  rate503?: number;
  /** Write headers + part of the body, then destroy the socket (mid-response). */
  dropRate?: number;
  /** Destroy the socket before any response (mid-request). */
  resetRate?: number;
  /** Kazoo: every issued token expires after N authenticated requests. */
  tokenExpiresAfter?: number;
  /** Deterministic PRNG seed for the rates (Math.random when absent). */
  seed?: number;
  /** Deterministic one-shot faults, consumed in order when they match. */
  script?: FaultRule[];
  /**
   * Paths exempt from the random rates (latency still applies), e.g. /_auth$/ to
   * keep authentication reliable while the API routes misbehave. Same matching as
   * `FaultRule.path`.
   */
  exclude?: string | RegExp | readonly (string | RegExp)[];
}

/** What to do instead of (or on top of) answering normally. */
export type FaultAction =
  | { readonly kind: 'none' }
  | { readonly kind: 'status'; readonly status: number; readonly retryAfterS: number | null }
  | { readonly kind: 'drop' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'cut' };

export interface FaultDecision {
  /** Wait this long before acting. */
  readonly delayMs: number;
  readonly action: FaultAction;
  /** The scripted rule that produced the action, when one did. */
  readonly rule?: FaultRule;
}

interface PendingRule {
  readonly rule: FaultRule;
  remaining: number;
}

/** Default Retry-After (seconds) for random 429s. */
export const DEFAULT_RETRY_AFTER_S = 1;

/** mulberry32: small, fast and good enough to make fault runs (and generated test data) repeatable. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function matchesPath(pattern: string | RegExp, path: string): boolean {
  if (typeof pattern === 'string') return path.includes(pattern);
  pattern.lastIndex = 0;
  return pattern.test(path);
}

function ruleMatches(rule: FaultRule, method: string, path: string): boolean {
  if (rule.method !== undefined && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  return rule.path === undefined || matchesPath(rule.path, path);
}

export class FaultInjector {
  #config: FaultConfig = {};
  #random: () => number = Math.random;
  #script: PendingRule[] = [];

  constructor(config: FaultConfig = {}) {
    this.update(config);
  }

  /** Replaces the whole configuration (and restarts the script and the PRNG). */
  update(config: FaultConfig): void {
    this.#config = { ...config };
    this.#random = config.seed !== undefined ? mulberry32(config.seed) : Math.random;
    this.#script = (config.script ?? []).map((rule) => ({ rule, remaining: rule.times ?? 1 }));
  }

  /** The current configuration (a copy). */
  get config(): FaultConfig {
    return { ...this.#config };
  }

  /** Scripted rule applications not yet consumed. */
  pendingScript(): number {
    return this.#script.reduce((n, p) => n + p.remaining, 0);
  }

  /** Decides what happens to one request. Consumes a scripted rule when one matches. */
  decide(method: string, path: string): FaultDecision {
    const cfg = this.#config;
    let delayMs = Math.max(0, cfg.latencyMs ?? 0);
    if (cfg.jitterMs) delayMs += Math.floor(this.#random() * Math.max(0, cfg.jitterMs));

    const pending = this.#script.find((p) => p.remaining > 0 && ruleMatches(p.rule, method, path));
    if (pending) {
      pending.remaining -= 1;
      this.#script = this.#script.filter((p) => p.remaining > 0);
      const { rule } = pending;
      switch (rule.action) {
        case 'delay':
          // A delay rule only slows the request down; it is then handled normally.
          return {
            delayMs: delayMs + Math.max(0, rule.delayMs ?? 0),
            action: { kind: 'none' },
            rule,
          };
        case 'status':
          return {
            delayMs,
            action: {
              kind: 'status',
              status: rule.status ?? 500,
              retryAfterS: rule.retryAfterS ?? null,
            },
            rule,
          };
        case 'drop':
          return { delayMs, action: { kind: 'drop' }, rule };
        case 'reset':
          return { delayMs, action: { kind: 'reset' }, rule };
        case 'cut':
          return { delayMs, action: { kind: 'cut' }, rule };
      }
    }

    if (this.#isExcluded(path)) return { delayMs, action: { kind: 'none' } };
    return { delayMs, action: this.#randomAction() };
  }

  #isExcluded(path: string): boolean {
    const ex = this.#config.exclude;
    if (ex === undefined) return false;
    const list: readonly (string | RegExp)[] =
      typeof ex === 'string' || ex instanceof RegExp ? [ex] : ex;
    return list.some((p) => matchesPath(p, path));
  }

  /**
   * One draw against the cumulative rates, so a seeded run gives the same
   * sequence of faults whatever the mix of rates.
   */
  #randomAction(): FaultAction {
    const cfg = this.#config;
    const bands: [number, () => FaultAction][] = [
      [cfg.resetRate ?? 0, () => ({ kind: 'reset' })],
      [cfg.dropRate ?? 0, () => ({ kind: 'drop' })],
      [
        cfg.rate429 ?? 0,
        () => ({
          kind: 'status',
          status: 429,
          retryAfterS: cfg.retryAfterS === undefined ? DEFAULT_RETRY_AFTER_S : cfg.retryAfterS,
        }),
      ],
      [cfg.rate500 ?? 0, () => ({ kind: 'status', status: 500, retryAfterS: null })],
      [cfg.rate502 ?? 0, () => ({ kind: 'status', status: 502, retryAfterS: null })],
      [cfg.rate503 ?? 0, () => ({ kind: 'status', status: 503, retryAfterS: null })],
    ];
    if (bands.every(([rate]) => rate <= 0)) return { kind: 'none' };
    const r = this.#random();
    let edge = 0;
    for (const [rate, make] of bands) {
      edge += Math.max(0, rate);
      if (r < edge) return make();
    }
    return { kind: 'none' };
  }
}

function parseNumber(
  flags: Record<string, string | undefined>,
  name: string,
  what: string,
  ok: (n: number) => boolean,
): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const text = raw.trim();
  const n = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(n) || !ok(n)) {
    throw new Error(`Invalid --${name} "${raw}": expected ${what}`);
  }
  return n;
}

const probability = (n: number): boolean => n >= 0 && n <= 1;
const nonNegative = (n: number): boolean => n >= 0;
const positiveInteger = (n: number): boolean => Number.isInteger(n) && n > 0;

/**
 * Builds a FaultConfig from CLI flags (names without the leading dashes). Absent
 * flags stay absent. Throws an Error naming the flag on a bad number.
 */
export function parseFaultFlags(flags: Record<string, string | undefined>): FaultConfig {
  const out: FaultConfig = {};
  const set = <K extends keyof FaultConfig>(key: K, value: FaultConfig[K] | undefined): void => {
    if (value !== undefined) out[key] = value;
  };
  set('latencyMs', parseNumber(flags, 'latency', 'a number of milliseconds ≥ 0', nonNegative));
  set('jitterMs', parseNumber(flags, 'jitter', 'a number of milliseconds ≥ 0', nonNegative));
  set('rate429', parseNumber(flags, 'rate-429', 'a probability between 0 and 1', probability));
  const retryAfter = flags['retry-after'];
  if (
    retryAfter !== undefined &&
    ['none', 'null', 'off'].includes(retryAfter.trim().toLowerCase())
  ) {
    out.retryAfterS = null;
  } else {
    set(
      'retryAfterS',
      parseNumber(flags, 'retry-after', 'a number of seconds ≥ 0 or "none"', nonNegative),
    );
  }
  set('rate500', parseNumber(flags, 'rate-500', 'a probability between 0 and 1', probability));
  set('rate502', parseNumber(flags, 'rate-502', 'a probability between 0 and 1', probability));
  set('rate503', parseNumber(flags, 'rate-503', 'a probability between 0 and 1', probability));
  set('dropRate', parseNumber(flags, 'drop-rate', 'a probability between 0 and 1', probability));
  set('resetRate', parseNumber(flags, 'reset-rate', 'a probability between 0 and 1', probability));
  set(
    'tokenExpiresAfter',
    parseNumber(flags, 'token-expiry', 'a whole number of requests > 0', positiveInteger),
  );
  set('seed', parseNumber(flags, 'fault-seed', 'an integer', Number.isInteger));
  const total =
    (out.rate429 ?? 0) +
    (out.rate500 ?? 0) +
    (out.rate502 ?? 0) +
    (out.rate503 ?? 0) +
    (out.dropRate ?? 0) +
    (out.resetRate ?? 0);
  if (total > 1)
    throw new Error(`Invalid fault rates: together they add up to ${total}, more than 1`);
  return out;
}
