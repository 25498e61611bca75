/**
 * A loopback emulator of Cloudflare's connectivity directory services API
 * (Workers VPC services), faithful to reference/cloudflare-api.md §11: the five
 * operations, the `{success, errors, messages, result}` envelope, `result_info`
 * paging, hand-written validation (not the spec's defective `oneOf`, §9),
 * duplicate names (5101), token or email+key auth, a per-credential rate limit
 * and fault injection. Behaviours no source confirms are constants in
 * `unverified.ts`.
 *
 * Every answer carries a Ray ID (`cf-ray`, Cloudflare's request id) and, for an
 * authenticated caller, the documented `Ratelimit`/`Ratelimit-Policy` headers.
 * Oversized bodies (413) and path segments with malformed percent-escapes are
 * answered in the failure envelope, after authentication, never as an
 * emulator error.
 *
 * The emulator stores and echoes what was sent (§4, §11): no defaults are
 * injected, so connops' normaliser, not the emulator, has to know that an
 * absent `http_port` means 80.
 *
 * Fault injection comes from `../faults.ts` (latency, 429/5xx in Cloudflare's
 * failure envelope, drops after the write landed, resets before it). The
 * Kazoo-only `tokenExpiresAfter` has no meaning here (API tokens do not expire
 * per request) and is ignored.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { isIP } from 'node:net';
import { isObject, type JsonObject, type JsonValue } from '../../core/json.ts';
import { FaultInjector, type FaultConfig } from '../faults.ts';
import {
  assertLoopback,
  closeServer,
  createEmulatorServer,
  DEFAULT_MAX_BODY_BYTES,
  jsonResponse,
  listen,
  type EmulatorRequest,
  type EmulatorResponse,
} from '../http-util.ts';
import {
  AUTH_ERROR,
  DELETE_RESULT,
  DUPLICATE_NAME_ERROR,
  ECHO_EXPLICIT_NULL,
  ENFORCE_CERT_VERIFICATION_MODES,
  FOREIGN_ACCOUNT_ERROR,
  INTERNAL_ERROR_CODE,
  MAX_PORT,
  METHOD_NOT_ALLOWED,
  MISSING_SCOPE_ERROR,
  NO_ROUTE,
  PAYLOAD_TOO_LARGE,
  RAY_COLO,
  PER_PAGE_DEFAULT,
  PER_PAGE_MAX,
  PUT_SEMANTICS,
  RATE_LIMIT,
  RATE_LIMIT_MESSAGE,
  REJECT_FOREIGN_FIELDS,
  REQUIRE_TCP_PORT,
  SERVICE_NOT_FOUND,
  VALIDATE_IP_SYNTAX,
  VALIDATION_ERROR,
  type PutSemantics,
} from './unverified.ts';

/** Credentials of the demo account (not secrets: they only open the local emulator). */
export const DEMO_CLOUDFLARE = {
  accountId: '023e105f4ecef8ad9ca31a8372d0c353',
  token: 'connops-demo-token-000000000000000000000',
  email: 'demo@connops.local',
  apiKey: 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffe',
} as const;

/** A service to preload. Not validated, so tests can build states the API would refuse (e.g. two with one name). */
export type CloudflareSeedService = JsonObject;

export interface CloudflareSeed {
  readonly services?: readonly CloudflareSeedService[];
}

export interface CloudflareEmulatorOptions {
  host?: string;
  /** 0 or absent: a free port. */
  port?: number;
  accountId?: string;
  token?: string;
  email?: string;
  apiKey?: string;
  faults?: FaultConfig;
  seed?: CloudflareSeed;
  /** Per-credential window (default 1200 requests / 300 s, §5). */
  rateLimit?: { requests: number; windowS: number };
  /** Error code of the rate-limit answer (default 1015, UNVERIFIED). */
  rateLimitCode?: number;
  /** Status of the duplicate-name (5101) answer (default 400, UNVERIFIED). */
  duplicateNameStatus?: number;
  /** Tokens that authenticate but lack the Connectivity Directory: Admin permission (→ 403 10196). */
  missingScopeTokens?: string[];
  /** What PUT does with omitted optional fields (default "replace", UNVERIFIED §12.1). */
  putSemantics?: PutSemantics;
  /** Clock (tests pin it). */
  now?: () => number;
  /** Largest accepted request body (default 5 MiB); bigger ones get 413 in the failure envelope. */
  maxBodyBytes?: number;
}

