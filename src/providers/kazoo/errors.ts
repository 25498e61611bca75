/**
 * Turns Kazoo Crossbar error answers into `ApiError`s in the user's terms
 * (reference/kazoo-api.md §3.2–§3.4). Pure: takes a response, returns an error.
 */
import { ApiError } from '../../core/errors.ts';
import type { ErrorCode } from '../../core/errors.ts';
import { isObject } from '../../core/json.ts';
import type { HttpResponse } from '../../io/http-types.ts';

/** What the client was doing, for the "Cannot … " part of a message. */
export interface KazooOperation {
  readonly verb: 'list' | 'read' | 'create' | 'update' | 'delete' | 'fix' | 'sign in to';
  readonly target: string;
  readonly account?: string;
  /** Document id, when known. */
  readonly id?: string;
  /** Document name, for creates without an id. */
  readonly name?: string;
  /** Revision the write was guarded with (for conflict messages). */
  readonly revision?: string;
  /** What is listed or read (default `kazoo/connectivity`; `kazoo/phone_numbers` for the number manager, §12). */
  readonly resource?: string;
}

/** Masks secrets in a message; the identity when the caller has none. */
export type Redactor = (text: string) => string;

/** Most field problems quoted in the one-line message; the rest stay in `ApiError.fields`. */
const MAX_FIELDS_IN_MESSAGE = 3;

