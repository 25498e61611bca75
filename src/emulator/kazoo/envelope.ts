/**
 * Crossbar's response envelopes (reference/kazoo-api.md §3.1, §3.2): the keys
 * differ between the 4.3 line (always `version`, no `tokens`, the literal
 * `"auth_token":"undefined"` on unauthenticated errors) and master (`tokens`, and
 * `version` only when the request was authenticated).
 */
import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from '../../core/json.ts';
import { jsonResponse, type EmulatorResponse } from '../http-util.ts';

export type KazooVersion = '4.3' | '5';

/** The version strings the envelope reports. */
export const KAZOO_VERSION_STRINGS: Readonly<Record<KazooVersion, string>> = {
  '4.3': '4.3.142',
  '5': '5.0.0',
};

/** base64url(md5(node name)), like `kz_nodes:node_encoded/0`. */
export const NODE_ENCODED = createHash('md5')
  .update('crossbar@emulator.connops.local')
  .digest('base64url');

export interface RequestContext {
  readonly version: KazooVersion;
  readonly requestId: string;
  /** The token sent with the request, or the one just issued by an auth call. */
  authToken?: string;
  authenticated: boolean;
  /** Rate-limit bucket reading for master's `tokens` key. */
  tokens?: { consumed: number; remaining: number };
}

/** `kz_time:iso8601/1`: second precision, UTC. */
export function isoTimestamp(nowMs: number): string {
  return new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function common(ctx: RequestContext, nowMs: number, isError: boolean): JsonObject {
  const out: JsonObject = {
    request_id: ctx.requestId,
    node: NODE_ENCODED,
    timestamp: isoTimestamp(nowMs),
  };
  if (ctx.authToken !== undefined) out['auth_token'] = ctx.authToken;
  // 4.3 runs kz_term:to_binary(undefined) in the error branch (§3.2).
  else if (isError && ctx.version === '4.3') out['auth_token'] = 'undefined';
  if (ctx.version === '4.3') {
    out['version'] = KAZOO_VERSION_STRINGS['4.3'];
  } else {
    // PR #6483: the version is only disclosed to authenticated callers.
    if (ctx.authenticated) out['version'] = KAZOO_VERSION_STRINGS['5'];
    if (ctx.tokens) out['tokens'] = { ...ctx.tokens };
  }
  return out;
}

function baseHeaders(
  ctx: RequestContext,
  extra: Readonly<Record<string, string>>,
): Record<string, string> {
  return { 'x-request-id': ctx.requestId, ...extra };
}

/** A success envelope; `extra` carries `revision` or the listing's paging keys. */
export function success(
  ctx: RequestContext,
  nowMs: number,
  status: number,
  data: JsonValue,
  extra: JsonObject = {},
  headers: Readonly<Record<string, string>> = {},
): EmulatorResponse {
  const body: JsonObject = { status: 'success', data, ...extra, ...common(ctx, nowMs, false) };
  return jsonResponse(status, body, baseHeaders(ctx, headers));
}

/** An error envelope (§3.2): `error` is the status code as a string. */
export function failure(
  ctx: RequestContext,
  nowMs: number,
  status: number,
  message: string,
  data: JsonValue,
  headers: Readonly<Record<string, string>> = {},
): EmulatorResponse {
  const body: JsonObject = {
    status: 'error',
    error: String(status),
    message,
    data,
    ...common(ctx, nowMs, true),
  };
  return jsonResponse(status, body, baseHeaders(ctx, headers));
}

/** A bodiless answer from cowboy itself (412, 304, malformed If-Match 400): no envelope (§4). */
export function bare(
  ctx: RequestContext,
  status: number,
  headers: Readonly<Record<string, string>> = {},
): EmulatorResponse {
  return { status, headers: baseHeaders(ctx, headers), body: '' };
}
