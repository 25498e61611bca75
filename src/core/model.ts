/**
 * The core's data model: source positions, diagnostics, the loaded config and
 * desired documents. Values only; no I/O.
 */
import type { JsonObject } from './json.ts';

/** A place in a source file; line and col are 1-based. */
export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/**
 * `notice`: worth knowing, not a problem in the files (e.g. a credential
 * variable that is not set where `validate` runs; it needs no secret).
 */
export type Severity = 'error' | 'warning' | 'notice';

/** A problem with the user's input: reported, never thrown. */
export interface Diagnostic {
  readonly severity: Severity;
  /** Stable machine code, e.g. YAML_SYNTAX, SCHEMA, DID_FORMAT, DUPLICATE_DID. */
  readonly code: string;
  readonly message: string;
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** JSON Pointer inside the document (from its top, e.g. /spec/servers/0/auth). */
  readonly pointer?: string;
}

/** Identity of a live object: (target, account, kind, name). */
export interface DocumentKey {
  readonly target: string;
  readonly account: string;
  readonly kind: string;
  readonly name: string;
}

/** Canonical text form of a key: target/account/kind/name. */
export function keyString(key: DocumentKey): string {
  return `${key.target}/${key.account}/${key.kind}/${key.name}`;
}

/** The scope checks across documents stay within (Provider.checkAll): target/account. */
export function scopeOf(key: DocumentKey): string {
  return `${key.target}/${key.account}`;
}

/** A `scopeOf` string back into its target and account (an account id holds no "/"). */
export function splitScope(scope: string): [target: string, account: string] {
  const cut = scope.lastIndexOf('/');
  return [scope.slice(0, cut), scope.slice(cut + 1)];
}

/** Finds the position of a key or value inside a document, by JSON Pointer. */
export interface Locator {
  /** Position of the value at the pointer, falling back to the nearest ancestor that exists. */
  value(pointer: string): SourcePos;
  /** Position of the key that names the pointer's last token (its value for array items). */
  key(pointer: string): SourcePos;
}

/** One desired object, as declared by a YAML document. */
export interface DesiredDocument {
  readonly key: DocumentKey;
  /** Pinned live id, when the document sets `id`. */
  readonly id?: string;
  /** The body to send, with `${env:…}` substituted and the name filled in. */
  readonly spec: JsonObject;
  /** JSON Pointers (inside spec) owned elsewhere: treated as absent on both sides. */
  readonly ignore: readonly string[];
  /** JSON Pointers (inside spec) whose values came from `${env:…}`. */
  readonly sensitive: readonly string[];
  /** Where the document starts. */
  readonly source: SourcePos;
}

/**
 * What the checks across documents see of one document: its identity, a
 * position lookup (which keeps its file's text alive) and the provider's
 * `facts` about its spec (e.g. its DIDs), not the spec itself. So `validate`
 * can let each spec go once it is checked, and loading drops the lookups once
 * every check has run.
 */
export interface CheckedDocument {
  readonly key: DocumentKey;
  readonly id?: string;
  readonly source: SourcePos;
  /** 0-based index of the document among its file's YAML documents. */
  readonly index: number;
  /** Position lookup for the document (pointers start at the document root: /spec/...). */
  readonly locate: Locator;
  /** Provider.facts(spec): only its own provider reads it. */
  readonly facts: unknown;
}

export interface TargetConfig {
  readonly name: string;
  /** 'kazoo' | 'cloudflare' (checked against the provider registry). */
  readonly type: string;
  readonly url?: string;
  /** Kazoo schema version setting ("4.3" when absent). */
  readonly schema?: string;
  /** Cloudflare account id. */
  readonly account_id?: string;
  /** Credentials; values are usually `${env:…}` and therefore sensitive. */
  readonly auth: Readonly<Record<string, string>>;
  /** Max in-flight requests to this target. */
  readonly concurrency: number;
  /** Request timeout in milliseconds. */
  readonly timeout_ms: number;
  /** Extra PEM file to trust (private CA), or undefined for the system store. */
  readonly ca_file?: string;
  /**
   * Which DIDs the plan checks against the number manager (§12): by default
   * those the plan newly routes (only accounts where it routes one are read);
   * 'all': every desired DID of every declared account; false: none (servers
   * that do not expose `phone_numbers`).
   */
  readonly check_numbers?: false | 'all';
  /**
   * False: after an apply, do not have the API recompute which application
   * uses each number (Kazoo's number manager `used_by`, INVARIANTS.md item 4).
   * Absent means true.
   */
  readonly fix_numbers?: false;
  readonly source: SourcePos;
  /**
   * Unknown-field warnings to leave out, as JSON Pointer patterns into a spec
   * (a `*` token matches any one token, e.g. `/servers/` + `*` + `/options/x_hint`):
   * fields something else reads that connops cannot know about.
   */
  readonly known_fields?: readonly string[];
  /** Where each setting's value is (`auth`, `schema`, …), for diagnostics at their own line. */
  readonly positions?: Readonly<Record<string, SourcePos>>;
  /**
   * Settings left out because their `${env:…}` variable is unset or empty
   * (`auth.api_key`, `url`): offline checks need no secret; online commands
   * refuse to reach the target and name the variable.
   */
  readonly unset?: readonly { readonly setting: string; readonly variable: string }[];
}

export interface Policy {
  readonly prune: boolean;
  readonly max_deletes: number;
  readonly max_changes: number;
}

export interface Config {
  readonly file: string;
  /** Directory the config lives in; document globs are relative to it. */
  readonly dir: string;
  readonly targets: Readonly<Record<string, TargetConfig>>;
  readonly documents: readonly string[];
  readonly policy: Policy;
}
