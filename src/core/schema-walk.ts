/**
 * Walks a value alongside the subset of JSON Schema our provider schemas use
 * (type, properties, patternProperties, items, default) to do what a server does
 * around validation: fill in defaults, coerce scalars, and find keys the schema
 * does not know. Pure; every function returns a new value.
 */
import { buildPointer, isObject, type JsonObject, type JsonValue } from './json.ts';

type Schema = JsonObject;

/** Compiled patternProperties, by source: the walks test every key of every object (each DID). */
const patternCache = new Map<string, RegExp>();

function patternOf(source: string): RegExp {
  let re = patternCache.get(source);
  if (!re) {
    re = new RegExp(source, 'u');
    patternCache.set(source, re);
  }
  return re;
}

function childSchemas(schema: Schema, key: string): Schema[] {
  const out: Schema[] = [];
  const props = schema['properties'];
  if (isObject(props) && Object.hasOwn(props, key) && isObject(props[key])) out.push(props[key]);
  const patterns = schema['patternProperties'];
  if (isObject(patterns)) {
    for (const [pattern, sub] of Object.entries(patterns)) {
      if (isObject(sub) && patternOf(pattern).test(key)) out.push(sub);
    }
  }
  return out;
}

function itemSchema(schema: Schema): Schema | undefined {
  const items = schema['items'];
  return isObject(items) ? items : undefined;
}

/**
 * Fills each missing property that has a `default`, in every object that is
 * present, recursively (jesse's `use_defaults` + `apply_defaults_to_empty_objects`,
 * reference/kazoo-api.md §2.3). Objects that are absent are not created unless
 * they have a default themselves.
 */
export function applyDefaults(schema: Schema, value: JsonValue): JsonValue {
  if (Array.isArray(value)) {
    const items = itemSchema(schema);
    return items ? value.map((v) => applyDefaults(items, v)) : value;
  }
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    let next = child;
    for (const sub of childSchemas(schema, key)) next = applyDefaults(sub, next);
    out[key] = next;
  }
  const props = schema['properties'];
  if (isObject(props)) {
    for (const [key, sub] of Object.entries(props)) {
      if (Object.hasOwn(out, key) || !isObject(sub) || !Object.hasOwn(sub, 'default')) continue;
      const fallback = sub['default'] as JsonValue;
      // Most defaults are scalars, which need no copy (structuredClone is costly per DID).
      out[key] = applyDefaults(
        sub,
        typeof fallback === 'object' && fallback !== null ? structuredClone(fallback) : fallback,
      );
    }
  }
  return out;
}

/**
 * Kazoo's non-strict mode rewrites wrong-typed strings where the schema wants an
 * integer, number or boolean, then validates again (reference/kazoo-api.md §2.4):
 * "5060" → 5060, "true"/"false" → booleans, and nothing else.
 */
export function coerceScalars(schema: Schema, value: JsonValue): JsonValue {
  if (typeof value === 'string') return coerceString(schema['type'], value);
  if (Array.isArray(value)) {
    const items = itemSchema(schema);
    return items ? value.map((v) => coerceScalars(items, v)) : value;
  }
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    let next = child;
    for (const sub of childSchemas(schema, key)) next = coerceScalars(sub, next);
    out[key] = next;
  }
  return out;
}

function coerceString(type: JsonValue | undefined, value: string): JsonValue {
  if ((type === 'integer' || type === 'number') && /^-?\d+$/.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return n;
  }
  if (type === 'number' && /^-?\d+\.\d+$/.test(value)) return Number(value);
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

/**
 * JSON Pointers of keys that the schema does not describe, inside objects the
 * schema does describe (objects without `properties` accept anything).
 */
export function findUnknownKeys(
  schema: Schema,
  value: JsonValue,
  path: (string | number)[] = [],
): string[] {
  const found: string[] = [];
  if (Array.isArray(value)) {
    const items = itemSchema(schema);
    if (items) value.forEach((v, i) => found.push(...findUnknownKeys(items, v, [...path, i])));
    return found;
  }
  if (!isObject(value)) return found;
  const describes = isObject(schema['properties']) || isObject(schema['patternProperties']);
  for (const [key, child] of Object.entries(value)) {
    const subs = childSchemas(schema, key);
    if (subs.length === 0) {
      if (describes) found.push(buildPointer([...path, key]));
      continue;
    }
    for (const sub of subs) found.push(...findUnknownKeys(sub, child, [...path, key]));
  }
  return found;
}

/** The property names a schema object declares at a pointer-free level (for suggestions). */
export function knownKeys(schema: Schema): string[] {
  const props = schema['properties'];
  return isObject(props) ? Object.keys(props) : [];
}

/** Resolves the sub-schema at a pointer (array indices and pattern keys followed). */
export function schemaAt(schema: Schema, tokens: readonly string[]): Schema | undefined {
  let cur: Schema | undefined = schema;
  for (const token of tokens) {
    if (!cur) return undefined;
    if (cur['type'] === 'array') {
      cur = itemSchema(cur);
      continue;
    }
    cur = childSchemas(cur, token)[0];
  }
  return cur;
}