/** Test hooks: change what the emulator stores, to simulate an API that does not keep what it was sent. */
export interface CloudflareEmulatorHooks {
  /** Called with the body about to be stored on POST or PUT; returns what is stored instead. */
  beforeStore?: (body: JsonObject, method: 'POST' | 'PUT') => JsonObject;
}

export interface CloudflareEmulatorState {
  readonly accountId: string;
  /** The services as GET returns them, in list order. */
  readonly services: JsonObject[];
}

export interface CloudflareEmulator {
  /** Base URL, e.g. http://127.0.0.1:PORT/client/v4 */
  readonly url: string;
  readonly port: number;
  readonly accountId: string;
  readonly faults: FaultInjector;
  readonly hooks: CloudflareEmulatorHooks;
  close(): Promise<void>;
  /** A deep copy of the stored state. */
  dump(): CloudflareEmulatorState;
  /** Requests received (every one, faults included). */
  requestCount(): number;
  /** Loads more services, replacing any with the same service_id (not validated, as the initial seed). */
  seed(seed: CloudflareSeed): void;
}

interface StoredService {
  readonly service_id: string;
  readonly created_at: string;
  updated_at: string;
  /** The writable fields as sent (after dropping unknown keys). */
  body: JsonObject;
}

interface ErrorEntry {
  readonly code: number;
  readonly message: string;
}

const ROUTE =
  /^\/client\/v4\/accounts\/([^/]+)\/connectivity\/directory\/services(?:\/([^/]+))?\/?$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TYPE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  http: ['http_port', 'https_port'],
  tcp: ['tcp_port', 'app_protocol'],
};
const OPTIONAL_FIELDS = [
  'http_port',
  'https_port',
  'tcp_port',
  'app_protocol',
  'tls_settings',
] as const;
const HOST_SHAPES: readonly (readonly string[])[] = [
  ['ipv4', 'network'],
  ['ipv6', 'network'],
  ['ipv4', 'ipv6', 'network'],
  ['hostname', 'resolver_network'],
];

function envelope(result: JsonValue, extra: JsonObject = {}): JsonObject {
  return { success: true, errors: [], messages: [], result, ...extra };
}

function failure(
  status: number,
  error: ErrorEntry,
  headers: Record<string, string> = {},
): EmulatorResponse {
  const body = {
    success: false,
    errors: [{ code: error.code, message: error.message }],
    messages: [],
    result: null,
  };
  return jsonResponse(status, body, headers);
}

function invalid(message: string): EmulatorResponse {
  return failure(VALIDATION_ERROR.status, { code: VALIDATION_ERROR.code, message });
}

