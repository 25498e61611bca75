/**
 * The thin Cloudflare API v4 layer under the connectivity-service session:
 * auth headers, a client-side request budget, the `{success, errors, messages,
 * result}` envelope and the mapping of failures to typed errors whose messages
 * quote Cloudflare's own text and never a credential
 * (reference/cloudflare-api.md §4–§6).
 */
import { ApiError, ConnopsError, type ErrorCode } from '../../core/errors.ts';
import { isObject, type JsonObject, type JsonValue } from '../../core/json.ts';
import type { TargetConfig } from '../../core/model.ts';
import { createHttpClient } from '../../io/http.ts';
import type { HttpClient, HttpDeps, HttpRequest, HttpResponse } from '../../io/http-types.ts';
import { SecretSet } from '../../io/redact.ts';

/** The public API base (§1). */
export const CLOUDFLARE_API_BASE = 'https://api.cloudflare.com/client/v4';

/** Cloudflare's documented limit: 1,200 requests per 5 minutes per user/token (§5 DOCS). */
export const CLOUDFLARE_BUDGET = { requests: 1200, windowMs: 300_000 } as const;

/** Error codes with a known meaning (§5). */
export const CF_CODE_AUTH = 10000;
export const CF_CODE_MISSING_SCOPE = 10196;
export const CF_CODE_DUPLICATE_NAME = 5101;

/** Anything that can mask secrets in text (`SecretSet` from src/io/redact.ts fits). */
export interface Redactor {
  redact(text: string): string;
}

export interface CloudflareDeps extends HttpDeps {
  /** Secrets of the whole run, masked in every message on top of this target's own credentials. */
  readonly secrets?: Redactor;
}

export interface CloudflareClientOptions {
  /** Client-side budget (default 1200 requests / 5 min, §5). */
  readonly budget?: { readonly requests: number; readonly windowMs: number };
  /** Clock for the budget (tests pin it). */
  readonly now?: () => number;
}

/** One entry of `errors`/`messages` (§4). */
export interface CloudflareMessage {
  readonly code: number | undefined;
  readonly message: string;
  readonly pointer?: string;
}

/** A parsed envelope. */
export interface CloudflareEnvelope {
  readonly success: boolean;
  readonly errors: readonly CloudflareMessage[];
  readonly result: JsonValue | undefined;
  readonly resultInfo?: JsonObject;
}

/**
 * The auth headers for a target (§6): `token` → `Authorization: Bearer`, or
 * `email` + `api_key` → `X-Auth-Email`/`X-Auth-Key`. Never both: the spec's
 * all-three-at-once `security` is a defect (§6, §9.3).
 */
export function buildAuthHeaders(auth: Readonly<Record<string, string>>): Record<string, string> {
  const token = auth['token'];
  if (token !== undefined && token !== '') return { authorization: `Bearer ${token}` };
  const email = auth['email'];
  const key = auth['api_key'];
  if (email !== undefined && email !== '' && key !== undefined && key !== '') {
    return { 'x-auth-email': email, 'x-auth-key': key };
  }
  throw new ConnopsError(
    'CONFIG',
    'Cloudflare auth needs either "token" or both "email" and "api_key"',
  );
}

/**
 * A sliding-window budget that delays rather than fails: at most `limit`
 * requests start within any `windowMs`. Callers queue in order.
 *
 * Cloudflare blocks *every* call for five minutes once the limit is passed
 * (§5 DOCS), so staying under it is far cheaper than honouring a 429 later.
 */
export class RequestBudget {
  readonly limit: number;
  readonly windowMs: number;
  private readonly stamps: number[] = [];
  private queue: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    limit: number,
    windowMs: number,
    now: () => number,
    sleep: (ms: number) => Promise<void>,
  ) {
    this.limit = Math.max(1, Math.floor(limit));
    this.windowMs = windowMs;
    this.now = now;
    this.sleep = sleep;
  }

  /** Requests counted in the current window. */
  get used(): number {
    this.prune(this.now());
    return this.stamps.length;
  }

  /** Waits until a request may start, then counts it. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.waitForSlot());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Counts a request that already happened (an HTTP-layer retry). */
  note(): void {
    this.stamps.push(this.now());
  }

  private async waitForSlot(): Promise<void> {
    for (;;) {
      const t = this.now();
      this.prune(t);
      const oldest = this.stamps[0];
      if (this.stamps.length < this.limit || oldest === undefined) {
        this.stamps.push(t);
        return;
      }
      await this.sleep(Math.max(1, oldest + this.windowMs - t));
    }
  }

  private prune(t: number): void {
    while (this.stamps.length > 0 && (this.stamps[0] ?? 0) <= t - this.windowMs)
      this.stamps.shift();
  }
}

/** Reads an envelope; undefined when the body is not one. */
export function parseEnvelope(body: unknown): CloudflareEnvelope | undefined {
  if (!isObject(body) || typeof body['success'] !== 'boolean') return undefined;
  const errors = Array.isArray(body['errors']) ? body['errors'].map(toMessage) : [];
  const info = body['result_info'];
  return {
    success: body['success'],
    errors,
    result: body['result'],
    ...(isObject(info) ? { resultInfo: info } : {}),
  };
}

function toMessage(entry: JsonValue): CloudflareMessage {
  if (!isObject(entry)) return { code: undefined, message: String(entry) };
  const code = typeof entry['code'] === 'number' ? entry['code'] : undefined;
  const message = typeof entry['message'] === 'string' ? entry['message'] : JSON.stringify(entry);
  const source = entry['source'];
  const pointer =
    isObject(source) && typeof source['pointer'] === 'string' ? source['pointer'] : undefined;
  return pointer !== undefined ? { code, message, pointer } : { code, message };
}

