/**
 * Walks a value alongside the subset of JSON Schema our provider schemas use
 * (type, properties, patternProperties, items, default) to do what a server does
 * around validation: fill in defaults, coerce scalars, and find keys the schema
 * does not know. Pure; every function returns a new value.
 */
import {
  buildPointer,
  deepEqual,
  isObject,
  objectFor,
  setKey,
  sortKeys,
  type JsonObject,
  type JsonValue,
} from './json.ts';

type Schema = JsonObject;

/**
 * A schema object prepared for walking: property map, compiled patterns and the
 * defaults to fill, built once per schema object. The walks visit every key of
 * every object (hundreds of thousands of DIDs in a large estate), so nothing is
 * looked up or compiled per key.
 */
interface Walker {
  /** The schema object this walker was built from. */
  readonly schema: Schema;
  readonly type: JsonValue | undefined;
  /** Each property's walker, as a one-element list (what childWalkers returns, built once). */
  readonly props: ReadonlyMap<string, readonly Walker[]>;
  /** Each pattern, its walker, and that walker as a one-element list. */
  readonly patterns: readonly (readonly [RegExp, Walker, readonly Walker[]])[];
  readonly items: Walker | undefined;
  /** Every property with a default (in schema order): its default value and its walker. */
  readonly defaultOf: ReadonlyMap<string, readonly [JsonValue, Walker]>;
  /** True when the schema lists properties or patterns (so other keys are unknown). */
  readonly describes: boolean;
  /**
   * When every default is a scalar: one frozen object holding exactly the
   * defaults, keys sorted. A sorted walk returns it for every object that
   * prepares to just that (a DID's `{ force_outbound: false }`), so the many
   * such objects of a normalised body are one, not one per DID.
   */
  readonly onlyDefaults: JsonObject | undefined;
}

const walkers = new WeakMap<Schema, Walker>();

function walkerOf(schema: Schema): Walker {
  let w = walkers.get(schema);
  if (w) return w;
  const propsRaw = isObject(schema['properties']) ? schema['properties'] : undefined;
  const patternsRaw = isObject(schema['patternProperties'])
    ? schema['patternProperties']
    : undefined;
  const props = new Map<string, readonly Walker[]>();
  const patterns: [RegExp, Walker, readonly Walker[]][] = [];
  const defaultOf = new Map<string, readonly [JsonValue, Walker]>();
  const items = isObject(schema['items']) ? schema['items'] : undefined;
  w = {
    schema,
    type: schema['type'],
    props,
    patterns,
    items: undefined,
    defaultOf,
    describes: propsRaw !== undefined || patternsRaw !== undefined,
    onlyDefaults: undefined,
  };
  walkers.set(schema, w); // before recursing, so a recursive schema terminates
  for (const [key, sub] of Object.entries(propsRaw ?? {})) {
    if (!isObject(sub)) continue;
    const sw = walkerOf(sub);
    props.set(key, [sw]);
    if (Object.hasOwn(sub, 'default')) defaultOf.set(key, [sub['default'] as JsonValue, sw]);
  }
  for (const [source, sub] of Object.entries(patternsRaw ?? {})) {
    if (!isObject(sub)) continue;
    const pw = walkerOf(sub);
    patterns.push([new RegExp(source, 'u'), pw, [pw]]);
  }
  if (items) (w as { items: Walker | undefined }).items = walkerOf(items);
  const scalars = [...defaultOf.values()].every(([v]) => v === null || typeof v !== 'object');
  if (defaultOf.size > 0 && scalars) {
    const only: JsonObject = {};
    for (const key of [...defaultOf.keys()].sort())
      only[key] = (defaultOf.get(key) as readonly [JsonValue, Walker])[0];
    (w as { onlyDefaults: JsonObject | undefined }).onlyDefaults = Object.freeze(only);
  }
  return w;
}

/**
 * The walkers describing a key: its property, then every matching pattern.
 * Called for every key of every object walked, so the common answers (one
 * property, or one pattern) are lists built once, not per call.
 */
