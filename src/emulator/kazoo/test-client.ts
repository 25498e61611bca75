/**
 * A tiny HTTP client for the emulator's own conformance tests: real loopback
 * requests through undici, answers as plain values.
 */
import { createHash } from 'node:crypto';
import { request, type Dispatcher } from 'undici';

export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests poke at arbitrary JSON
  readonly json: any;
}

export interface CallOptions {
  /** JSON-serialised into the body. */
  readonly body?: unknown;
  /** Raw body text (wins over `body`). */
  readonly raw?: string;
  /** X-Auth-Token value. */
  readonly token?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export async function call(
  base: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers['x-auth-token'] = options.token;
  let body: string | undefined = options.raw;
  if (body === undefined && options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await request(`${base}${path}`, {
    method: method as Dispatcher.HttpMethod,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.body.text();
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers))
    if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: flat, text, json };
}

/** Logs in with an api key and returns the token. */
export async function apiAuth(base: string, apiKey: string): Promise<string> {
  const reply = await call(base, 'PUT', '/api_auth', { body: { data: { api_key: apiKey } } });
  if (reply.status !== 201) throw new Error(`api_auth failed: ${reply.status} ${reply.text}`);
  return String(reply.json.auth_token);
}

export function md5Credentials(username: string, password: string): string {
  return createHash('md5').update(`${username.toLowerCase()}:${password}`).digest('hex');
}
