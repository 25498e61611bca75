/**
 * The one wrapper around `yaml`: parses a file's documents into plain JSON
 * values while keeping every node's position, substituting `${env:NAME}` in
 * strings (and remembering where, since those values are sensitive), and turning
 * every YAML problem into a Diagnostic. Pure: the environment is passed in.
 *
 * We convert the AST ourselves rather than calling `toJS()` because:
 * - map keys keep their source text: an unquoted DID key `+14155550100` is an
 *   integer to YAML 1.2 and `toJS()` would give "14155550100", silently
 *   dropping the "+" that Kazoo needs to route the call (kazoo-api.md §7.1);
 * - alias expansion is counted, so an alias bomb is reported, not executed.
 */
import {
  Document as YamlDocumentNode,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseAllDocuments,
  Parser,
  type CST,
  type Document,
  type Node,
  type ParsedNode,
} from 'yaml';
import {
  buildPointer,
  MAX_NESTING_DEPTH,
  parsePointer,
  type JsonObject,
  type JsonValue,
} from './json.ts';
import type { Diagnostic, Locator, Severity, SourcePos } from './model.ts';
import { detached } from './detach.ts';
import { substituteEnv, type EnvLookup } from './env-subst.ts';
import { parseFastYaml } from './yaml-fast.ts';

/** Largest number of JSON nodes one document may expand to (aliases included). */
export const MAX_NODES_PER_DOCUMENT = 200_000;

export type { EnvLookup } from './env-subst.ts';

export interface YamlDocument {
  /** 0-based index of the document in its file. */
  readonly index: number;
  /** The converted value; undefined when the document is empty or could not be converted. */
  readonly value: JsonValue | undefined;
  readonly start: SourcePos;
  readonly locate: Locator;
  /** Pointers of string values that came (in whole or part) from `${env:…}`. */
  readonly sensitive: readonly string[];
  /** Pointers of number scalars written with a leading "+" or "0" (probably meant as strings). */
  readonly numberLike: ReadonlySet<string>;
  /**
   * Pointers of strings that reference an unset `${env:…}` variable (they keep
   * the reference text), with the variables' names: a caller decides whether
   * the value's shape matters there.
   */
  readonly unresolved?: ReadonlyMap<string, readonly string[]>;
}

export interface ParseYamlOptions {
  readonly fast?: boolean;
  /**
   * How an unset `${env:…}` variable is reported: an error (the default: the
   * value cannot be sent anywhere) or a notice (offline checks, which need no
   * secret; see `YamlDocument.unresolved`).
   */
  readonly missingEnv?: 'error' | 'notice';
  /**
   * Reads the file's text again. When given, the documents' locators (kept
   * until the checks across documents are done) do not keep the text: a
   * large repository's YAML is then held once, while it is parsed, not for
   * the whole load. A text that comes back different (the file changed) is
   * not used: positions then fall back to the document's start.
   */
  readonly reread?: () => string | undefined;
}

export interface ParsedYamlFile {
  readonly documents: YamlDocument[];
  readonly diagnostics: Diagnostic[];
}

/**
 * Parses every document of one YAML file.
 * @param file path shown in diagnostics
 * @param text file contents
 * @param env lookup for `${env:NAME}`
 */
