/**
 * What crossbar does to a request body before it saves a connectivity doc
 * (reference/kazoo-api.md §1.4, §1.6, §1.7, §2.3, §2.4, §3.3): keep public fields,
 * coerce scalars, apply defaults, validate, and render failures in Kazoo's
 * validation-error format. Also kz_json's PATCH merge. Pure.
 */
import { applyDefaults, coerceAndDefault } from '../../core/schema-walk.ts';
import { validateAgainstDetailed, type SchemaProblem } from '../../core/schema.ts';
import { isObject, parsePointer, type JsonObject, type JsonValue } from '../../core/json.ts';

/** Keys crossbar treats as private: `_id`, `_rev`, `_read_only`, `pvt_*` (§6.4). */
export function isPrivateKey(key: string): boolean {
  return key.startsWith('_') || key.startsWith('pvt_');
}

/**
 * `kz_doc:public_fields/1` on input (top level only, §6.4). We also drop `id`:
 * the URL id wins on POST/PATCH, and on PUT the caller reads `data.id` first.
 */
export function publicFields(value: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (!isPrivateKey(k) && k !== 'id') out[k] = v;
  return out;
}

/** The private fields of a stored doc (`kz_doc:private_fields/1`). */
export function privateFields(value: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (isPrivateKey(k)) out[k] = v;
  return out;
}

/** Dotted error key: array indices as numbers, a literal "." in a key as %2E (§3.3). */
export function dottedPath(tokens: readonly string[]): string {
  return tokens.map((t) => t.replaceAll('.', '%2E')).join('.');
}

/** One jesse error rendered as `{ "<validator>": details }` (§3.3 table). */
function detailsFor(problem: SchemaProblem): [string, JsonObject] {
  const params = problem.params ?? {};
  const value = problem.value;
  const withValue = (o: JsonObject): JsonObject => (value === undefined ? o : { ...o, value });
  switch (problem.keyword) {
    case 'required':
      return [
        'required',
        {
          message: 'Field is required but missing',
          value: String(params['missingProperty'] ?? ''),
        },
      ];
    case 'maxLength': {
      const target = Number(params['limit']);
      return [
        'maxLength',
        withValue({
          message: `String must not be more than ${target} characters`,
          target,
          cause: value ?? null,
        }),
      ];
    }
    case 'minLength': {
      const target = Number(params['limit']);
      return [
        'minLength',
        withValue({
          message: `String must be at least ${target} characters`,
          target,
          cause: value ?? null,
        }),
      ];
    }
    case 'enum':
      return [
        'enum',
        withValue({
          message: 'Value not found in enumerated list of values',
          target: (params['allowedValues'] as JsonValue[] | undefined) ?? [],
        }),
      ];
    case 'type': {
      const t = params['type'];
      const types = Array.isArray(t) ? t.map(String) : [String(t)];
      return [
        'type',
        withValue({
          message: `Value did not match type(s): ${types.join(', ')}`,
          target: types.length === 1 ? (types[0] ?? '') : types,
        }),
      ];
    }
    case 'minimum':
      return [
        'minimum',
        withValue({
          message: `Value must be at least ${String(params['limit'])}`,
          target: Number(params['limit']),
        }),
      ];
    case 'maximum':
      return [
        'maximum',
        withValue({
          message: `Value must be at most ${String(params['limit'])}`,
          target: Number(params['limit']),
        }),
      ];
    case 'pattern':
      return [
        'pattern',
        withValue({
          message: `Failed to match pattern '${String(params['pattern'])}'`,
          target: String(params['pattern']),
        }),
      ];
    case 'additionalProperties':
      return [
        'additionalProperties',
        withValue({
          message: 'Strict checking of data is enabled; only include schema-defined properties',
        }),
      ];
    default:
      return [problem.keyword, withValue({ message: problem.message })];
  }
}

/**
 * Kazoo's `data` for a 400 "validation error": keyed by dotted path; when two
 * validators fail on one path only the later survives (top-level merge, §3.3).
 */
export function kazooValidationErrors(problems: readonly SchemaProblem[]): JsonObject {
  const out: JsonObject = {};
  for (const problem of problems) {
    const tokens = parsePointer(problem.pointer);
    if (problem.keyword === 'additionalProperties')
      tokens.push(String(problem.params?.['additionalProperty'] ?? ''));
    const [validator, details] = detailsFor(problem);
    out[dottedPath(tokens)] = { [validator]: details };
  }
  return out;
}

export type Prepared =
  | { readonly ok: true; readonly doc: JsonObject }
  | { readonly ok: false; readonly errors: JsonObject };

/**
 * `cb_context:validate_request_data` for one body: public fields, coercion (the
 * non-strict fix_js_types retry, §2.4), defaults (jesse use_defaults, §2.3),
 * validation. Unknown keys are kept (§2.2). The realm is forced by the caller.
 */
export function prepareWrite(schema: JsonObject, data: JsonValue): Prepared {
  const input = isObject(data) ? publicFields(data) : data;
  const defaulted = coerceAndDefault(schema, input);
  const problems = validateAgainstDetailed(schema, defaulted);
  if (problems.length > 0) return { ok: false, errors: kazooValidationErrors(problems) };
  // The schema's root type is object, so a valid value is one.
  return { ok: true, doc: defaulted as JsonObject };
}

/** Validates an auth body (api_auth / user_auth): no coercion, defaults applied. */
export function prepareAuthBody(schema: JsonObject, data: JsonValue): Prepared {
  const defaulted = applyDefaults(schema, data);
  const problems = validateAgainstDetailed(schema, defaulted);
  if (problems.length > 0) return { ok: false, errors: kazooValidationErrors(problems) };
  return { ok: true, doc: defaulted as JsonObject };
}

/** Removes nulls from an object recursively (objects only; arrays are values). */
function dropNulls(value: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null) continue;
    out[k] = isObject(v) ? dropNulls(v) : v;
  }
  return out;
}

/**
 * `kz_json:merge(fun kz_json:merge_left/2, Request, Stored)` with keep_null=false
 * (§1.7): objects deep-merge, `{}` replaces, arrays and scalars replace, null
 * deletes, nulls inside new objects and stored nulls are dropped.
 */
export function mergePatch(request: JsonObject, stored: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(stored)) if (v !== null) out[k] = v;
  for (const [k, v] of Object.entries(request)) {
    if (v === null) {
      delete out[k];
      continue;
    }
    const current = out[k];
    if (isObject(v)) {
      if (Object.keys(v).length === 0) out[k] = {};
      else if (isObject(current)) out[k] = mergePatch(v, current);
      else out[k] = dropNulls(v);
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** The DID keys of every server of a doc (§1.4: collected for the ownership check). */
export function didKeys(doc: JsonObject): string[] {
  const servers = doc['servers'];
  if (!Array.isArray(servers)) return [];
  const out: string[] = [];
  for (const server of servers) {
    if (!isObject(server)) continue;
    const dids = server['DIDs'];
    if (isObject(dids)) out.push(...Object.keys(dids));
  }
  return out;
}

/** knm_converters:normalize for the cases we model: NANP 10/11 digits, "+" numbers kept. */
export function normalizeNumber(num: string): string {
  if (num.startsWith('+')) return num;
  const digits = num.replace(/\D/g, '');
  if (digits.length === 10) return `+1${digits}`;
  if (digits.length === 11 && digits.startsWith('1')) return `+${digits}`;
  return `+${digits}`;
}
