/**
 * Every behaviour of the Cloudflare connectivity-services emulator that no
 * source pins down, in one place, so that the first real-API run can correct
 * them here (reference/cloudflare-api.md §12 lists the open questions).
 *
 * Each constant says what was chosen, why, and where the gap is documented.
 * Constants marked VERIFIED-ISH have field evidence for the value but not for
 * every detail (e.g. the code is known, the status is not).
 */

/** An error entry of the failure envelope (§4: `{code >= 1000, message}`). */
export interface CloudflareErrorSpec {
  readonly status: number;
  readonly code: number;
  readonly message: string;
}

// ─── Validation ────────────────────────────────────────────────────────────

/**
 * UNVERIFIED (cloudflare-api.md §5 "body fails validation", §11, §12.3): no
 * source shows a validation error body. 400 is the general Cloudflare answer
 * (INFER); the code is an arbitrary value ≥ 1000 (the spec's minimum, §4).
 */
export const VALIDATION_ERROR = { status: 400, code: 1001 } as const;

/**
 * UNVERIFIED (§12.5): whether the server rejects fields of the other variant
 * (`tcp_port` on http, `http_port` on tcp). The emulator rejects them when
 * non-null, which is the stricter choice; explicit `null` is accepted, because
 * a full-replacement PUT that changes `type` may need to clear the old
 * variant's fields (§3, §10 "explicit null").
 */
export const REJECT_FOREIGN_FIELDS = true;

/** UNVERIFIED (§12.5): whether the server requires `tcp_port` for tcp. Wrangler only checks client-side (§2). */
export const REQUIRE_TCP_PORT = false;

/**
 * UNVERIFIED (§12.5): whether `cert_verification_mode` is checked. The spec has
 * no enum (§2, §9.5), so the emulator accepts any non-empty string.
 */
export const ENFORCE_CERT_VERIFICATION_MODES = false;

/** UNVERIFIED (§2 "65535 is INFER", §12.5): the spec only says int32, minimum 1. */
export const MAX_PORT = 65535;

/**
 * UNVERIFIED (§2: `ipv4`/`ipv6` are strings with no format): the emulator
 * checks they parse as addresses of the right family (and resolver IPs as IPs),
 * since the runtime must dial them (INFER).
 */
export const VALIDATE_IP_SYNTAX = true;

// ─── Names ─────────────────────────────────────────────────────────────────

/**
 * Duplicate name on POST or on a PUT rename. The code 5101 has field evidence
 * (alchemy, §5); the status is UNVERIFIED (400 or 409, §5, §12.2). 400 is the
 * default because the SDKs retry 409 (§5), which would hide the error; the
 * emulator's `duplicateNameStatus` option overrides it.
 */
export const DUPLICATE_NAME_ERROR = { status: 400, code: 5101 } as const;

// ─── Not found, routes, methods ────────────────────────────────────────────

/**
 * UNVERIFIED code (§5, §11, §12.3): unknown or deleted `service_id` → 404 is
 * field evidence (flarefake, terraform); the code is not. A malformed
 * (non-UUID) id also answers 404 (§11 "pick 404").
 */
export const SERVICE_NOT_FOUND = { status: 404, code: 1404, message: 'Service not found' } as const;

/** UNVERIFIED (§5 "unknown route", general Cloudflare, INFER): code 7003 is the spec's own failure example. */
export const NO_ROUTE = { status: 404, code: 7003, message: 'No route for the URI' } as const;

/** UNVERIFIED (§5, §11): any other method on the service paths → 405; the code is general Cloudflare (INFER). */
export const METHOD_NOT_ALLOWED = {
  status: 405,
  code: 10405,
  message: 'Method not allowed',
} as const;

/**
 * UNVERIFIED (INFER): a request body over the emulator's limit (5 MiB by
 * default) → 413 in the failure envelope, answered after authentication (like
 * every other answer but an unknown route or method). No source shows the
 * status, code or message for this API; the code is an arbitrary value ≥ 1000
 * (the spec's minimum, §4).
 */
export const PAYLOAD_TOO_LARGE = {
  status: 413,
  code: 10413,
  message: 'Request body too large',
} as const;