export function parseYamlFile(
  file: string,
  text: string,
  env: EnvLookup,
  options: ParseYamlOptions = {},
): ParsedYamlFile {
  const diagnostics: Diagnostic[] = [];
  const position = linePositions(text);
  const at = (offset: number): SourcePos => ({ file, ...position(offset) });

  if (text.includes('\u0000') || text.includes('\uFFFD')) {
    diagnostics.push({
      severity: 'error',
      code: 'NOT_TEXT',
      message: 'file is not UTF-8 text (it looks binary); connops reads YAML documents only',
      file,
      line: 1,
      col: 1,
    });
    return { documents: [], diagnostics };
  }

  // Most files are plain YAML: take the fast path when it accepts the whole file
  // (it leaves every problem, and everything unusual, to the library below).
  const fast =
    options.fast === false ? undefined : parseFastYaml(text, env, MAX_NODES_PER_DOCUMENT);
  if (fast) {
    const reparse = options.reread
      ? lazyReparse(sameText(text.length, options.reread))
      : lazyReparse(() => text);
    return {
      documents: fast.map((d, index) => {
        const start = at(d.startOffset);
        return {
          index,
          value: d.value,
          start,
          locate: lazyLocator(file, index, start, reparse),
          sensitive: d.sensitive,
          numberLike: d.numberLike,
        };
      }),
      diagnostics,
    };
  }

  let docs: Document.Parsed[];
  try {
    docs = parseDocuments(text);
  } catch (err) {
    /* v8 ignore next -- @preserve: yaml reports problems as doc.errors; this guards a library bug */
    diagnostics.push({
      severity: 'error',
      code: 'YAML_SYNTAX',
      message: `cannot parse YAML: ${String(err)}`,
      file,
      line: 1,
      col: 1,
    });
    return { documents: [], diagnostics };
  }
  const documents: YamlDocument[] = [];
  const reparsed = lazyReparse(() => text);
  const flowEnv = docs.some((d) => d.errors.length > 0) ? unquotedEnvInFlow(text) : [];
  let deep: Map<number, number> | undefined;
  docs.forEach((doc, index) => {
    let failed = false;
    let reportedDeep = false;
    // A document runs up to where the next one starts (its own range stops at a syntax error).
    const from = index === 0 ? 0 : doc.range[0];
    const to = docs[index + 1]?.range[0] ?? text.length;
    const mine = flowEnv.filter((f) => f.offset >= from && f.offset < to);
    if (mine.length > 0 && doc.errors.length > 0) {
      // One unquoted `${env:…}` in `{ … }` breaks everything after it into dozens of
      // errors; say what is wrong and show the fix instead, and keep only the errors
      // that remain once it is quoted (those are other mistakes).
      failed = true;
      for (const f of mine) {
        diagnostics.push({
          severity: 'error',
          code: 'YAML_ENV_FLOW',
          message: `${f.text} inside a flow collection ({ … } or [ … ]) must be quoted: YAML reads its "{" and "}" as the collection's own brackets; write "${f.text}"`,
          ...at(f.offset),
        });
      }
      const lines = new Set(mine.map((f) => at(f.offset).line));
      for (const e of otherErrors(text, mine, index))
        if (!lines.has(at(e).line))
          diagnostics.push({
            severity: 'error',
            code: 'YAML_SYNTAX',
            message: 'YAML syntax error (left once the ${env:…} above is quoted)',
            ...at(e),
          });
    } else {
      for (const e of doc.errors) {
        failed = true;
        if (e.code === 'RESOURCE_EXHAUSTION') {
          // Reported once per document, at the collection that crosses the limit rather
          // than where the library's stack happened to run out.
          if (reportedDeep) continue;
          reportedDeep = true;
          deep ??= tooDeep(text);
          diagnostics.push({
            severity: 'error',
            code: 'YAML_TOO_DEEP',
            message: TOO_DEEP,
            ...at(deep.get(index) ?? e.pos[0]),
          });
          continue;
        }
        const pos = at(e.pos[0]);
        diagnostics.push({
          severity: 'error',
          code: yamlCode(e.code),
          message: yamlMessage(e.code, e.message),
          ...pos,
        });
      }
    }
    for (const w of doc.warnings) {
      const pos = at(w.pos[0]);
      diagnostics.push({
        severity: 'warning',
        code: 'YAML_WARNING',
        message: firstLine(w.message),
        ...pos,
      });
    }
    const start = at(doc.contents?.range[0] ?? doc.range[0]);
    const locate = lazyLocator(file, index, start, reparsed);
    if (failed) {
      documents.push({
        index,
        value: undefined,
        start,
        locate,
        sensitive: [],
        numberLike: new Set(),
      });
      return;
    }
    const conv = new Converter(doc, env, at, diagnostics, options.missingEnv ?? 'error');
    const value = doc.contents ? conv.convert(doc.contents, []) : undefined;
    documents.push({
      index,
      value: conv.aborted ? undefined : value,
      start,
      locate,
      sensitive: conv.sensitive,
      numberLike: conv.numberLike,
      ...(conv.unresolved.size > 0 ? { unresolved: conv.unresolved } : {}),
    });
  });
  return { documents, diagnostics };
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

const TOO_DEEP = `nesting is deeper than ${MAX_NESTING_DEPTH} levels of mappings and sequences (a connectivity document needs fewer than 10); flatten the structure or remove the extra brackets`;

function yamlCode(code: string): string {
  if (code === 'DUPLICATE_KEY') return 'DUPLICATE_KEY';
  // yaml catches a stack overflow while composing deep collections and reports this code
  // (yaml compose/compose-node.js: "Almost certainly here due to a stack overflow").
  if (code === 'RESOURCE_EXHAUSTION') return 'YAML_TOO_DEEP';
  if (code === 'TAB_AS_INDENT') return 'YAML_TAB';
  return 'YAML_SYNTAX';
}

function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY')
    return 'duplicate key: each key may appear once in a mapping (the later one would silently win)';
  if (code === 'TAB_AS_INDENT') return 'tab used for indentation: YAML indents with spaces only';
  if (code === 'RESOURCE_EXHAUSTION') return TOO_DEEP;
  return `YAML syntax error: ${firstLine(message)}`;
}

