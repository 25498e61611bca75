/**
 * A fast path for the plain subset of YAML that connectivity documents use:
 * block mappings and sequences, one-line flow collections, plain, single- and
 * double-quoted scalars, comments and `---` separators.
 *
 * Why: the full `yaml` library builds a concrete syntax tree, a document model
 * and then values; on a 30 MB estate that is most of `validate`'s time
 * (bench/RESULTS.md). This parser goes straight from lines to values.
 *
 * Safety rule: it returns `undefined` (use the `yaml` library) for anything
 * outside the subset — anchors, aliases, tags, block scalars, multi-line
 * scalars or flow collections, directives, tabs, CR line ends, complex keys —
 * and for anything the library would report (duplicate keys, bad indentation,
 * unterminated quotes, `${env:}` problems, non-finite or unsafe numbers).
 * So every diagnostic still comes from the library, and on files it accepts it
 * must give exactly the library's values; `yaml-fast.test.ts` checks that
 * differentially. Positions are not computed here: locators re-parse lazily.
 * Pure.
 */
import { detached } from './detach.ts';
import { substituteEnv, type EnvLookup } from './env-subst.ts';
import {
  buildPointer,
  MANY_KEYS,
  MAX_NESTING_DEPTH,
  objectFor,
  type JsonObject,
  type JsonValue,
} from './json.ts';

export interface FastDocument {
  readonly value: JsonValue;
  /** Offset of the document's first content (what the library calls contents.range[0]). */
  readonly startOffset: number;
  readonly sensitive: string[];
  readonly numberLike: Set<string>;
}

interface Line {
  indent: number;
  /** Text after the indentation (comments not yet stripped). */
  content: string;
  /** Offset of `content` in the file. */
  offset: number;
}

/** Thrown inside the parser when the input leaves the subset; caught at the top. */
class Unsupported extends Error {}