/** The "Cannot <verb> kazoo/connectivity <id> in account <A>" part of a message. */
export function describeOperation(op: KazooOperation): string {
  if (op.verb === 'sign in to') return `Cannot sign in to ${op.target}`;
  const resource = op.resource ?? 'kazoo/connectivity';
  const what =
    op.verb === 'list'
      ? op.resource === undefined
        ? 'kazoo/connectivity documents'
        : resource
      : op.id !== undefined
        ? `${resource} ${op.id}`
        : op.name !== undefined
          ? `${resource} "${op.name}"`
          : resource;
  return `Cannot ${op.verb} ${what}${op.account !== undefined ? ` in account ${op.account}` : ''}`;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Envelope `request_id`, falling back to the `X-Request-ID` header (§3.1). */
export function requestIdOf(res: HttpResponse): string | undefined {
  return (
    (isObject(res.body) ? str(res.body['request_id']) : undefined) ?? res.headers['x-request-id']
  );
}

/**
 * Kazoo's own words for an error: the envelope `message`, plus `data.message`
 * when it says more (e.g. `forbidden: unauthorized to use +1415…`, §3.4).
 */
export function apiMessageOf(res: HttpResponse): string {
  // Non-JSON bodies (cowboy's empty 412, a proxy's HTML page) are not quoted: they say nothing useful.
  if (!isObject(res.body)) return `HTTP ${res.status}`;
  const message = str(res.body['message']);
  const data = res.body['data'];
  const detail = isObject(data) ? str(data['message']) : undefined;
  if (
    message !== undefined &&
    detail !== undefined &&
    detail !== message &&
    detail.replace(/ /g, '_') !== message
  ) {
    return `${message}: ${detail}`;
  }
  return detail ?? message ?? `HTTP ${res.status}`;
}

/** Escapes one JSON Pointer reference token (RFC 6901). */
function pointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * A Kazoo dotted validation path as a JSON Pointer: `servers.0.options.inbound_format`
 * → `/servers/0/options/inbound_format`; `%2E` is a literal dot inside a key (§3.3).
 */
export function dottedPathToPointer(path: string): string {
  if (path === '') return '';
  return path
    .split('.')
    .map((part) => `/${pointerToken(part.replace(/%2E/gi, '.'))}`)
    .join('');
}

function describeValue(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** One validator's details as a short phrase ("must be one of e164, npan (got \"foo\")"). */
export function describeValidation(validator: string, details: unknown): string {
  const d = isObject(details) ? details : {};
  const target = d['target'];
  const got = 'value' in d ? ` (got ${describeValue(d['value'])})` : '';
  switch (validator) {
    case 'required':
      return 'is required';
    case 'enum':
      return Array.isArray(target)
        ? `must be one of ${target.map(String).join(', ')}${got}`
        : `is not an allowed value${got}`;
    case 'maxLength':
      return `must not be longer than ${String(target)} characters`;
    case 'minLength':
      return `must be at least ${String(target)} characters long`;
    case 'type':
      return `must be of type ${Array.isArray(target) ? target.join(' or ') : String(target)}${got}`;
    case 'minimum':
      return `must be at least ${String(target)}${got}`;
    case 'maximum':
      return `must be at most ${String(target)}${got}`;
    default: {
      const message = str(d['message']);
      return message !== undefined ? `${message}${got}` : `failed the ${validator} check${got}`;
    }
  }
}

/**
 * Kazoo's 400 `data` (`{"servers.0.auth": {"required": {…}}}`, §3.3) as
 * JSON Pointer → message. Keys without a validator object are skipped.
 */
export function validationFields(data: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  if (!isObject(data)) return fields;
  for (const [path, validators] of Object.entries(data)) {
    if (!isObject(validators)) continue;
    const phrases = Object.entries(validators).map(([validator, details]) =>
      describeValidation(validator, details),
    );
    if (phrases.length > 0) fields[dottedPathToPointer(path)] = phrases.join('; ');
  }
  return fields;
}

function pointerAsPath(pointer: string): string {
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

/** The part after "Cannot …: " explaining a status, and the error code it maps to. */
function explain(
  res: HttpResponse,
  op: KazooOperation,
  fields: Record<string, string>,
): { code: ErrorCode; reason: string } {
  const apiMessage = apiMessageOf(res);
  switch (res.status) {
    case 400: {
      const entries = Object.entries(fields);
      if (entries.length === 0)
        return { code: 'API', reason: `the server rejected it (${apiMessage})` };
      const shown = entries
        .slice(0, MAX_FIELDS_IN_MESSAGE)
        .map(([p, m]) => `${pointerAsPath(p)} ${m}`);
      const more =
        entries.length > MAX_FIELDS_IN_MESSAGE
          ? `; and ${entries.length - MAX_FIELDS_IN_MESSAGE} more`
          : '';
      const label = isObject(res.body)
        ? (str(res.body['message']) ?? 'validation error')
        : 'validation error';
      return {
        code: 'API',
        reason: `the server rejected it (${label}): ${shown.join('; ')}${more}`,
      };
    }
    case 401:
      return { code: 'AUTH', reason: `the server rejected the credentials (${apiMessage})` };
    case 403:
      return { code: 'API', reason: `the server refused it (${apiMessage})` };
    case 404:
      return { code: 'API', reason: `it does not exist on the server (${apiMessage})` };
    case 409:
    case 412:
      // 412 comes from cowboy with an empty body; 409 from a CouchDB save conflict (§4).
      return {
        code: 'CONFLICT',
        reason: `it changed on the server since it was read${op.revision !== undefined ? ` (revision ${op.revision})` : ''}; re-run plan`,
      };
    case 429:
      return {
        code: 'API',
        reason: `the server is rate limiting requests (${apiMessage}); try again later or lower the target's concurrency`,
      };
    default:
      if (res.status >= 500)
        return { code: 'API', reason: `the server failed (HTTP ${res.status}: ${apiMessage})` };
      return { code: 'API', reason: `the server answered HTTP ${res.status} (${apiMessage})` };
  }
}

/**
 * Builds the `ApiError` for a Kazoo error answer.
 *
 * @param res the error response
 * @param op what was being attempted (for the message)
 * @param redact masks secrets in the message and the API's text
 * @param override replaces the code and reason (for auth-specific wording)
 */
export function kazooApiError(
  res: HttpResponse,
  op: KazooOperation,
  redact: Redactor,
  override?: { code: ErrorCode; reason: string },
): ApiError {
  const fields = res.status === 400 && isObject(res.body) ? validationFields(res.body['data']) : {};
  const { code, reason } = override ?? explain(res, op, fields);
  const requestId = requestIdOf(res);
  const redactedFields: Record<string, string> = {};
  for (const [p, m] of Object.entries(fields)) redactedFields[p] = redact(m);
  return new ApiError(code, redact(`${describeOperation(op)}: ${reason}`), {
    status: res.status,
    apiMessage: redact(apiMessageOf(res)),
    fields: redactedFields,
    ...(requestId !== undefined ? { requestId } : {}),
  });
}
