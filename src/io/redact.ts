/**
 * Keeps credentials out of everything a user or a log sees (STYLE.md; style
 * anchors §8.5: redact Authorization, X-Auth-Token and token query parameters).
 */
import { ESCAPES } from '../core/escape.ts';

/** Shortest value treated as a secret: shorter strings would mangle ordinary text. */
export const MIN_SECRET_LENGTH = 4;
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

/**
 * A set of secret values (passwords, API keys, tokens) to mask in any text.
 *
 * Redaction is part of the encoding, not a pass that must come before it:
 * every secret is registered together with each form it can take in output
 * (`formsOf`: JSON-string, workflow-command, Markdown, URL and form escaping
 * from ESCAPES in src/core/escape.ts, any two of them composed, and base64).
 * Every output of connops passes through a SecretSet at its sink (the
 * context's stdout and stderr, saved plans, the audit log, the Action's
 * annotations, summary and comments), so a secret is masked there whether a
 * renderer escaped it before or not: `validate --format json` quoting a
 * password with a quote or a backslash, a GitHub annotation with a `%` or a
 * line break, a Markdown cell. A leak would need an escaping that is not in
 * ESCAPES; renderers use only those.
 *
 * Masking a whole escaped form keeps the encoding valid (it replaces complete
 * escape sequences), so JSON stays parseable and annotations stay one line.
 *
 * A repo can hold thousands of secrets (a password per trunk) and every line
 * of output is redacted, so matching does not try each secret in turn: the
 * secrets are indexed by their first characters and the text is scanned once.
 * Every occurrence of every secret is masked, and occurrences that overlap or
 * touch become one mask, so no part of any secret shows.
 */
export class SecretSet {
  /** The secrets as registered. */
  private readonly secrets = new Set<string>();
  /** Every form of every secret: what is searched for. */
  private readonly values = new Set<string>();
  /** Secrets by their first MIN_SECRET_LENGTH characters; rebuilt on first use after an add. */
  private index: Map<string, string[]> | undefined = new Map();

  /** Registers a secret and its escaped forms; values shorter than 4 characters are ignored. */
  add(value: string | undefined): void {
    if (value === undefined || value.length < MIN_SECRET_LENGTH || this.secrets.has(value)) return;
    this.secrets.add(value);
    for (const form of formsOf(value)) this.values.add(form);
    this.index = undefined;
  }

  /** True when `text` contains any registered secret. */
  has(text: string): boolean {
    return this.spans(text, true).length > 0;
  }

  /** Number of registered secrets (each counts once, whatever its forms). */
  get size(): number {
    return this.secrets.size;
  }

  /** Replaces every registered secret (and token query parameters) in `text` with `***`. */
  redact(text: string): string {
    let out = '';
    let from = 0;
    for (const [start, end] of this.spans(text, false)) {
      out += text.slice(from, start) + MASK;
      from = end;
    }
    return redactUrl(from === 0 ? text : out + text.slice(from));
  }

  /** Where secrets occur in `text`, as merged [start, end) spans in order (the first only, with `first`). */
  private spans(text: string, first: boolean): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    if (this.values.size === 0) return out;
    const index = (this.index ??= this.buildIndex());
    for (let i = 0; i + MIN_SECRET_LENGTH <= text.length; i++) {
      const candidates = index.get(text.slice(i, i + MIN_SECRET_LENGTH));
      if (!candidates) continue;
      // Longest first: the first that matches covers the most.
      const hit = candidates.find((secret) => text.startsWith(secret, i));
      if (hit === undefined) continue;
      const last = out[out.length - 1];
      if (last && i <= last[1]) last[1] = Math.max(last[1], i + hit.length);
      else out.push([i, i + hit.length]);
      if (first) break;
    }
    return out;
  }

  private buildIndex(): Map<string, string[]> {
    const index = new Map<string, string[]>();
    for (const secret of this.values) {
      const key = secret.slice(0, MIN_SECRET_LENGTH);
      const list = index.get(key);
      if (list) list.push(secret);
      else index.set(key, [secret]);
    }
    for (const list of index.values()) list.sort((a, b) => b.length - a.length);
    return index;
  }
}

/**
 * The forms a secret can take in output: itself, each escaping in ESCAPES,
 * any two of them in a row (a JSON-quoted value inside a JSON document or a
 * workflow annotation), and base64 / base64url of the value on its own (an
 * Authorization header value). Escapings work character by character, so an
 * escaped secret inside a longer escaped text is exactly the escaped form.
 */
export function formsOf(secret: string): Set<string> {
  const forms = new Set<string>([secret]);
  const once: string[] = [];
  for (const escape of ESCAPES) {
    const e = tryEscape(escape, secret);
    if (e === undefined) continue;
    forms.add(e);
    once.push(e);
  }
  for (const e of once)
    for (const escape of ESCAPES) {
      const e2 = tryEscape(escape, e);
      if (e2 !== undefined) forms.add(e2);
    }
  forms.add(Buffer.from(secret).toString('base64'));
  forms.add(Buffer.from(secret).toString('base64url'));
  return forms;
}

/** encodeURIComponent throws on a lone surrogate; such a form cannot appear in output either. */
function tryEscape(escape: (s: string) => string, s: string): string | undefined {
  try {
    return escape(s);
  } catch {
    return undefined;
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