const fail = (): never => {
  throw new Unsupported();
};

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const TRUES = new Set(['true', 'True', 'TRUE']);
const FALSES = new Set(['false', 'False', 'FALSE']);
const INT = /^[-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const OTHER_NUMBERS = /^(?:0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
/** Characters a plain scalar (or plain key) may not start with here. */
const PLAIN_START_BAD = new Set([...'-?:,[]{}#&*!|>\'"%@`']);

/**
 * Parses every document of a file, or returns undefined when the file is not
 * inside the subset (the caller then uses the `yaml` library).
 * @param maxNodes the same per-document value limit the library path enforces
 */
export function parseFastYaml(
  text: string,
  env: EnvLookup,
  maxNodes: number,
): FastDocument[] | undefined {
  if (
    text.length === 0 ||
    text.includes('\t') ||
    text.includes('\r') ||
    text.charCodeAt(0) === 0xfeff
  )
    return undefined;
  try {
    return new FastParser(text, env, maxNodes).parseFile();
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}

class FastParser {
  private readonly text: string;
  private readonly env: EnvLookup;
  private readonly maxNodes: number;
  private lines: Line[] = [];
  private i = 0;
  private nodes = 0;
  /** Collections open around the current position; recursion is bounded by MAX_NESTING_DEPTH. */
  private depth = 0;
  private readonly path: string[] = [];
  private sensitive: string[] = [];
  private numberLike = new Set<string>();

  constructor(text: string, env: EnvLookup, maxNodes: number) {
    this.text = text;
    this.env = env;
    this.maxNodes = maxNodes;
  }

  parseFile(): FastDocument[] {
    const groups: Line[][] = [[]];
    let sawSeparator = false;
    let offset = 0;
    const text = this.text;
    while (offset <= text.length) {
      let end = text.indexOf('\n', offset);
      if (end === -1) end = text.length;
      let indent = 0;
      while (text.charCodeAt(offset + indent) === 32) indent++;
      const content = text.slice(offset + indent, end);
      if (content !== '' && !content.startsWith('#')) {
        if (
          indent === 0 &&
          (content.startsWith('---') || content.startsWith('...') || content.startsWith('%'))
        ) {
          if (content !== '---' && !/^--- +#/.test(content)) fail();
          sawSeparator = true;
          groups.push([]);
        } else {
          (groups[groups.length - 1] as Line[]).push({ indent, content, offset: offset + indent });
        }
      }
      offset = end + 1;
    }
    // A leading `---` opens the first document; every other empty document is left to the library.
    if (sawSeparator && groups[0]?.length === 0) groups.shift();
    if (groups.some((g) => g.length === 0)) fail();
    return groups.map((g) => this.parseDocument(g));
  }

  private parseDocument(lines: Line[]): FastDocument {
    this.lines = lines;
    this.i = 0;
    this.nodes = 0;
    this.depth = 0;
    this.sensitive = [];
    this.numberLike = new Set();
    const first = lines[0] as Line;
    let value: JsonValue;
    if (isSeqItem(first.content)) value = this.parseSeq(first.indent);
    else if (isFlowStart(first.content) || !looksLikeKey(first.content)) {
      // A document that is one scalar or one flow collection, on one line.
      if (lines.length !== 1) fail();
      const v = this.inlineValue(first.content, true);
      if (v === EMPTY) return fail();
      value = v;
      this.i = 1;
    } else value = this.parseMap(first.indent);
    if (this.i !== lines.length) fail();
    return {
      value,
      startOffset: first.offset,
      sensitive: this.sensitive,
      numberLike: this.numberLike,
    };
  }

  private count(): void {
    if (++this.nodes > this.maxNodes) fail();
  }

  /**
   * Opens a collection. Deeper than MAX_NESTING_DEPTH is left to the library
   * path, which reports it with a position; recursing on here would overflow
   * the stack on a few KB of `[` (3,000 of them did).
   */
  private enter(): void {
    if (++this.depth > MAX_NESTING_DEPTH) fail();
  }

  /** The block value that follows a `key:` or `-` with nothing after it on its line. */
  private nestedBlock(parentIndent: number, allowSameIndentSeq: boolean): JsonValue {
    const next = this.lines[this.i];
    if (next && next.indent > parentIndent) {
      return isSeqItem(next.content) ? this.parseSeq(next.indent) : this.parseMap(next.indent);
    }
    if (next && allowSameIndentSeq && next.indent === parentIndent && isSeqItem(next.content)) {
      return this.parseSeq(parentIndent);
    }
    this.count();
    return null;
  }

  private parseMap(indent: number): JsonObject {
    this.enter();
    this.count();
    const out = objectFor(this.manyKeys(indent) ? MANY_KEYS : 0);
    while (this.i < this.lines.length) {
      const line = this.lines[this.i] as Line;
      if (line.indent < indent) break;
      if (line.indent > indent || isSeqItem(line.content)) fail();
      const { key, rest } = splitKey(line.content);
      if (key === '<<' || key === '__proto__' || Object.hasOwn(out, key)) fail();
      this.i++;
      this.path.push(key);
      const value = this.inlineValue(rest, false);
      if (value === EMPTY) out[key] = this.nestedBlock(indent, true);
      else {
        out[key] = value;
        this.noContinuation(indent);
      }
      this.path.pop();
    }
    this.depth--;
    return out;
  }

  /** True when the block mapping starting here has MANY_KEYS keys or more (a DID map). */
  private manyKeys(indent: number): boolean {
    let keys = 0;
    for (let j = this.i; j < this.lines.length; j++) {
      const at = (this.lines[j] as Line).indent;
      if (at < indent) return false;
      if (at === indent && ++keys >= MANY_KEYS) return true;
    }
    return false;
  }

  private parseSeq(indent: number): JsonValue[] {
    this.enter();
    this.count();
    const out: JsonValue[] = [];
    while (this.i < this.lines.length) {
      const line = this.lines[this.i] as Line;
      if (line.indent < indent) break;
      if (line.indent > indent || !isSeqItem(line.content)) fail();
      this.path.push(String(out.length));
      if (line.content === '-') {
        this.i++;
        out.push(this.nestedBlock(indent, false));
      } else {
        let spaces = 1;
        while (line.content.charCodeAt(1 + spaces) === 32) spaces++;
        const rest = line.content.slice(1 + spaces);
        const restIndent = indent + 1 + spaces;
        if (rest.startsWith('#')) {
          this.i++;
          out.push(this.nestedBlock(indent, false));
        } else if (isSeqItem(rest)) fail();
        else if (!isFlowStart(rest) && looksLikeKey(rest)) {
          // `- key: value` opens a mapping whose keys align with `key`.
          this.lines[this.i] = {
            indent: restIndent,
            content: rest,
            offset: line.offset + 1 + spaces,
          };
          out.push(this.parseMap(restIndent));
        } else {
          this.i++;
          const v = this.inlineValue(rest, false);
          if (v === EMPTY) fail();
          out.push(v as JsonValue);
          this.noContinuation(indent);
        }
      }
      this.path.pop();
    }
    this.depth--;
    return out;
  }

  /** After a value on the same line, a more-indented line would continue a multi-line scalar. */
  private noContinuation(indent: number): void {
    const next = this.lines[this.i];
    if (next && next.indent > indent) fail();
  }

  /** The value written after `key:` or `- `, or EMPTY when only a comment or nothing follows. */
  private inlineValue(raw: string, wholeLine: boolean): JsonValue | typeof EMPTY {
    let lead = 0;
    while (raw.charCodeAt(lead) === 32) lead++;
    const s = lead === 0 ? raw : raw.slice(lead);
    if (s === '' || s.charCodeAt(0) === 35 /* # */) {
      if (wholeLine) fail();
      return EMPTY;
    }
    let value: JsonValue;
    let end: number;
    if (isFlowStart(s)) [value, end] = this.flow(s, 0);
    else if (s[0] === '"' || s[0] === "'") {
      const [str, e] = quoted(s, 0);
      value = this.string(str);
      end = e;
      this.count();
    } else {
      const cut = s.indexOf(' #');
      const plain = (cut === -1 ? s : s.slice(0, cut)).trimEnd();
      if (PLAIN_START_BAD.has(plain[0] ?? '') || plain.includes(': ') || plain.endsWith(':'))
        fail();
      return this.scalar(plain);
    }
    if (end < s.length && !/^ +(#.*)?$/.test(s.slice(end))) fail();
    return value;
  }

  private flow(s: string, start: number): [JsonValue, number] {
    this.enter();
    const r = this.flowCollection(s, start);
    this.depth--;
    return r;
  }

  private flowCollection(s: string, start: number): [JsonValue, number] {
    this.count();
    const open = s[start];
    const close = open === '{' ? '}' : ']';
    let i = spaces(s, start + 1);
    if (open === '{') {
      if (s[i] === '}') return [EMPTY_MAP, i + 1];
      const out: JsonObject = {};
      for (;;) {
        i = spaces(s, i);
        let key: string;
        if (s[i] === '"' || s[i] === "'") {
          [key, i] = quoted(s, i);
          if (s[i] !== ':') fail();
        } else {
          const colon = s.indexOf(':', i);
          if (colon === -1) fail();
          key = s.slice(i, colon).trimEnd();
          if (key === '' || PLAIN_START_BAD.has(key[0] ?? '') || /[,[\]{}#]/.test(key)) fail();
          i = colon;
        }
        i++; // ':'
        if (s[i] !== ' ' || key === '<<' || key === '__proto__' || Object.hasOwn(out, key)) fail();
        i = spaces(s, i);
        this.path.push(key);
        [out[key], i] = this.flowValue(s, i);
        this.path.pop();
        i = spaces(s, i);
        if (s[i] === ',') {
          i = spaces(s, i + 1);
          if (s[i] === close) fail(); // trailing comma: leave to the library
          continue;
        }
        if (s[i] === close) return [out, i + 1];
        fail();
      }
    }
    const out: JsonValue[] = [];
    if (s[i] === ']') return [out, i + 1];
    for (;;) {
      i = spaces(s, i);
      this.path.push(String(out.length));
      let v: JsonValue;
      [v, i] = this.flowValue(s, i);
      out.push(v);
      this.path.pop();
      i = spaces(s, i);
      if (s[i] === ',') {
        i = spaces(s, i + 1);
        if (s[i] === close) fail();
        continue;
      }
      if (s[i] === close) return [out, i + 1];
      fail();
    }
  }

  private flowValue(s: string, i: number): [JsonValue, number] {
    const c = s[i];
    if (c === '{' || c === '[') return this.flow(s, i);
    if (c === '"' || c === "'") {
      const [str, end] = quoted(s, i);
      this.count();
      return [this.string(str), end];
    }
    let end = i;
    while (end < s.length && !',]}'.includes(s[end] as string)) end++;
    const plain = s.slice(i, end).trimEnd();
    if (plain === '' || PLAIN_START_BAD.has(plain[0] ?? '') || /: |:$| #|[[{]/.test(plain)) fail();
    return [this.scalar(plain), end];
  }

  /** Resolves a plain scalar with the YAML 1.2 core schema, as the library does. */
  private scalar(plain: string): JsonValue {
    this.count();
    if (NULLS.has(plain)) return null;
    if (TRUES.has(plain)) return true;
    if (FALSES.has(plain)) return false;
    if (INT.test(plain)) {
      const n = parseInt(plain, 10);
      if (!Number.isSafeInteger(n)) fail();
      if (/^[+0]\d/.test(plain)) this.numberLike.add(buildPointer(this.path));
      return n;
    }
    if (FLOAT.test(plain) || FLOAT_EXP.test(plain)) {
      const n = parseFloat(plain);
      if (!Number.isFinite(n)) fail();
      if (/^[+0]\d/.test(plain)) this.numberLike.add(buildPointer(this.path));
      return n;
    }
    if (OTHER_NUMBERS.test(plain)) fail();
    return this.string(plain);
  }

  private string(value: string): string {
    const r = substituteEnv(value, this.env);
    if (r.problems.length > 0) fail();
    if (r.used && r.resolved) this.sensitive.push(buildPointer(this.path));
    return detached(r.value);
  }
}

const EMPTY = Symbol('empty');

/**
 * Every `{}` the fast path reads is this one frozen object. A DID map is
 * mostly `'+1…': {}` lines, and one object instead of hundreds of thousands
 * keeps a large estate's desired state (held for a whole plan) about a fifth
 * smaller. Bodies are never changed in place once built (copies are made
 * first), and frozen, a change would throw rather than reach other DIDs.
 */
const EMPTY_MAP: JsonObject = Object.freeze({}) as JsonObject;

/** The index of the first non-space at or after `i`. */
function spaces(s: string, i: number): number {
  while (s.charCodeAt(i) === 32) i++;
  return i;
}

function isSeqItem(content: string): boolean {
  return content === '-' || content.startsWith('- ');
}

function isFlowStart(content: string): boolean {
  return content[0] === '{' || content[0] === '[';
}

/** True when a line reads as `key: …` or `key:` (a plain or quoted key). */
function looksLikeKey(content: string): boolean {
  if (content[0] === '"' || content[0] === "'") {
    try {
      const [, end] = quoted(content, 0);
      return content[end] === ':' && (end + 1 === content.length || content[end + 1] === ' ');
    } catch {
      return false;
    }
  }
  const k = content.indexOf(': ');
  const cut = content.indexOf(' #');
  if (k !== -1 && (cut === -1 || k < cut)) return true;
  const body = cut === -1 ? content : content.slice(0, cut).trimEnd();
  return body.endsWith(':');
}

/** Splits `key: rest` (rest keeps its leading space), or fails. */
function splitKey(content: string): { key: string; rest: string } {
  if (content[0] === '"' || content[0] === "'") {
    const [key, end] = quoted(content, 0);
    if (content[end] !== ':') fail();
    return { key, rest: content.slice(end + 1) };
  }
  if (PLAIN_START_BAD.has(content[0] ?? '')) fail();
  const cut = content.indexOf(' #');
  let k = content.indexOf(': ');
  if (k === -1 || (cut !== -1 && cut < k)) {
    const body = cut === -1 ? content : content.slice(0, cut).trimEnd();
    if (!body.endsWith(':')) fail();
    k = body.length - 1;
  }
  const key = content.slice(0, k).trimEnd();
  if (key === '' || key.includes(' #')) fail();
  return { key, rest: content.slice(k + 1) };
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  f: '\f',
  '0': '\0',
  e: '\x1b',
  a: '\x07',
  v: '\v',
  ' ': ' ',
};

/**
 * A quoted scalar starting at `start` and closing on the same line: [value,
 * index after it]. Runs of ordinary characters are copied as slices, not one
 * character at a time (DID keys are quoted, and an estate has hundreds of
 * thousands of them).
 */
function quoted(s: string, start: number): [string, number] {
  let out = '';
  let from = start + 1;
  if (s.charCodeAt(start) === 39 /* ' */) {
    for (;;) {
      const j = s.indexOf("'", from);
      if (j === -1) return fail();
      if (s.charCodeAt(j + 1) !== 39) return [out + s.slice(from, j), j + 1];
      out += s.slice(from, j + 1); // '' is one quote
      from = j + 2;
    }
  }
  for (;;) {
    const close = s.indexOf('"', from);
    const escape = s.indexOf('\\', from);
    if (close === -1) return fail();
    if (escape === -1 || close < escape) return [out + s.slice(from, close), close + 1];
    out += s.slice(from, escape);
    const e = s[escape + 1] ?? '';
    if (e === 'u' || e === 'x' || e === 'U') {
      const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = s.slice(escape + 2, escape + 2 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) fail();
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail();
      out += String.fromCodePoint(cp);
      from = escape + 2 + len;
      continue;
    }
    const mapped = ESCAPES[e];
    if (mapped === undefined) fail();
    out += mapped;
    from = escape + 2;
  }
}