class Converter {
  readonly sensitive: string[] = [];
  readonly numberLike = new Set<string>();
  readonly unresolved = new Map<string, string[]>();
  aborted = false;
  private nodes = 0;
  private readonly doc: Document.Parsed;
  private readonly env: EnvLookup;
  private readonly at: (offset: number) => SourcePos;
  private readonly diagnostics: Diagnostic[];
  private readonly resolving = new Set<Node>();
  private readonly missingEnv: 'error' | 'notice';

  constructor(
    doc: Document.Parsed,
    env: EnvLookup,
    at: (offset: number) => SourcePos,
    diagnostics: Diagnostic[],
    missingEnv: 'error' | 'notice',
  ) {
    this.doc = doc;
    this.env = env;
    this.at = at;
    this.diagnostics = diagnostics;
    this.missingEnv = missingEnv;
  }

  convert(node: Node | null | undefined, path: string[]): JsonValue {
    if (this.aborted || node == null) return null;
    if (++this.nodes > MAX_NODES_PER_DOCUMENT) {
      this.abort(
        node,
        'YAML_TOO_LARGE',
        `document expands to more than ${MAX_NODES_PER_DOCUMENT} values (an alias bomb?); split it or remove aliases`,
      );
      return null;
    }
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      if (!target) {
        this.abort(node, 'YAML_SYNTAX', `unknown alias *${node.source}`);
        return null;
      }
      if (this.resolving.has(target)) {
        this.abort(node, 'YAML_SYNTAX', `alias *${node.source} refers to itself`);
        return null;
      }
      this.resolving.add(target);
      const v = this.convert(target, path);
      this.resolving.delete(target);
      return v;
    }
    if ((isMap(node) || isSeq(node)) && path.length >= MAX_NESTING_DEPTH) {
      // path.length collections enclose this one. Stopping here bounds this recursion
      // and every later stage's.
      this.abort(node, 'YAML_TOO_DEEP', TOO_DEEP);
      return null;
    }
    if (isMap(node)) {
      const out: JsonObject = {};
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = this.keyText(pair.key as Node | null);
        if (key === undefined) {
          this.report(
            pair.key as Node,
            'error',
            'YAML_KEY',
            'mapping keys must be plain strings or numbers',
          );
          continue;
        }
        if (key === '__proto__') {
          // Assigning it would set the object's prototype and lose the key.
          this.report(pair.key as Node, 'error', 'YAML_KEY', 'the key "__proto__" is not allowed');
          continue;
        }
        if (key === '<<') {
          this.report(
            pair.key as Node,
            'error',
            'YAML_MERGE',
            'merge keys (<<) are not supported; write the keys out',
          );
          continue;
        }
        out[key] = this.convert(pair.value as Node | null, [...path, key]);
      }
      return out;
    }
    if (isSeq(node)) {
      return node.items.map((item, i) => this.convert(item as Node | null, [...path, String(i)]));
    }
    if (isScalar(node)) {
      const v = node.value;
      if (typeof v === 'string') return this.substitute(v, node, path);
      if (typeof v === 'number') {
        if (!Number.isFinite(v)) {
          this.report(
            node,
            'error',
            'YAML_NUMBER',
            `${node.source ?? String(v)} is not a finite number`,
          );
          return null;
        }
        if (typeof node.source === 'string' && /^[+0]\d/.test(node.source))
          this.numberLike.add(buildPointer(path));
        return v;
      }
      if (typeof v === 'boolean' || v === null) return v;
      if (typeof v === 'bigint') {
        this.report(node, 'error', 'YAML_NUMBER', `${String(v)} is too large for a JSON number`);
        return null;
      }
      this.report(
        node,
        'error',
        'YAML_TYPE',
        'unsupported YAML value (only strings, numbers, booleans and null)',
      );
      return null;
    }
    this.report(node, 'error', 'YAML_TYPE', 'unsupported YAML node');
    return null;
  }

  private keyText(key: Node | null): string | undefined {
    if (key == null) return '';
    if (isScalar(key)) {
      if (typeof key.value === 'string') return key.value;
      // Keep the source text so `+14155550100:` stays "+14155550100", not 14155550100.
      if (typeof key.source === 'string') return key.source;
      if (key.value === null) return '';
      if (typeof key.value === 'number' || typeof key.value === 'boolean') return String(key.value);
    }
    return undefined;
  }

  private substitute(value: string, node: Node, path: string[]): string {
    const r = substituteEnv(value, this.env);
    for (const p of r.problems) {
      if (p.code === 'ENV_MISSING' && p.name !== undefined) {
        const pointer = buildPointer(path);
        this.unresolved.set(pointer, [...(this.unresolved.get(pointer) ?? []), p.name]);
        this.report(node, this.missingEnv, p.code, p.message, pointer);
      } else this.report(node, 'error', p.code, p.message);
    }
    if (r.used && r.resolved) this.sensitive.push(buildPointer(path));
    return detached(r.value);
  }

  private report(
    node: Node,
    severity: Severity,
    code: string,
    message: string,
    pointer?: string,
  ): void {
    const offset = node.range?.[0] ?? 0;
    this.diagnostics.push({
      severity,
      code,
      message,
      ...this.at(offset),
      ...(pointer !== undefined ? { pointer } : {}),
    });
  }

  private abort(node: Node, code: string, message: string): void {
    this.report(node, 'error', code, message);
    this.aborted = true;
  }
}

