/**
 * The one undici wrapper (STYLE.md §7): a pooled keep-alive client per target
 * with a concurrency limit, per-attempt timeouts, a bounded body reader and
 * retries with full-jitter backoff (SPEC.md §5). Error statuses are returned;
 * only transport failures throw, as `HttpError` in the user's terms.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Agent, Dispatcher } from 'undici';
import { ConnopsError, HttpError } from '../core/errors.ts';
import { USER_AGENT } from '../core/version.ts';
import type {
  HttpClient,
  HttpClientOptions,
  HttpRequest,
  HttpResponse,
  RequestEvent,
} from './http-types.ts';

const DEFAULT_MAX_RETRIES = 4;
const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;
const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 10_000;
/** Statuses worth repeating for idempotent requests: the server (or a proxy) failed, not the request. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([500, 502, 503, 504]);

/**
 * A FIFO counting semaphore: at most `limit` holders; waiters are served in
 * arrival order so a burst cannot starve early requests.
 */
export class Semaphore {
  readonly limit: number;
  private active = 0;
  private readonly waiters: Array<{ grant: () => void }> = [];

  constructor(limit: number) {
    this.limit = Math.max(1, Math.floor(limit));
  }

  /** Holders right now (for tests and progress output). */
  get inFlight(): number {
    return this.active;
  }

  /** Waits for a slot; rejects with the signal's reason if it aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.active < this.limit) {
      this.active += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        grant: (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortReason(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Frees a slot, handing it straight to the oldest waiter (the count stays the same then). */
  release(): void {
    const next = this.waiters.shift();
    if (next) next.grant();
    else this.active = Math.max(0, this.active - 1);
  }
}

function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new Error('The request was cancelled');
}

/** What went wrong on the wire, in words a user understands, and whether trying again can help. */
interface TransportFailure {
  readonly reason: string;
  /** Repeating is worthwhile for idempotent requests. */
  readonly transient: boolean;
  /** The request never reached the server, so even a non-idempotent one may be repeated. */
  readonly notSent: boolean;
}

const TLS_CODE = /^(ERR_TLS_|CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|ERR_SSL_)/;

/** Error codes of an error, its causes and (for happy-eyeballs connects) its aggregated errors. */
function errorCodes(err: unknown, depth = 0): string[] {
  if (depth > 5 || typeof err !== 'object' || err === null) return [];
  const out: string[] = [];
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') out.push(code);
  const nested = (err as { errors?: unknown }).errors;
  if (Array.isArray(nested)) for (const e of nested) out.push(...errorCodes(e, depth + 1));
  out.push(...errorCodes((err as { cause?: unknown }).cause, depth + 1));
  return out;
}

/** Maps a transport error to user terms. Deliberately never quotes the raw error text (it may echo a URL). */
export function describeTransportError(
  err: unknown,
  timedOut: boolean,
  timeoutMs: number,
  origin: string,
): TransportFailure {
  const codes = errorCodes(err);
  const has = (...wanted: string[]): boolean => codes.some((c) => wanted.includes(c));
  if (has('UND_ERR_CONNECT_TIMEOUT')) {
    return {
      reason: `could not connect to ${origin} within the time limit`,
      transient: true,
      notSent: true,
    };
  }
  if (timedOut || has('UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT')) {
    return { reason: `no response within ${timeoutMs} ms`, transient: true, notSent: false };
  }
  if (has('ECONNREFUSED')) {
    return {
      reason: `connection refused by ${origin} (is the server running?)`,
      transient: true,
      notSent: true,
    };
  }
  if (has('EAI_AGAIN')) {
    return {
      reason: `the host name of ${origin} could not be resolved right now`,
      transient: true,
      notSent: true,
    };
  }
  if (has('ENOTFOUND')) {
    return { reason: `the host name of ${origin} does not exist`, transient: false, notSent: true };
  }
  const tls = codes.find((c) => TLS_CODE.test(c));
  if (tls !== undefined) {
    return {
      reason: `the server's TLS certificate is not trusted (${tls}); set ca_file to trust a private CA`,
      transient: false,
      notSent: true,
    };
  }
  if (has('ECONNRESET'))
    return { reason: 'connection reset by the server', transient: true, notSent: false };
  if (
    has(
      'UND_ERR_SOCKET',
      'EPIPE',
      'UND_ERR_CLOSED',
      'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
      'ECONNABORTED',
    )
  ) {
    return {
      reason: 'the server closed the connection before answering',
      transient: true,
      notSent: false,
    };
  }
  const code = codes[0] ?? (err instanceof Error ? err.name : 'unknown error');
  return { reason: `the request failed (${code})`, transient: false, notSent: false };
}