/**
 * The colo suffix of the emulator's Ray IDs (`cf-ray: <16 hex>-<colo>`, the form
 * Cloudflare's docs show, e.g. `230b030023ae2822-SJC`). The three letters name no
 * real data centre; clients read the whole value as an opaque request id.
 */
export const RAY_COLO = 'EMU';

// ─── Auth ──────────────────────────────────────────────────────────────────

/** §5/§6: missing or invalid credentials → 403 code 10000 (general Cloudflare, many issue reports). */
export const AUTH_ERROR = { status: 403, code: 10000, message: 'Authentication error' } as const;

/**
 * §5: a token without the "Connectivity Directory: Admin" permission → code
 * 10196 (field evidence: a deploy script); the 403 status is UNVERIFIED ("likely").
 * The message text is ours.
 */
export const MISSING_SCOPE_ERROR = {
  status: 403,
  code: 10196,
  message: 'Unauthorized: the token lacks the Connectivity Directory: Admin permission',
} as const;

/**
 * UNVERIFIED (INFER): a request for another account than the emulator's is
 * answered as an authentication failure (the credentials do not reach it).
 */
export const FOREIGN_ACCOUNT_ERROR = AUTH_ERROR;

// ─── Rate limit ────────────────────────────────────────────────────────────

/**
 * §5: 1,200 requests per 5 minutes per user/token (DOCS). The code is
 * UNVERIFIED: field reports say 971, which breaks the spec's minimum of 1000
 * (§4), so the emulator sends flarefake's 1015 (§11 "make the code configurable").
 */
export const RATE_LIMIT = { requests: 1200, windowS: 300, status: 429, code: 1015 } as const;
export const RATE_LIMIT_MESSAGE = 'Rate limited: too many requests, please slow down';

/** Codes of injected 5xx faults (UNVERIFIED, INFER: Cloudflare's generic internal error). */
export const INTERNAL_ERROR_CODE = 10001;

// ─── Responses ─────────────────────────────────────────────────────────────

/**
 * UNVERIFIED (§4 "DELETE", §11): the spec has no DELETE body; wrangler parses an
 * envelope, so one is sent, with `result: null` (INFER).
 */
export const DELETE_RESULT = null;

/**
 * UNVERIFIED (§4 "Absent optionals", §11): the server echoes what was stored.
 * Optional keys not sent stay absent (no 80/443 or verify_full injected). An
 * explicit `null` that was sent is stored and echoed as `null` (the fields are
 * nullable, §2); connops treats null and absent alike (§10).
 */
export const ECHO_EXPLICIT_NULL = true;

/**
 * UNVERIFIED (§2 "No schema sets additionalProperties: false"): unknown keys in
 * a body are dropped, not stored or rejected; sent read-only keys
 * (`service_id`, `created_at`, `updated_at`) are ignored too.
 */
export const UNKNOWN_KEYS = 'drop' as const;

/**
 * UNVERIFIED (§3, §12.1): what a PUT does with an optional field it omits.
 * "replace" (the default) stores the PUT body as is, so omitted fields are
 * gone. "keep-omitted" keeps the old value of omitted or null optional fields,
 * the other plausible semantic; the emulator's `putSemantics` option selects it
 * so tests can show connops detects non-convergence.
 *
 * What connops sends to remove an optional field is the form the OpenAPI as
 * written allows (providers/cloudflare/provider.ts REMOVAL_FORM, checked
 * against the file by providers/cloudflare/openapi.test.ts): `null` for the
 * ports (nullable integers); no key for `app_protocol` (nullable + enum: null is
 * not in the enum) and `tls_settings` (nullable + allOf of a non-nullable
 * object). The emulator accepts and echoes an explicit null for every optional
 * field (ECHO_EXPLICIT_NULL), because real clients send it (terraform) and no
 * source shows the server refusing it.
 */
export type PutSemantics = 'replace' | 'keep-omitted';
export const PUT_SEMANTICS: PutSemantics = 'replace';

/**
 * UNVERIFIED (§11 "creation order is INFER", §12.7): list order. The emulator
 * lists in creation order; `result_info.count` is the number of items on the page.
 */
export const LIST_ORDER = 'creation' as const;

/** §3: per_page default and maximum (SPEC). Above the maximum → 400 with VALIDATION_ERROR (UNVERIFIED code). */
export const PER_PAGE_DEFAULT = 1000;
export const PER_PAGE_MAX = 1000;
