/**
 * The one wrapper around ajv: compiles each provider schema once and turns
 * ajv's errors into plain `{ pointer, message }` records. Pure.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import {
  buildPointer,
  getAtPointer,
  parsePointer,
  type JsonObject,
  type JsonValue,
} from './json.ts';

export interface SchemaProblem {
  /** JSON Pointer of the offending value (for `required`, of the missing key). */
  readonly pointer: string;
  /** Which keyword failed: type, enum, required, minLength, maxLength, minimum, … */
  readonly keyword: string;
  readonly message: string;
  /** True when the pointer names a key that is absent (so point at its parent). */
  readonly missing: boolean;
  /** ajv's keyword parameters (limit, allowedValues, type, missingProperty…); set by `validateAgainstDetailed` only. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** The offending value (absent for `required`); set by `validateAgainstDetailed` only. */
  readonly value?: JsonValue;
}

/** How connops compiles schemas: every error, strict about unknown keywords. */
export const AJV_OPTIONS = {
  allErrors: true,
  strict: true,
  strictTypes: false,
  allowUnionTypes: true,
} as const;

/**
 * The schemas are connops's own, so checking each against the JSON Schema
 * meta-schema (and compiling that first: a third of the CLI's start-up) is left
 * to a test (src/providers/schemas.test.ts) instead of every run.
 */
const ajv = new Ajv({ ...AJV_OPTIONS, validateSchema: false });
const compiled = new WeakMap<JsonObject, ValidateFunction>();

/** Returns the compiled validator for a schema object (compiled on first use only). */
export function compileSchema(schema: JsonObject): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    const id = schema['$id'];
    const existing = typeof id === 'string' ? ajv.getSchema(id) : undefined;
    fn = existing ?? ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

/** Validates a value, returning every problem found (empty when valid). */
export function validateAgainst(schema: JsonObject, value: JsonValue): SchemaProblem[] {
  const fn = compileSchema(schema);
  if (fn(value)) return [];
  return (fn.errors ?? []).map(toProblem);
}

/**
 * Like `validateAgainst`, but each problem also carries ajv's `params` and the
 * offending `value`, which a server emulator needs to build Kazoo's error
 * details (reference/kazoo-api.md §3.3). Kept separate so the plain problems stay
 * unchanged.
 */
export function validateAgainstDetailed(schema: JsonObject, value: JsonValue): SchemaProblem[] {
  const fn = compileSchema(schema);
  if (fn(value)) return [];
  return (fn.errors ?? []).map((e) => {
    const problem = toProblem(e);
    const params = { ...(e.params as Record<string, unknown>) };
    if (problem.missing) return { ...problem, params };
    const found = getAtPointer(value, e.instancePath);
    return found === undefined ? { ...problem, params } : { ...problem, params, value: found };
  });
}

function toProblem(e: ErrorObject): SchemaProblem {
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': {
      const prop = String(params['missingProperty']);
      return {
        pointer: buildPointer([...parsePointer(e.instancePath), prop]),
        keyword: 'required',
        message: `"${prop}" is required`,
        missing: true,
      };
    }
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[])
        .map((v) => JSON.stringify(v))
        .join(', ');
      return {
        pointer: e.instancePath,
        keyword: 'enum',
        message: `must be one of ${allowed}`,
        missing: false,
      };
    }
    case 'type':
      return {
        pointer: e.instancePath,
        keyword: 'type',
        message: `must be ${article(String(params['type']))}`,
        missing: false,
      };
    default:
      return {
        pointer: e.instancePath,
        keyword: e.keyword,
        message: e.message ?? 'is invalid',
        missing: false,
      };
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