/** Retry-After as milliseconds (delta-seconds or HTTP-date), or undefined when absent or unreadable. */
export function parseRetryAfter(
  value: string | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Full-jitter exponential backoff: uniform in [0, min(cap, base·2^(retry-1))]. */
export function backoffDelay(retry: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

function pathOnly(path: string): string {
  const q = path.search(/[?#]/);
  return q === -1 ? path : path.slice(0, q);
}

function flattenHeaders(
  raw: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function looksLikeJson(contentType: string | undefined, text: string): boolean {
  if (contentType !== undefined && /[/+]json\b/i.test(contentType)) return true;
  const first = text.trimStart()[0];
  return first === '{' || first === '[';
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // A broken body is still a response: callers get the status and the text.
    return undefined;
  }
}

/** What undici is told when the caller cancels (the caller already has its own reason). */
const CANCELLED = new Error('The request was cancelled');

/** One answer as it came off the wire, before JSON parsing. */
interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  /** The body passed `limit` bytes: the text stops there and says so. */
  readonly cut: boolean;
}

/**
 * One HTTP exchange through undici's `dispatch` handler API. It collects the
 * body as it arrives instead of wrapping it in a stream and an async iterator
 * (what `request()` does), which costs about a third less CPU per request; a
 * plan of a large estate makes tens of thousands of them on one thread.
 * Bodies past `limit` bytes are cut off and the connection dropped, because
 * reading a huge body costs more than one new socket. `signal` cancels the
 * exchange; a cancel before the request is on a socket stops it from being sent.
 */
function exchange(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  limit: number,
  signal: AbortSignal,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let controller: Dispatcher.DispatchController | undefined;
    let status = 0;
    let headers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      outcome();
    };
    const text = (): string =>
      chunks.length === 1
        ? (chunks[0] as Buffer).toString('utf8')
        : Buffer.concat(chunks).toString('utf8');
    const onAbort = (): void => {
      settle(() => reject(abortReason(signal)));
      controller?.abort(CANCELLED);
    };
    if (signal.aborted) return reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (settled) c.abort(CANCELLED);
      },
      onResponseStart(_c, statusCode, rawHeaders) {
        status = statusCode;
        headers = flattenHeaders(rawHeaders);
      },
      onResponseData(c, chunk) {
        if (settled) return;
        if (size + chunk.length > limit) {
          chunks.push(chunk.subarray(0, limit - size));
          const cutText = `${text()}\n…[cut: body exceeded ${limit} bytes]`;
          settle(() => resolve({ status, headers, text: cutText, cut: true }));
          c.abort(new Error(`body exceeded ${limit} bytes`));
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      },
      onResponseEnd() {
        settle(() => resolve({ status, headers, text: text(), cut: false }));
      },
      onResponseError(_c, error) {
        settle(() => reject(error));
      },
    };
    try {
      dispatcher.dispatch(options, handler);
    } catch (error) {
      settle(() => reject(error));
    }
  });
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads the PEM file and appends it to Node's bundled roots: `ca` alone would replace them. */
function loadCa(caFile: string): string[] {
  let pem: string;
  try {
    pem = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new ConnopsError(
      'CONFIG',
      `Cannot read ca_file ${caFile}: ${(err as NodeJS.ErrnoException).code ?? 'read error'}`,
      {
        cause: err,
      },
    );
  }
  return [...rootCertificates, pem];
}

type Attempt =
  | { readonly kind: 'response'; readonly response: HttpResponse }
  | { readonly kind: 'error'; readonly error: unknown; readonly failure: TransportFailure };