function childWalkers(w: Walker, key: string): readonly Walker[] | undefined {
  const prop = w.props.get(key);
  if (w.patterns.length === 0) return prop;
  let out = prop;
  let own: Walker[] | undefined;
  for (const [re, sub, alone] of w.patterns) {
    if (!re.test(key)) continue;
    if (!out) out = alone;
    else (own ??= [...out]).push(sub);
  }
  return own ?? out;
}

/** A copy of a default value (objects and arrays are copied; scalars need no copy). */
function fresh(value: JsonValue): JsonValue {
  return typeof value === 'object' && value !== null ? structuredClone(value) : value;
}

/**
 * The server's preparation of a body in one walk: coerce wrong-typed strings
 * (§2.4) and then fill defaults (§2.3). Equal to
 * `applyDefaults(schema, coerceScalars(schema, value))`.
 */
export function coerceAndDefault(schema: Schema, value: JsonValue): JsonValue {
  return prepare(walkerOf(schema), value, true, true, false);
}

/**
 * `coerceAndDefault` with object keys sorted at every level (the comparable
 * form diffs are shown in), in the same single walk: equal to
 * `sortKeys(coerceAndDefault(schema, value))` without the second copy.
 */
export function coerceDefaultAndSort(schema: Schema, value: JsonValue): JsonValue {
  return prepare(walkerOf(schema), value, true, true, true);
}

/**
 * Fills each missing property that has a `default`, in every object that is
 * present, recursively (jesse's `use_defaults` + `apply_defaults_to_empty_objects`,
 * reference/kazoo-api.md §2.3). Objects that are absent are not created unless
 * they have a default themselves.
 */
export function applyDefaults(schema: Schema, value: JsonValue): JsonValue {
  return prepare(walkerOf(schema), value, false, true, false);
}

/**
 * Kazoo's non-strict mode rewrites wrong-typed strings where the schema wants an
 * integer, number or boolean, then validates again (reference/kazoo-api.md §2.4):
 * "5060" → 5060, "true"/"false" → booleans, and nothing else.
 */
export function coerceScalars(schema: Schema, value: JsonValue): JsonValue {
  return prepare(walkerOf(schema), value, true, false, false);
}

function prepare(
  w: Walker,
  value: JsonValue,
  coerce: boolean,
  defaults: boolean,
  sorted: boolean,
): JsonValue {
  if (typeof value === 'string') return coerce ? coerceString(w.type, value) : value;
  if (Array.isArray(value)) {
    const items = w.items;
    if (items) return value.map((v) => prepare(items, v, coerce, defaults, sorted));
    return sorted ? sortKeys(value) : value;
  }
  if (!isObject(value)) return value;
  const keys = Object.keys(value);
  if (defaults)
    for (const key of w.defaultOf.keys()) if (!Object.hasOwn(value, key)) keys.push(key);
  if (sorted) keys.sort();
  const out = objectFor(keys.length);
  // Only sorted walks (normalised copies, which are never changed in place) share
  // the defaults object: the others build bodies that are sent or stored.
  const only = sorted && keys.length === w.defaultOf.size ? w.onlyDefaults : undefined;
  let allDefaults = only !== undefined;
  for (const key of keys) {
    let next: JsonValue;
    if (Object.hasOwn(value, key)) {
      next = value[key] as JsonValue;
      const subs = childWalkers(w, key);
      if (subs) next = prepareAll(subs, next, coerce, defaults, sorted);
      else if (sorted) next = sortKeys(next);
      setKey(out, key, next);
    } else {
      const [fallback, sub] = w.defaultOf.get(key) as readonly [JsonValue, Walker];
      next = prepare(sub, fresh(fallback), false, true, sorted);
      out[key] = next;
    }
    if (allDefaults) allDefaults = Object.hasOwn(only as JsonObject, key) && only?.[key] === next;
  }
  return allDefaults ? (only as JsonObject) : out;
}

/**
 * True when `coerceAndDefault(schema, a)` deep-equals `coerceAndDefault(schema, b)`,
 * decided without building either: the walk compares as it goes and stops at
 * the first difference. A plan compares every live document with its desired
 * document, and in a converged estate nearly all are equal, so this keeps that
 * check from copying both sides of every document.
 */
