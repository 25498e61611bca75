/**
 * The comparable form of a Cloudflare connectivity service body, applied to
 * both the desired spec and the live object so that a converged repository
 * plans nothing (reference/cloudflare-api.md §10). Pure.
 *
 * The rules are INFER in the note (checked against the docs and terraform, not
 * against real reads):
 * - server-owned `service_id`, `created_at`, `updated_at` and unknown keys go;
 * - absent ≡ null for every optional field, and `resolver_ips: []` ≡ absent;
 * - `type: http`: absent `http_port` ≡ 80, absent `https_port` ≡ 443 (DOCS runtime defaults, §2);
 * - absent `tls_settings` ≡ `{cert_verification_mode: verify_full}` (§2);
 * - fields that do not belong to the type are dropped (the runtime cannot use them);
 * - IPv6 text is canonical (RFC 5952), `tunnel_id` lowercase (a UUID is case-insensitive);
 * - keys sorted at every level. `host` stays one object: moving between the
 *   `network` and `resolver_network` forms is a real change (§10).
 */
import { isIP } from 'node:net';
import {
  canonicalJson,
  isObject,
  sortKeys,
  type JsonObject,
  type JsonValue,
} from '../../core/json.ts';
import { FIELD_TYPE, HOST_FIELDS, OPTIONAL_FIELDS } from './schema.ts';

/** Runtime defaults of an HTTP service's ports (§2, DOCS). */
export const DEFAULT_HTTP_PORT = 80;
export const DEFAULT_HTTPS_PORT = 443;
/** The mode used when `tls_settings` is omitted (§2, from the spec's description). */
export const DEFAULT_CERT_VERIFICATION_MODE = 'verify_full';

/** Returns the normalised form of a service body (desired or live). */
export function normalizeService(body: JsonObject): JsonObject {
  const out: JsonObject = {};
  const type = body['type'];
  for (const key of ['name', 'type'] as const) {
    const v = body[key];
    if (v !== undefined && v !== null) out[key] = v;
  }
  const host = body['host'];
  if (isObject(host)) out['host'] = normalizeHost(host);
  else if (host !== undefined && host !== null) out['host'] = host;

  for (const key of OPTIONAL_FIELDS) {
    const v = body[key];
    if (v === undefined || v === null) continue;
    const owner = FIELD_TYPE[key];
    // Only drop a foreign field when the type is one we know; an unknown type is
    // a schema error already, and keeping the field makes that body's diff honest.
    if (owner !== undefined && (type === 'http' || type === 'tcp') && owner !== type) continue;
    out[key] = key === 'tls_settings' && isObject(v) ? pick(v, ['cert_verification_mode']) : v;
  }

  if (type === 'http') {
    out['http_port'] ??= DEFAULT_HTTP_PORT;
    out['https_port'] ??= DEFAULT_HTTPS_PORT;
  }
  out['tls_settings'] ??= { cert_verification_mode: DEFAULT_CERT_VERIFICATION_MODE };
  return sortKeys(out);
}

function normalizeHost(host: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of HOST_FIELDS) {
    const v = host[key];
    if (v === undefined || v === null) continue;
    if (key === 'ipv6' && typeof v === 'string') out[key] = canonicalIp(v);
    else if (key === 'network' && isObject(v)) out[key] = normalizeNetwork(v, false);
    else if (key === 'resolver_network' && isObject(v)) out[key] = normalizeNetwork(v, true);
    else out[key] = v;
  }
  return out;
}

function normalizeNetwork(net: JsonObject, resolver: boolean): JsonObject {
  const out: JsonObject = {};
  const tunnel = net['tunnel_id'];
  if (typeof tunnel === 'string') out['tunnel_id'] = tunnel.toLowerCase();
  else if (tunnel !== undefined && tunnel !== null) out['tunnel_id'] = tunnel;
  if (resolver) {
    const ips = net['resolver_ips'];
    // [] and absent both mean "cloudflared's system resolver" (§2 DOCS, §4 terraform #6868).
    if (Array.isArray(ips) && ips.length > 0) {
      out['resolver_ips'] = ips.map((ip) => (typeof ip === 'string' ? canonicalIp(ip) : ip));
    } else if (ips !== undefined && ips !== null && !Array.isArray(ips)) {
      out['resolver_ips'] = ips;
    }
  }
  return out;
}

function pick(obj: JsonObject, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const k of keys) {
    const v = obj[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Canonical text of an IP address: IPv6 per RFC 5952, IPv4 and non-addresses unchanged. */
export function canonicalIp(text: string): string {
  return isIP(text) === 6 ? canonicalIpv6(text) : text;
}

/**
 * RFC 5952 text of a valid IPv6 address: lowercase hex, no leading zeros, the
 * longest run (≥ 2) of zero groups compressed to `::` (the first on a tie),
 * IPv4-mapped addresses as `::ffff:a.b.c.d`. A zone (`%eth0`) is kept as is.
 */
export function canonicalIpv6(text: string): string {
  const pct = text.indexOf('%');
  const zone = pct >= 0 ? text.slice(pct) : '';
  const groups = parseIpv6(pct >= 0 ? text.slice(0, pct) : text);
  if (!groups) return text;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `::ffff:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}${zone}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':') + zone;
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}${zone}`;
}

/** The eight 16-bit groups of an IPv6 address (with an optional trailing dotted quad), or undefined. */
function parseIpv6(text: string): number[] | undefined {
  let body = text;
  const lastColon = body.lastIndexOf(':');
  const quad = body.slice(lastColon + 1);
  if (quad.includes('.')) {
    // A trailing dotted quad is the last two groups: rewrite it as hex first.
    if (isIP(quad) !== 4) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = quad.split('.').map(Number);
    body = `${body.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const split = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = split(halves[0] ?? '');
  const right = halves.length === 2 ? split(halves[1] ?? '') : [];
  const present = left.length + right.length;
  if (halves.length === 1 ? present !== 8 : present > 7) return undefined;
  const fill = halves.length === 2 ? new Array<string>(8 - present).fill('0') : [];
  const out: number[] = [];
  for (const w of [...left, ...fill, ...right]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) return undefined;
    out.push(parseInt(w, 16));
  }
  return out;
}

/** True when two bodies are equal after normalisation. */
export function sameService(a: JsonObject, b: JsonObject): boolean {
  return canonicalJson(normalizeService(a)) === canonicalJson(normalizeService(b));
}

/** Drops null-valued keys at every level (what a create sends: absent ≡ null, §3). */
export function dropNulls<T extends JsonValue>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => dropNulls(v)) as T;
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropNulls(v);
    return out as T;
  }
  return value;
}