/**
 * Creates the HTTP client of one target.
 *
 * @param options target name, base URL, limits and injected dependencies
 * @returns a client whose `request` resolves with every HTTP status and throws
 *   `HttpError` only when no usable response arrived after the allowed attempts
 * @throws ConnopsError code CONFIG when `caFile` cannot be read
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const base = new URL(options.baseUrl);
  const origin = base.origin;
  const basePath = base.pathname.replace(/\/+$/, '');
  const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const timeoutMs = options.timeoutMs;
  const deps = options.deps;
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const limiter = new Semaphore(options.concurrency);
  const requestIdHeader = (options.requestIdHeader ?? 'x-request-id').toLowerCase();

  // TLS verification stays on: there is deliberately no option to turn it off.
  const agentOptions: Agent.Options = {
    connections: limiter.limit,
    keepAliveTimeout: 30_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    ...(options.caFile !== undefined ? { connect: { ca: loadCa(options.caFile) } } : {}),
  };
  let ownAgent: Agent | undefined;
  let dispatcher: Dispatcher | undefined = deps.dispatcher;
  /**
   * undici is loaded on the first request, not at start-up: `validate` and
   * other offline commands never pay for it (about a fifth of the CLI's start).
   */
  async function firstDispatcher(): Promise<Dispatcher> {
    const { Agent } = await import('undici');
    ownAgent ??= new Agent(agentOptions);
    dispatcher = ownAgent;
    return dispatcher;
  }

  async function attemptOnce(req: HttpRequest): Promise<Attempt> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`no response within ${timeoutMs} ms`));
    }, timeoutMs);
    const onCallerAbort = (): void => controller.abort(abortReason(req.signal));
    req.signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      // Every request says who sends it, whatever the caller passed (an API's logs and
      // support can then tell connops' traffic apart).
      const headers: Record<string, string> = {
        accept: 'application/json',
        ...req.headers,
        'user-agent': USER_AGENT,
      };
      let body: string | undefined;
      if (req.body !== undefined) {
        body = JSON.stringify(req.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await exchange(
        dispatcher ?? (await firstDispatcher()),
        {
          origin,
          path: basePath + req.path,
          method: req.method,
          headers,
          ...(body !== undefined ? { body } : {}),
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        },
        maxBodyBytes,
        controller.signal,
      );
      const { text, cut } = res;
      const parsed =
        !cut && looksLikeJson(res.headers['content-type'], text) ? parseJson(text) : undefined;
      return {
        kind: 'response',
        response: { status: res.status, headers: res.headers, body: parsed, text },
      };
    } catch (error) {
      if (req.signal?.aborted) throw abortReason(req.signal);
      return {
        kind: 'error',
        error,
        failure: describeTransportError(error, timedOut, timeoutMs, origin),
      };
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  async function request(req: HttpRequest): Promise<HttpResponse> {
    const path = pathOnly(req.path);
    for (let attempt = 1; ; attempt += 1) {
      await limiter.acquire(req.signal);
      const started = performance.now();
      let outcome: Attempt;
      try {
        outcome = await attemptOnce(req);
      } finally {
        limiter.release();
      }
      const status = outcome.kind === 'response' ? outcome.response.status : 0;
      const requestId =
        outcome.kind === 'response' ? outcome.response.headers[requestIdHeader] : undefined;
      const event: RequestEvent = {
        target: options.target,
        method: req.method,
        path,
        status,
        attempt,
        durationMs: Math.round(performance.now() - started),
        ...(requestId !== undefined ? { requestId } : {}),
      };
      deps.onRequest?.(event);

      const canRetry = attempt <= maxRetries;
      let delayMs: number;
      let reason: string;
      if (outcome.kind === 'response') {
        const res = outcome.response;
        const retryAfter = parseRetryAfter(res.headers['retry-after']);
        // 429 means the server did not process the request, so any request may be repeated.
        const retryable =
          res.status === 429 || (req.idempotent && RETRYABLE_STATUSES.has(res.status));
        if (!retryable || !canRetry) return res;
        // A wait longer than we accept is handed back as the answer rather than blocking a run.
        if (retryAfter !== undefined && retryAfter > maxRetryAfterMs) return res;
        delayMs = retryAfter ?? backoffDelay(attempt, random);
        reason = `HTTP ${res.status}`;
      } else {
        const { failure } = outcome;
        const retryable = failure.transient && (req.idempotent || failure.notSent);
        if (!retryable || !canRetry) {
          const tail =
            attempt > 1
              ? ` after ${attempt} attempts`
              : failure.transient && !req.idempotent && !failure.notSent
                ? ' (not retried: the server may already have processed it)'
                : '';
          throw new HttpError(
            req.method,
            path,
            `Cannot reach ${options.target} (${req.method} ${path}): ${failure.reason}${tail}`,
            {
              cause: outcome.error,
            },
          );
        }
        delayMs = backoffDelay(attempt, random);
        reason = failure.reason;
      }
      deps.onRetry?.({ target: options.target, method: req.method, path, delayMs, reason });
      await sleep(delayMs);
      if (req.signal?.aborted) throw abortReason(req.signal);
    }
  }

  return {
    target: options.target,
    request,
    async close(): Promise<void> {
      // A dispatcher passed in belongs to the caller (tests share one MockAgent).
      if (ownAgent) await ownAgent.close();
    },
  };
}
