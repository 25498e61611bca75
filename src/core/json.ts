/**
 * Plain JSON values and the few pure operations the core needs on them:
 * canonical serialisation (stable key order), deep equality and cloning.
 */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** True for plain objects (not arrays, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Serialises with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Returns a copy whose object keys are sorted at every level (arrays keep their order). */
export function sortKeys<T extends JsonValue>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => sortKeys(v)) as T;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    const out = objectFor(keys.length);
    for (const k of keys) setKey(out, k, sortKeys(value[k] as JsonValue));
    return out as T;
  }
  return value;
}

/**
 * Deepest nesting of collections a document may have (the top-level mapping
 * is level 1). Real connectivity documents need about 7 (servers → 0 → DIDs →
 * number → caller_id → cid_name). The bound keeps every recursive stage after
 * parsing (env substitution, schema walk, normalisation, diff, JSON) far from
 * the stack limit: both YAML paths refuse deeper input with a positioned
 * diagnostic, so nothing deeper reaches them.
 */
export const MAX_NESTING_DEPTH = 100;

/**
 * From this many keys on, an object built key by key starts as a hash table
 * (see objectFor): a DID map.
 */
export const MANY_KEYS = 16;

/**
 * An empty object to be filled with `keys` keys one by one. For MANY_KEYS or
 * more it is one that V8 keeps as a hash table from the start (deleting a
 * property that is not the last one added does that). Otherwise V8 gives an
 * object that gains keys one by one a new hidden class per key until about
 * 16, then turns it into a hash table anyway; for a DID map of unique numbers
 * each of those classes is used once. Same prototype, same key order and same
 * behaviour as `{}`: only the engine's layout differs.
 */
export function objectFor(keys: number): JsonObject {
  if (keys < MANY_KEYS) return {};
  const o: JsonObject = { first: null, second: null };
  delete o['first'];
  delete o['second'];
  return o;
}

/**
 * `out[key] = value` for a copy being built, also when the key is `__proto__`
 * (JSON.parse makes that an ordinary key; a plain assignment would set the
 * copy's prototype instead and lose the key).
 */
export function setKey(out: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__')
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else out[key] = value;
}

/** Structural equality of two JSON values (object key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => deepEqual(v, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * `next`, with every part that deep-equals the same place in `prev` taken from
 * `prev` (the same object), so the two share memory where they agree. Objects
 * match by key, arrays by index. Returns `prev` itself when the two are equal,
 * `next` itself when nothing could be shared, and otherwise a new container
 * only where a part was swapped (in `next`'s key order). Neither input is
 * changed; callers never mutate either afterwards.
 */
export function shareEqual(prev: JsonValue | undefined, next: JsonValue): JsonValue {
  if (prev === next || typeof next !== 'object' || next === null) return next;
  if (Array.isArray(next)) {
    if (!Array.isArray(prev)) return next;
    const parts: JsonValue[] = new Array<JsonValue>(next.length);
    let same = next.length === prev.length;
    let fresh = true;
    for (let i = 0; i < next.length; i++) {
      const n = next[i] as JsonValue;
      const v = shareEqual(prev[i], n);
      parts[i] = v;
      if (v !== prev[i]) same = false;
      if (v !== n) fresh = false;
    }
    return same ? prev : fresh ? next : parts;
  }
  if (!isObject(prev)) return next;
  // Loops, not map/every: this runs over every DID of every changed document.
  const keys = Object.keys(next);
  const parts: JsonValue[] = new Array<JsonValue>(keys.length);
  let same = keys.length === Object.keys(prev).length;
  let fresh = true;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const n = next[k] as JsonValue;
    const p = Object.hasOwn(prev, k) ? prev[k] : undefined;
    const v = shareEqual(p, n);
    parts[i] = v;
    if (v !== p) same = false;
    if (v !== n) fresh = false;
  }
  if (same) return prev;
  if (fresh) return next;
  const out = objectFor(keys.length);
  for (let i = 0; i < keys.length; i++) setKey(out, keys[i] as string, parts[i] as JsonValue);
  return out;
}

/** Deep copy of a JSON value. */
export function cloneJson<T extends JsonValue>(value: T): T {
  return structuredClone(value);
}

/** Escapes one RFC 6901 reference token. */
export function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Splits an RFC 6901 JSON Pointer into unescaped tokens ("" → []). */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Builds a pointer from tokens. */
export function buildPointer(tokens: readonly (string | number)[]): string {
  return tokens.map((t) => `/${escapePointerToken(String(t))}`).join('');
}

/** Reads the value at a pointer, or undefined when any step is missing. */
export function getAtPointer(value: JsonValue, pointer: string): JsonValue | undefined {
  let cur: JsonValue | undefined = value;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(cur)) cur = cur[Number(token)];
    else if (isObject(cur)) cur = Object.hasOwn(cur, token) ? cur[token] : undefined;
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Removes the value at a pointer in place (no-op when absent). */
export function removeAtPointer(value: JsonValue, pointer: string): void {
  const tokens = parsePointer(pointer);
  const last = tokens.pop();
  if (last === undefined) return;
  const parent = getAtPointer(value, buildPointer(tokens));
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (Number.isInteger(i) && i >= 0 && i < parent.length) parent.splice(i, 1);
  } else if (isObject(parent)) {
    delete parent[last];
  }
}

/** Whether a JSON Pointer matches a pattern whose `*` tokens stand for any one token. */
export function pointerMatches(pattern: string, pointer: string): boolean {
  const p = parsePointer(pattern);
  const t = parsePointer(pointer);
  return p.length === t.length && p.every((token, i) => token === '*' || token === t[i]);
}