/** `"Authentication error" (code 10000); …` — the API's own words, quoted. */
export function describeErrors(errors: readonly CloudflareMessage[]): string {
  if (errors.length === 0) return 'no error message';
  return errors
    .map((e) => `"${e.message}"${e.code !== undefined ? ` (code ${e.code})` : ''}`)
    .join('; ');
}

/** A request to send, below the base URL. */
export type CloudflareRequest = Omit<HttpRequest, 'headers'>;

/**
 * The HTTP client of one Cloudflare target with auth, budget and redaction.
 * Error statuses come back as responses; `fail` turns one into an ApiError.
 */
export class CloudflareClient {
  readonly target: TargetConfig;
  readonly budget: RequestBudget;
  private readonly http: HttpClient;
  private readonly headers: Record<string, string>;
  private readonly secrets: SecretSet;
  private readonly extraSecrets: Redactor | undefined;

  constructor(target: TargetConfig, deps: CloudflareDeps, options: CloudflareClientOptions = {}) {
    this.target = target;
    this.headers = buildAuthHeaders(target.auth);
    // This target's own credentials are always masked, whatever the caller passed.
    this.secrets = new SecretSet();
    for (const value of Object.values(target.auth)) this.secrets.add(value);
    this.extraSecrets = deps.secrets;
    const sleep =
      deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const limits = options.budget ?? CLOUDFLARE_BUDGET;
    this.budget = new RequestBudget(
      limits.requests,
      limits.windowMs,
      options.now ?? Date.now,
      sleep,
    );
    const budget = this.budget;
    const onRequest = deps.onRequest;
    const { secrets: _secrets, ...httpDeps } = deps;
    this.http = createHttpClient({
      target: target.name,
      baseUrl: target.url ?? CLOUDFLARE_API_BASE,
      // Cloudflare's request id is the Ray ID (`cf-ray`), quoted in errors and audit lines.
      requestIdHeader: 'cf-ray',
      concurrency: target.concurrency,
      timeoutMs: target.timeout_ms,
      ...(target.ca_file !== undefined ? { caFile: target.ca_file } : {}),
      deps: {
        ...httpDeps,
        onRequest: (event) => {
          // Retries inside the HTTP layer spend the server's budget too.
          if (event.attempt > 1) budget.note();
          onRequest?.(event);
        },
      },
    });
  }

  /** Sends one request after taking a slot of the budget. */
  async request(req: CloudflareRequest): Promise<HttpResponse> {
    await this.budget.take();
    try {
      return await this.http.request({ ...req, headers: this.headers });
    } catch (err) {
      if (err instanceof Error) err.message = this.redact(err.message);
      throw err;
    }
  }

  /** Masks this target's credentials and the run's secrets. */
  redact(text: string): string {
    const own = this.secrets.redact(text);
    return this.extraSecrets ? this.extraSecrets.redact(own) : own;
  }

  /**
   * The ApiError for a failed answer. `action` says what could not be done in
   * the user's terms ("Cannot create cloudflare/connectivity-service "web" in account …").
   */
  fail(action: string, res: HttpResponse, context: { name?: string; account: string }): ApiError {
    const env = parseEnvelope(res.body);
    const errors = env?.errors ?? [];
    const codes = new Set(errors.map((e) => e.code));
    // Redacted before it is cut: a secret straddling the cut would otherwise show its first half.
    const quoted =
      errors.length > 0
        ? describeErrors(errors)
        : this.redact(res.text.trim()).slice(0, 300) || 'an empty body';
    let code: ErrorCode = 'API';
    let why = `Cloudflare answered ${res.status}: ${quoted}`;
    if (codes.has(CF_CODE_DUPLICATE_NAME)) {
      code = 'CONFLICT';
      why = `a service named "${context.name ?? '?'}" already exists in account ${context.account} (Cloudflare: ${quoted})`;
    } else if (codes.has(CF_CODE_MISSING_SCOPE)) {
      code = 'AUTH';
      why = `the credentials of target "${this.target.name}" lack the "Connectivity Directory: Admin" permission (Cloudflare ${res.status}: ${quoted})`;
    } else if (res.status === 401 || res.status === 403 || codes.has(CF_CODE_AUTH)) {
      code = 'AUTH';
      why = `Cloudflare refused the credentials of target "${this.target.name}" for account ${context.account} (${res.status}: ${quoted})`;
    } else if (res.status === 429) {
      code = 'LIMIT';
      const after = res.headers['retry-after'];
      why = `rate limited by Cloudflare (1,200 requests per 5 minutes)${after !== undefined ? `; retry after ${after} s` : ''} (${quoted})`;
    }
    const fields: Record<string, string> = {};
    for (const e of errors) if (e.pointer !== undefined) fields[e.pointer] = this.redact(e.message);
    const requestId = res.headers['cf-ray'];
    return new ApiError(code, this.redact(`${action}: ${why}`), {
      status: res.status,
      apiMessage:
        this.redact(errors.map((e) => e.message).join('; ')) || this.redact(res.text).slice(0, 300),
      fields,
      ...(requestId !== undefined ? { requestId } : {}),
    });
  }

  /** The envelope of a 2xx answer with `success: true`, or undefined. */
  ok(res: HttpResponse): CloudflareEnvelope | undefined {
    if (res.status < 200 || res.status >= 300) return undefined;
    const env = parseEnvelope(res.body);
    return env?.success === true ? env : undefined;
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