/** An unquoted `${env:…}` plain scalar inside a flow collection: where, and its text. */
interface FlowEnv {
  readonly offset: number;
  readonly text: string;
}

/**
 * Finds every plain (unquoted) scalar that starts with `${env:` inside `{ … }` or
 * `[ … ]`. Only asked after a syntax error, so a rough scan of quotes, comments
 * and brackets is enough: it only decides which message the user reads.
 */
export function unquotedEnvInFlow(text: string): FlowEnv[] {
  const out: FlowEnv[] = [];
  let depth = 0;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) {
      const eol = text.indexOf('\n', i);
      if (eol === -1) break;
      i = eol;
      continue;
    }
    if ((c === '"' || c === "'") && /[\s:,[{-]/.test(text[i - 1] ?? ' ')) quote = c;
    else if (c === '$' && text.startsWith('${env:', i)) {
      const close = text.indexOf('}', i);
      if (close === -1) continue;
      if (depth > 0) {
        let end = close + 1;
        while (end < text.length && !/[\s,\]}]/.test(text[end] ?? '')) end++;
        out.push({ offset: i, text: text.slice(i, end) });
      }
      i = close; // the reference's own "}" closes no collection
    } else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && depth > 0) depth--;
  }
  return out;
}

/** Offsets of the syntax errors left in document `index` once each found reference is quoted. */
function otherErrors(text: string, found: readonly FlowEnv[], index: number): number[] {
  let fixed = '';
  let last = 0;
  const shift: { at: number; by: number }[] = [];
  for (const f of found) {
    fixed += `${text.slice(last, f.offset)}"${f.text}"`;
    last = f.offset + f.text.length;
    shift.push({ at: f.offset, by: 2 });
  }
  fixed += text.slice(last);
  const doc = parseDocuments(fixed)[index];
  // Map offsets in the fixed text back to the original (2 characters per quoted reference before them).
  return (doc?.errors ?? []).map((e) => {
    let o = e.pos[0];
    for (const s of shift) if (o > s.at + 1) o -= s.by;
    return o;
  });
}

/**
 * 1-based line and column of an offset, counted from the text itself. (yaml's
 * LineCounter only sees the line breaks the lexer emits as tokens; after a
 * syntax error it misses those inside recovered tokens, and columns run past
 * the end of the line.)
 */
export function linePositions(text: string): (offset: number) => { line: number; col: number } {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    const o = Math.max(0, Math.min(offset, text.length));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: o - (starts[lo] ?? 0) + 1 };
  };
}

/**
 * Per document index, the offset of the first collection nested deeper than
 * MAX_NESTING_DEPTH. Walks yaml's concrete syntax tree with an explicit stack
 * (the tree is built without recursion), so any depth is safe here.
 */
function tooDeep(text: string): Map<number, number> {
  const out = new Map<number, number>();
  let index = -1;
  for (const token of new Parser().parse(text)) {
    if (token.type !== 'document') continue;
    index++;
    const stack: Array<[CST.Token, number]> = token.value ? [[token.value, 0]] : [];
    while (stack.length > 0) {
      const [t, above] = stack.pop() as [CST.Token, number];
      if (t.type !== 'block-map' && t.type !== 'block-seq' && t.type !== 'flow-collection')
        continue;
      const depth = above + 1;
      if (depth > MAX_NESTING_DEPTH) {
        const seen = out.get(index);
        if (seen === undefined || t.offset < seen) out.set(index, t.offset);
        continue;
      }
      for (const item of t.items) {
        if (item.key) stack.push([item.key, depth]);
        if (item.value) stack.push([item.value, depth]);
      }
    }
  }
  return out;
}

