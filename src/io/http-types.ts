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
  readonly onRetry?: (info: { target: string; method: string; path: string; delayMs: number; reason: string }) => void;
  /** Sleep used between retries (tests inject a fast one). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Random source for backoff jitter (tests inject a fixed one). */
  readonly random?: () => number;
}