export function preparedEqual(schema: Schema, a: JsonValue, b: JsonValue): boolean {
  return same(walkerOf(schema), a, b);
}

function same(w: Walker, a: JsonValue, b: JsonValue): boolean {
  if (typeof a === 'string' || typeof b === 'string') {
    // Coercion only ever turns a string into a scalar, so an object or array on the other side differs.
    const pa = typeof a === 'string' ? coerceString(w.type, a) : a;
    const pb = typeof b === 'string' ? coerceString(w.type, b) : b;
    return pa === pb;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    const items = w.items;
    if (!items) return deepEqual(a, b);
    for (let i = 0; i < a.length; i++)
      if (!same(items, a[i] as JsonValue, b[i] as JsonValue)) return false;
    return true;
  }
  if (!isObject(a) || !isObject(b)) return a === b;
  for (const key in a) {
    if (Object.hasOwn(b, key)) {
      if (!sameAt(w, key, a[key] as JsonValue, b[key] as JsonValue)) return false;
    } else if (!isDefaultAt(w, key, a[key] as JsonValue)) return false;
  }
  for (const key in b) {
    if (!Object.hasOwn(a, key) && !isDefaultAt(w, key, b[key] as JsonValue)) return false;
  }
  return true;
}

/** Both values of `key` (in an object walked by `w`) prepare to the same thing. */
function sameAt(w: Walker, key: string, a: JsonValue, b: JsonValue): boolean {
  const subs = childWalkers(w, key);
  if (!subs) return deepEqual(a, b);
  if (subs.length === 1) return same(subs[0] as Walker, a, b);
  // Several walkers apply in turn (a property and a pattern): prepare, then compare.
  return deepEqual(prepareAll(subs, a), prepareAll(subs, b));
}

/** `value`, present under `key` on one side only, prepares to the default the other side gets. */
function isDefaultAt(w: Walker, key: string, value: JsonValue): boolean {
  const entry = w.defaultOf.get(key);
  if (!entry) return false;
  const [fallback, sub] = entry;
  const filled = prepare(sub, fresh(fallback), false, true, false);
  const subs = childWalkers(w, key) ?? [];
  return subs.length === 1
    ? same(subs[0] as Walker, value, filled)
    : deepEqual(prepareAll(subs, value), filled);
}

/** `value` through each walker in turn (a property and the patterns that match its key). */
function prepareAll(
  subs: readonly Walker[],
  value: JsonValue,
  coerce = true,
  defaults = true,
  sorted = false,
): JsonValue {
  let out = value;
  for (const sub of subs) out = prepare(sub, out, coerce, defaults, sorted);
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
export function findUnknownKeys(schema: Schema, value: JsonValue): string[] {
  const found: string[] = [];
  const path: string[] = [];
  const walk = (w: Walker, v: JsonValue): void => {
    if (Array.isArray(v)) {
      const items = w.items;
      if (!items) return;
      for (let i = 0; i < v.length; i++) {
        path.push(String(i));
        walk(items, v[i] as JsonValue);
        path.pop();
      }
      return;
    }
    if (!isObject(v)) return;
    for (const key in v) {
      const subs = childWalkers(w, key);
      path.push(key);
      if (!subs) {
        if (w.describes) found.push(buildPointer(path));
      } else for (const sub of subs) walk(sub, v[key] as JsonValue);
      path.pop();
    }
  };
  walk(walkerOf(schema), value);
  return found;
}

/** The property names a schema object declares at a pointer-free level (for suggestions). */
export function knownKeys(schema: Schema): string[] {
  const props = schema['properties'];
  return isObject(props) ? Object.keys(props) : [];
}

/** Resolves the sub-schema at a pointer (array indices and pattern keys followed). */
export function schemaAt(schema: Schema, tokens: readonly string[]): Schema | undefined {
  let cur: Walker | undefined = walkerOf(schema);
  for (const token of tokens) {
    if (!cur) return undefined;
    cur = cur.type === 'array' ? cur.items : childWalkers(cur, token)?.[0];
  }
  return cur?.schema;
}
