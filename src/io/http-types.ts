/**
 * What the engine hands to providers for HTTP: kept in its own file so the
 * provider interface does not import undici.
 */
import type { Dispatcher } from 'undici';

/** One finished HTTP exchange, reported for counting (bench) and auditing. */
export interface RequestEvent {
  readonly target: string;
  readonly method: string;
  /** Path without query string or credentials. */
  readonly path: string;
  /** Final status, or 0 when no response arrived. */
  readonly status: number;
  /** Attempt number (1 = first try). */
  readonly attempt: number;
  readonly durationMs: number;
  /** Server request id when the API returns one. */
  readonly requestId?: string;
}

export interface HttpDeps {
  /** An undici Dispatcher to use instead of a new pooled Agent (tests pass a MockAgent). */
  readonly dispatcher?: Dispatcher;
  /** Called after every attempt. */
  readonly onRequest?: (event: RequestEvent) => void;
  /** Called when a request waits before a retry (for progress output). */
  readonly onRetry?: (info: {
    target: string;
    method: string;
    path: string;
    delayMs: number;
    reason: string;
  }) => void;
  /** Sleep used between retries (tests inject a fast one). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Random source for backoff jitter (tests inject a fixed one). */
  readonly random?: () => number;
}

/** One request through a target's client. */
export interface HttpRequest {
  readonly method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** Path below the target's base URL, query string included (e.g. "/accounts/x/connectivity?page_size=50"). */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** JSON body (serialised by the client). */
  readonly body?: unknown;
  /**
   * True when repeating the request cannot do harm (GET, DELETE, PATCH/PUT with If-Match,
   * create with a client-chosen id). Only idempotent requests are retried after 5xx or a
   * dropped connection; 429 is retried for every request (the server did not process it).
   */
  readonly idempotent: boolean;
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string>>;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  readonly body: unknown;
  /** Raw body text (bounded: bodies beyond the client's limit are cut and marked). */
  readonly text: string;
}

/** A pooled keep-alive client for one target. Error statuses are returned, not thrown. */
export interface HttpClient {
  readonly target: string;
  request(req: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

export interface HttpClientOptions {
  /** Target name (for messages and events). */
  readonly target: string;
  /** Base URL, e.g. http://127.0.0.1:8000/v2 */
  readonly baseUrl: string;
  /** Max in-flight requests. */
  readonly concurrency: number;
  /** Per-attempt timeout (headers and body), ms. */
  readonly timeoutMs: number;
  /** Retries after the first attempt (default 4). */
  readonly maxRetries?: number;
  /** Longest Retry-After the client will honour before giving up, ms (default 60 000). */
  readonly maxRetryAfterMs?: number;
  /** PEM file of extra CAs to trust. */
  readonly caFile?: string;
  /** Largest response body accepted, bytes (default 32 MiB). */
  readonly maxBodyBytes?: number;
  /**
   * Response header carrying the server's request id, reported in RequestEvent
   * (and so in audit lines): Kazoo's `x-request-id` (the default), Cloudflare's `cf-ray`.
   */
  readonly requestIdHeader?: string;
  readonly deps: HttpDeps;
}