function parseDocuments(text: string): Document.Parsed[] {
  const docs = parseAllDocuments(text, {
    uniqueKeys: true,
    prettyErrors: false,
    strict: true,
  }) as Document.Parsed[] | Document.Parsed;
  return Array.isArray(docs) ? docs : [docs];
}

interface Reparsed {
  readonly docs: Document.Parsed[];
  readonly position: (offset: number) => { line: number; col: number };
}

/**
 * The syntax trees again, parsed on first use and shared by a file's
 * documents. Positions are needed only to report a problem, so rather than
 * keeping every document's tree alive for the whole run (several times the
 * size of the text) the locators keep the text and parse it again when asked.
 * Same text, same options: the same trees and offsets.
 */
function lazyReparse(textOf: () => string): () => Reparsed {
  let cached: Reparsed | undefined;
  return () => {
    if (!cached) {
      const text = textOf();
      cached = { docs: parseDocuments(text), position: linePositions(text) };
    }
    return cached;
  };
}

/** The reread text when it has the length the parsed text had, else '' (no documents: start positions). */
function sameText(length: number, reread: () => string | undefined): () => string {
  return () => {
    const text = reread();
    return text !== undefined && text.length === length ? text : '';
  };
}

function lazyLocator(
  file: string,
  index: number,
  start: SourcePos,
  reparsed: () => Reparsed,
): Locator {
  let locator: Locator | undefined;
  const get = (): Locator => {
    if (!locator) {
      const { docs, position } = reparsed();
      const doc = docs[index];
      const at = (offset: number): SourcePos => ({ file, ...position(offset) });
      locator = doc ? makeLocator(doc, at, start) : { value: () => start, key: () => start };
    }
    return locator;
  };
  return {
    value: (pointer) => get().value(pointer),
    key: (pointer) => get().key(pointer),
  };
}

function makeLocator(
  doc: Document.Parsed,
  at: (offset: number) => SourcePos,
  start: SourcePos,
): Locator {
  function walk(pointer: string, wantKey: boolean): SourcePos {
    let node: ParsedNode | null | undefined = doc.contents;
    let best = start;
    let keyPos: SourcePos | undefined;
    const tokens = parsePointer(pointer);
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] as string;
      while (node && isAlias(node)) node = node.resolve(doc) as ParsedNode | undefined;
      if (!node) break;
      keyPos = undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => {
          const k = p.key as Node | null;
          if (!isScalar(k)) return false;
          return (typeof k.value === 'string' ? k.value : (k.source ?? String(k.value))) === token;
        });
        if (!pair) break;
        const keyNode = pair.key as Node;
        keyPos = at(keyNode.range?.[0] ?? 0);
        node = pair.value as ParsedNode | null;
        best = node?.range ? at(node.range[0]) : keyPos;
      } else if (isSeq(node)) {
        const item = node.items[Number(token)] as ParsedNode | undefined;
        if (!item) break;
        node = item;
        best = at(item.range[0]);
      } else {
        break;
      }
      if (i === tokens.length - 1 && wantKey && keyPos) return keyPos;
    }
    return best;
  }
  return {
    value: (pointer) => walk(pointer, false),
    key: (pointer) => walk(pointer, true),
  };
}

/** One document to write: a JSON value with an optional comment block above it. */
export interface YamlOutputDocument {
  readonly value: JsonValue;
  /** Lines written as `# …` above the document. */
  readonly comments?: readonly string[];
}

/**
 * Writes documents as one multi-document YAML text (for `connops import`).
 * The stringifier quotes every string that would read back as another type,
 * so DID keys like "+14155550100" and numbers-as-strings stay strings.
 */
export function stringifyYamlDocuments(docs: readonly YamlOutputDocument[]): string {
  return docs
    .map((d) => {
      const doc = new YamlDocumentNode(d.value);
      if (d.comments && d.comments.length > 0)
        doc.commentBefore = d.comments.map((c) => ` ${c.replaceAll('\n', ' ')}`).join('\n');
      return doc.toString({ lineWidth: 0, singleQuote: true });
    })
    .join('---\n');
}
