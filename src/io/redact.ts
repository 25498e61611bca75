/**
 * Keeps credentials out of everything a user or a log sees (STYLE.md; style
 * anchors §8.5: redact Authorization, X-Auth-Token and token query parameters).
 */

/** Shortest value treated as a secret: shorter strings would mangle ordinary text. */
const MIN_SECRET_LENGTH = 4;
const MASK = '***';

/** Header names whose values are credentials. */
const SECRET_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'x-auth-token',
  'x-auth-key',
  'x-auth-email',
  'x-api-key',
  'cookie',
  'set-cookie',
]);

/** Query parameters whose values are credentials (Kazoo accepts `auth_token` in the query, kazoo-api.md §5.1). */
const SECRET_PARAMS =
  /([?&](?:auth_token|api_key|token|access_token|password|credentials)=)[^&#\s]*/gi;

/** A set of secret values (passwords, API keys, tokens) to mask in any text. */
export class SecretSet {
  private readonly values = new Set<string>();
  /** Longest first, so a secret containing another is masked whole; rebuilt on first use after an add. */
  private sorted: string[] | undefined = [];

  /** Registers a secret; values shorter than 4 characters are ignored. */
  add(value: string | undefined): void {
    if (value === undefined || value.length < MIN_SECRET_LENGTH || this.values.has(value)) return;
    this.values.add(value);
    // Sorting here would make registering n secrets cost n sorts (a large repo has thousands).
    this.sorted = undefined;
  }

  private get ordered(): string[] {
    return (this.sorted ??= [...this.values].sort((a, b) => b.length - a.length));
  }

  /** True when `text` contains any registered secret. */
  has(text: string): boolean {
    return this.ordered.some((s) => text.includes(s));
  }

  /** Number of registered secrets. */
  get size(): number {
    return this.values.size;
  }

  /** Replaces every registered secret (and token query parameters) in `text` with `***`. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.ordered) out = out.split(secret).join(MASK);
    return redactUrl(out);
  }
}

/** Masks credential query parameters in a URL or any text holding one. */
export function redactUrl(text: string): string {
  return text.replace(SECRET_PARAMS, `$1${MASK}`);
}

/** A copy of `headers` with credential headers masked (names compared case-insensitively). */
export function redactHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? MASK : value;
  return out;
}