function headerOf(req: EmulatorRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Starts the emulator on loopback; resolves once it listens. */
export async function startCloudflareEmulator(
  options: CloudflareEmulatorOptions = {},
): Promise<CloudflareEmulator> {
  const host = options.host ?? '127.0.0.1';
  assertLoopback(host);
  const accountId = options.accountId ?? DEMO_CLOUDFLARE.accountId;
  const token = options.token ?? DEMO_CLOUDFLARE.token;
  const email = options.email ?? DEMO_CLOUDFLARE.email;
  const apiKey = options.apiKey ?? DEMO_CLOUDFLARE.apiKey;
  const missingScope = new Set(options.missingScopeTokens ?? []);
  const limit = options.rateLimit ?? { requests: RATE_LIMIT.requests, windowS: RATE_LIMIT.windowS };
  const rateLimitCode = options.rateLimitCode ?? RATE_LIMIT.code;
  const duplicateStatus = options.duplicateNameStatus ?? DUPLICATE_NAME_ERROR.status;
  const putSemantics = options.putSemantics ?? PUT_SEMANTICS;
  const now = options.now ?? Date.now;
  const faults = new FaultInjector(options.faults ?? {});
  const hooks: CloudflareEmulatorHooks = {};

  const services = new Map<string, StoredService>();
  const windows = new Map<string, { start: number; count: number }>();
  let requests = 0;
  let lastStamp = 0;

  /** RFC 3339 UTC with `Z`; strictly increasing, so `updated_at` moves on every PUT (§11). */
  function stamp(): string {
    const t = Math.max(now(), lastStamp + 1);
    lastStamp = t;
    return new Date(t).toISOString();
  }

  function load(seed: CloudflareSeed): void {
    for (const seeded of seed.services ?? []) {
      const id = typeof seeded['service_id'] === 'string' ? seeded['service_id'] : randomUUID();
      const created = typeof seeded['created_at'] === 'string' ? seeded['created_at'] : stamp();
      const updated = typeof seeded['updated_at'] === 'string' ? seeded['updated_at'] : created;
      const body = structuredClone(seeded);
      delete body['service_id'];
      delete body['created_at'];
      delete body['updated_at'];
      services.set(id, { service_id: id, created_at: created, updated_at: updated, body });
    }
  }
  load(options.seed ?? {});

  function render(s: StoredService): JsonObject {
    return {
      service_id: s.service_id,
      ...structuredClone(s.body),
      created_at: s.created_at,
      updated_at: s.updated_at,
    };
  }

  /** Who is calling: a credential key, or an error answer (§6: token OR email+key). */
  function authenticate(req: EmulatorRequest): { key: string; scoped: boolean } | EmulatorResponse {
    const authz = headerOf(req, 'authorization');
    const bearer = authz !== undefined ? /^Bearer\s+(\S+)\s*$/i.exec(authz)?.[1] : undefined;
    if (bearer !== undefined) {
      if (bearer === token) return { key: `token:${bearer}`, scoped: true };
      if (missingScope.has(bearer)) return { key: `token:${bearer}`, scoped: false };
      return failure(AUTH_ERROR.status, AUTH_ERROR);
    }
    const e = headerOf(req, 'x-auth-email');
    const k = headerOf(req, 'x-auth-key');
    if (e !== undefined && k !== undefined && e === email && k === apiKey)
      return { key: `key:${e}`, scoped: true };
    return failure(AUTH_ERROR.status, AUTH_ERROR);
  }

  /**
   * Fixed window per credential (§5: 1,200 per 5 minutes, then blocked until the
   * window ends). Also returns the `Ratelimit` / `Ratelimit-Policy` headers the
   * API sends on every answer (DOCS "Rate limiting headers": `"default";r=50;t=30`
   * and `"burst";q=100;w=60`): remaining quota, seconds to the window's end, and
   * the policy.
   */
  function rateLimited(key: string): {
    readonly limited: EmulatorResponse | undefined;
    readonly headers: Record<string, string>;
  } {
    const t = now();
    const windowMs = limit.windowS * 1000;
    let w = windows.get(key);
    if (!w || t - w.start >= windowMs) {
      w = { start: t, count: 0 };
      windows.set(key, w);
    }
    w.count += 1;
    const resetS = Math.max(1, Math.ceil((w.start + windowMs - t) / 1000));
    const headers = {
      ratelimit: `"default";r=${Math.max(0, limit.requests - w.count)};t=${resetS}`,
      'ratelimit-policy': `"default";q=${limit.requests};w=${limit.windowS}`,
    };
    if (w.count <= limit.requests) return { limited: undefined, headers };
    return {
      limited: failure(
        RATE_LIMIT.status,
        { code: rateLimitCode, message: RATE_LIMIT_MESSAGE },
        { 'retry-after': String(resetS) },
      ),
      headers,
    };
  }

  /**
   * Who may go on: authentication, the rate limit and the scope, in that order
   * (§6, §5). `headers` are the rate-limit headers for the answer.
   */
  function admit(
    req: EmulatorRequest,
    headers: Record<string, string>,
  ): EmulatorResponse | undefined {
    const who = authenticate(req);
    if ('status' in who) return who;
    const { limited, headers: rl } = rateLimited(who.key);
    Object.assign(headers, rl);
    if (limited) return limited;
    if (!who.scoped) return failure(MISSING_SCOPE_ERROR.status, MISSING_SCOPE_ERROR);
    return undefined;
  }

  /** Every answer carries a Ray ID (`cf-ray`, `<16 hex>-<colo>`) and, once the caller is known, the rate-limit headers. */
  function stamped(res: EmulatorResponse, headers: Record<string, string> = {}): EmulatorResponse {
    return {
      ...res,
      headers: {
        ...res.headers,
        ...headers,
        'cf-ray': `${randomBytes(8).toString('hex')}-${RAY_COLO}`,
      },
    };
  }

  function handle(req: EmulatorRequest): EmulatorResponse {
    const headers: Record<string, string> = {};
    return stamped(route(req, headers), headers);
  }

  /** A percent-decoded path segment, or undefined for a malformed escape (`%zz`, a lone `%`). */
  function segment(raw: string): string | undefined {
    try {
      return decodeURIComponent(raw);
    } catch {
      return undefined;
    }
  }

  function route(req: EmulatorRequest, headers: Record<string, string>): EmulatorResponse {
    const m = ROUTE.exec(req.path);
    if (!m) return failure(NO_ROUTE.status, NO_ROUTE);
    const rawId = m[2];
    const allowed = rawId === undefined ? ['GET', 'POST'] : ['GET', 'PUT', 'DELETE'];
    if (!allowed.includes(req.method)) {
      return failure(METHOD_NOT_ALLOWED.status, METHOD_NOT_ALLOWED, { allow: allowed.join(', ') });
    }

    const refused = admit(req, headers);
    if (refused) return refused;
    // Only after authentication (UNVERIFIED, INFER): a segment that does not decode
    // names no account and no service, so it is answered like any unknown one, in
    // the failure envelope, never as an error of the emulator.
    const account = segment(m[1] ?? '');
    if (account !== accountId) return failure(FOREIGN_ACCOUNT_ERROR.status, FOREIGN_ACCOUNT_ERROR);
    const id = rawId === undefined ? undefined : segment(rawId);
    if (rawId !== undefined && id === undefined)
      return failure(SERVICE_NOT_FOUND.status, SERVICE_NOT_FOUND);

    if (id === undefined) return req.method === 'GET' ? list(req) : create(req);
    const found = services.get(id.toLowerCase());
    if (!found) return failure(SERVICE_NOT_FOUND.status, SERVICE_NOT_FOUND);
    if (req.method === 'GET') return jsonResponse(200, envelope(render(found)));
    if (req.method === 'PUT') return replace(req, found);
    services.delete(found.service_id);
    return jsonResponse(200, envelope(DELETE_RESULT));
  }

  function list(req: EmulatorRequest): EmulatorResponse {
    const type = req.query.get('type');
    if (type !== null && type !== '' && type !== 'http' && type !== 'tcp') {
      return invalid(`type must be "http" or "tcp"`);
    }
    const page = intParam(req.query.get('page'), 1);
    const perPage = intParam(req.query.get('per_page'), PER_PAGE_DEFAULT);
    if (page === undefined || page < 1) return invalid('page must be an integer of at least 1');
    if (perPage === undefined || perPage < 1 || perPage > PER_PAGE_MAX) {
      return invalid(`per_page must be an integer between 1 and ${PER_PAGE_MAX}`);
    }
    const all = [...services.values()].filter((s) => !type || s.body['type'] === type);
    const items = all.slice((page - 1) * perPage, page * perPage).map(render);
    return jsonResponse(
      200,
      envelope(items, {
        result_info: {
          count: items.length,
          page,
          per_page: perPage,
          total_count: all.length,
          total_pages: Math.ceil(all.length / perPage),
        },
      }),
    );
  }

  function parseBody(req: EmulatorRequest): { body: JsonObject } | { error: EmulatorResponse } {
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch {
      return { error: invalid('Request body is not valid JSON') };
    }
    if (!isObject(body)) return { error: invalid('Request body must be a JSON object') };
    const problem = validateService(body);
    return problem !== undefined ? { error: invalid(problem) } : { body: storedForm(body) };
  }

  function duplicate(name: JsonValue | undefined, except?: string): EmulatorResponse | undefined {
    for (const s of services.values()) {
      if (s.service_id !== except && s.body['name'] === name) {
        return failure(duplicateStatus, {
          code: DUPLICATE_NAME_ERROR.code,
          message: `A service with the name "${String(name)}" already exists`,
        });
      }
    }
    return undefined;
  }

  function create(req: EmulatorRequest): EmulatorResponse {
    const parsed = parseBody(req);
    if ('error' in parsed) return parsed.error;
    const { body } = parsed;
    const dup = duplicate(body['name']);
    if (dup) return dup;
    const at = stamp();
    const stored: StoredService = {
      service_id: randomUUID(),
      created_at: at,
      updated_at: at,
      body: hooks.beforeStore ? hooks.beforeStore(structuredClone(body), 'POST') : body,
    };
    services.set(stored.service_id, stored);
    return jsonResponse(200, envelope(render(stored)));
  }

  function replace(req: EmulatorRequest, found: StoredService): EmulatorResponse {
    const parsed = parseBody(req);
    if ('error' in parsed) return parsed.error;
    let { body } = parsed;
    const dup = duplicate(body['name'], found.service_id);
    if (dup) return dup;
    if (putSemantics === 'keep-omitted') {
      for (const key of OPTIONAL_FIELDS) {
        const old = found.body[key];
        if ((body[key] === undefined || body[key] === null) && old !== undefined && old !== null)
          body[key] = old;
      }
    }
    if (hooks.beforeStore) body = hooks.beforeStore(structuredClone(body), 'PUT');
    found.body = body;
    found.updated_at = stamp();
    return jsonResponse(200, envelope(render(found)));
  }

  /** A body over the limit (default 5 MiB): 413 in the failure envelope, after authentication (UNVERIFIED). */
  function tooLarge(req: EmulatorRequest): EmulatorResponse {
    const headers: Record<string, string> = {};
    const refused = admit(req, headers);
    return stamped(refused ?? failure(PAYLOAD_TOO_LARGE.status, PAYLOAD_TOO_LARGE), headers);
  }

  const server: Server = createEmulatorServer({
    faults,
    handle,
    tooLarge,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    onRequest: () => {
      requests += 1;
    },
    faultResponse: (status) =>
      stamped(
        status === 429
          ? failure(429, { code: rateLimitCode, message: RATE_LIMIT_MESSAGE })
          : failure(status, { code: INTERNAL_ERROR_CODE, message: 'Internal server error' }),
      ),
  });
  const port = await listen(server, host, options.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}/client/v4`,
    port,
    accountId,
    faults,
    hooks,
    close: () => closeServer(server),
    dump: () => ({ accountId, services: [...services.values()].map(render) }),
    requestCount: () => requests,
    seed: load,
  };
}

function intParam(raw: string | null, fallback: number): number | undefined {
  if (raw === null || raw === '') return fallback;
  return /^\d{1,9}$/.test(raw) ? Number(raw) : undefined;
}

/**
 * The server-side validation the emulator applies (§11), by hand because the
 * spec's host `oneOf` rejects dual-stack (§9.1). Returns one message or undefined.
 */
export function validateService(body: JsonObject): string | undefined {
  const name = body['name'];
  if (name === undefined || name === null) return 'name is required';
  if (typeof name !== 'string' || name.trim() === '') return 'name must be a non-empty string';
  const type = body['type'];
  if (type === undefined || type === null) return 'type is required';
  if (type !== 'http' && type !== 'tcp') return 'type must be "http" or "tcp"';
  const host = body['host'];
  if (host === undefined || host === null) return 'host is required';
  if (!isObject(host)) return 'host must be an object';
  const hostProblem = validateHost(host);
  if (hostProblem !== undefined) return hostProblem;

  for (const port of ['http_port', 'https_port', 'tcp_port']) {
    const v = body[port];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_PORT) {
      return `${port} must be an integer between 1 and ${MAX_PORT}`;
    }
  }
  const app = body['app_protocol'];
  if (app !== undefined && app !== null && app !== 'postgresql' && app !== 'mysql') {
    return 'app_protocol must be "postgresql" or "mysql"';
  }
  const tls = body['tls_settings'];
  if (tls !== undefined && tls !== null) {
    if (!isObject(tls)) return 'tls_settings must be an object';
    const mode = tls['cert_verification_mode'];
    if (typeof mode !== 'string' || mode === '')
      return 'tls_settings.cert_verification_mode is required';
    if (
      ENFORCE_CERT_VERIFICATION_MODES &&
      !['verify_full', 'verify_ca', 'disabled'].includes(mode)
    ) {
      return 'tls_settings.cert_verification_mode must be verify_full, verify_ca or disabled';
    }
  }
  if (REJECT_FOREIGN_FIELDS) {
    for (const [owner, fields] of Object.entries(TYPE_FIELDS)) {
      if (owner === type) continue;
      for (const f of fields) {
        const v = body[f];
        if (v !== undefined && v !== null)
          return `${f} is not allowed for services of type ${type}`;
      }
    }
  }
  if (
    REQUIRE_TCP_PORT &&
    type === 'tcp' &&
    (body['tcp_port'] === undefined || body['tcp_port'] === null)
  ) {
    return 'tcp_port is required for services of type tcp';
  }
  return undefined;
}

function validateHost(host: JsonObject): string | undefined {
  const present = ['ipv4', 'ipv6', 'hostname', 'network', 'resolver_network'].filter(
    (k) => host[k] !== undefined && host[k] !== null,
  );
  const shape = HOST_SHAPES.find(
    (s) => s.length === present.length && s.every((k) => present.includes(k)),
  );
  if (!shape) {
    return 'host must be exactly one of {ipv4, network}, {ipv6, network}, {ipv4, ipv6, network} or {hostname, resolver_network}';
  }
  const { ipv4, ipv6, hostname } = host;
  if (ipv4 !== undefined && ipv4 !== null) {
    if (typeof ipv4 !== 'string' || (VALIDATE_IP_SYNTAX && isIP(ipv4) !== 4))
      return 'host.ipv4 must be an IPv4 address';
  }
  if (ipv6 !== undefined && ipv6 !== null) {
    if (typeof ipv6 !== 'string' || (VALIDATE_IP_SYNTAX && isIP(ipv6) !== 6))
      return 'host.ipv6 must be an IPv6 address';
  }
  if (
    hostname !== undefined &&
    hostname !== null &&
    (typeof hostname !== 'string' || hostname === '')
  ) {
    return 'host.hostname must be a non-empty string';
  }
  const netKey = shape.includes('network') ? 'network' : 'resolver_network';
  const net = host[netKey];
  if (!isObject(net)) return `host.${netKey} must be an object`;
  const tunnel = net['tunnel_id'];
  if (tunnel === undefined || tunnel === null) return `host.${netKey}.tunnel_id is required`;
  if (typeof tunnel !== 'string' || !UUID_RE.test(tunnel))
    return `host.${netKey}.tunnel_id must be a UUID`;
  if (netKey === 'resolver_network') {
    const ips = net['resolver_ips'];
    if (ips !== undefined && ips !== null) {
      if (!Array.isArray(ips)) return 'host.resolver_network.resolver_ips must be an array';
      for (const ip of ips) {
        if (typeof ip !== 'string' || (VALIDATE_IP_SYNTAX && isIP(ip) === 0)) {
          return 'host.resolver_network.resolver_ips must contain IP addresses';
        }
      }
    }
  }
  return undefined;
}

/** The body as stored: known writable keys only (§2), explicit nulls kept or dropped per ECHO_EXPLICIT_NULL. */
function storedForm(body: JsonObject): JsonObject {
  const keep = (obj: JsonObject, keys: readonly string[]): JsonObject => {
    const out: JsonObject = {};
    for (const k of keys) {
      const v = obj[k];
      if (v === undefined || (v === null && !ECHO_EXPLICIT_NULL)) continue;
      out[k] = structuredClone(v);
    }
    return out;
  };
  const out = keep(body, ['name', 'type', 'host', ...OPTIONAL_FIELDS]);
  const host = out['host'];
  if (isObject(host)) {
    const h = keep(host, ['ipv4', 'ipv6', 'hostname', 'network', 'resolver_network']);
    if (isObject(h['network'])) h['network'] = keep(h['network'], ['tunnel_id']);
    if (isObject(h['resolver_network']))
      h['resolver_network'] = keep(h['resolver_network'], ['tunnel_id', 'resolver_ips']);
    out['host'] = h;
  }
  const tls = out['tls_settings'];
  if (isObject(tls)) out['tls_settings'] = keep(tls, ['cert_verification_mode']);
  return out;
}
