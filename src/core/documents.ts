/**
 * Turns parsed YAML documents into DesiredDocuments, checking the envelope
 * (kind, target, account, name, id, ignore, spec), each spec through its
 * provider, and identities across all documents. Pure.
 */
import { getAtPointer, isObject, pointerMatches, type JsonObject } from './json.ts';
import {
  keyString,
  type Config,
  type DesiredDocument,
  type CheckedDocument,
  type Locator,
  type Diagnostic,
  type SourcePos,
} from './model.ts';
import type { Provider } from '../providers/types.ts';
import { findTargetDuplicates, uniqueTableOf } from './target-unique.ts';
import { parseYamlFile, type EnvLookup, type YamlDocument } from './yaml.ts';

const DOC_KEYS = ['kind', 'target', 'account', 'name', 'id', 'ignore', 'spec'];

export interface SourceFile {
  readonly path: string;
  readonly text: string;
  /** Reads the text again (see ParseYamlOptions.reread); absent: the text is kept while needed. */
  readonly reread?: () => string | undefined;
}

export interface DesiredState {
  /** The documents that passed their own checks (empty unless specs are kept). */
  readonly documents: DesiredDocument[];
  /** How many documents passed their own checks. */
  readonly count: number;
  readonly diagnostics: Diagnostic[];
  /** Values that came from `${env:…}`: register them for redaction. */
  readonly secrets: string[];
}

/** A document during its checks: with the position lookup into its file. */
type Located = DesiredDocument & { readonly locate: Locator };

/** What checking one file gives: its own diagnostics and the documents that passed. */
export interface FileCheck {
  readonly diagnostics: Diagnostic[];
  /** Values that came from `${env:…}` in this file. */
  readonly secrets: string[];
  /** What the checks across documents need of each document that passed. */
  readonly checked: CheckedDocument[];
  /** The documents that passed (empty unless specs are kept). */
  readonly documents: DesiredDocument[];
}

/**
 * Parses and checks every document of every file.
 * @param providers the registry, keyed by kind
 * @param options.keepSpecs false when only the diagnostics are wanted (`validate`):
 *   each spec is then let go as soon as it is checked, which keeps a large
 *   repo's memory (and the collector's work) small.
 */
export function buildDesiredState(
  files: readonly SourceFile[],
  config: Config,
  providers: ReadonlyMap<string, Provider>,
  env: EnvLookup,
  options: { readonly keepSpecs?: boolean; readonly offline?: boolean } = {},
): DesiredState {
  const keepSpecs = options.keepSpecs !== false;
  const offline = { offline: options.offline === true };
  return combineFileChecks(
    files.map((file) => checkFile(file, config, providers, env, keepSpecs, offline)),
    providers,
  );
}

/**
 * The checks of one file on its own: parse, envelope, spec. Files are
 * independent here, so they may be checked in any order or thread (see
 * engine/check-threads.ts); the checks across them (`checkAcross`) come after.
 */
export function checkFile(
  file: SourceFile,
  config: Config,
  providers: ReadonlyMap<string, Provider>,
  env: EnvLookup,
  keepSpecs: boolean,
  options: { readonly offline?: boolean } = {},
): FileCheck {
  const diagnostics: Diagnostic[] = [];
  const secrets: string[] = [];
  const checked: CheckedDocument[] = [];
  const documents: DesiredDocument[] = [];
  // Offline, an unset variable is a notice; it becomes an error below where the
  // value's shape matters (a check fails on the reference text it kept).
  const parsed = parseYamlFile(file.path, file.text, env, {
    missingEnv: options.offline ? 'notice' : 'error',
    ...(file.reread ? { reread: file.reread } : {}),
  });
  if (parsed.documents.length === 0 && parsed.diagnostics.length === 0) {
    diagnostics.push({
      severity: 'warning',
      code: 'EMPTY_FILE',
      message: 'file holds no documents',
      file: file.path,
      line: 1,
      col: 1,
    });
  }
  for (const ydoc of parsed.documents) {
    const located = checkDocument(ydoc, file.path, config, providers, diagnostics, secrets);
    if (!located) continue;
    const { locate, ...doc } = located;
    const provider = providers.get(doc.key.kind) as Provider; // checkDocument checked the kind
    checked.push({
      key: doc.key,
      ...(doc.id !== undefined ? { id: doc.id } : {}),
      source: doc.source,
      index: ydoc.index,
      locate,
      facts: provider.facts(doc.spec),
    });
    if (keepSpecs) documents.push(doc);
  }
  // An unset variable whose value a check needed is reported once, by that check's error.
  const needed = new Set(
    diagnostics
      .filter((d) => d.code !== 'ENV_MISSING')
      .map((d) => `${d.line}:${d.col}:${d.pointer}`),
  );
  diagnostics.push(
    ...parsed.diagnostics.filter(
      (d) => !(d.severity === 'notice' && needed.has(`${d.line}:${d.col}:${d.pointer}`)),
    ),
  );
  return { diagnostics, secrets, checked, documents };
}

/** Joins the files' checks (in file order) and runs the checks across documents. */
export function combineFileChecks(
  checks: readonly FileCheck[],
  providers: ReadonlyMap<string, Provider>,
): DesiredState {
  const diagnostics = checks.flatMap((c) => c.diagnostics);
  const checked = checks.flatMap((c) => c.checked);
  diagnostics.push(...checkAcross(checked, providers));
  return {
    documents: checks.flatMap((c) => c.documents),
    count: checked.length,
    diagnostics: sortDiagnostics(diagnostics),
    secrets: checks.flatMap((c) => c.secrets),
  };
}

function checkDocument(
  ydoc: YamlDocument,
  file: string,
  config: Config,
  providers: ReadonlyMap<string, Provider>,
  diagnostics: Diagnostic[],
  secrets: string[],
): Located | undefined {
  const root = ydoc.value;
  if (root === undefined || root === null) return undefined; // empty document, or YAML errors already reported
  const loc = ydoc.locate;
  const report = (
    severity: 'error' | 'warning' | 'notice',
    code: string,
    message: string,
    pointer: string,
    atKey = false,
  ): void => {
    const p = atKey ? loc.key(pointer) : loc.value(pointer);
    diagnostics.push({ severity, code, message, file, line: p.line, col: p.col, pointer });
  };
  if (!isObject(root)) {
    report(
      'error',
      'DOCUMENT',
      'a document must be a mapping with kind, target, account, name and spec',
      '',
    );
    return undefined;
  }
  let ok = true;
  const fail = (code: string, message: string, pointer: string, atKey = false): void => {
    report('error', code, message, pointer, atKey);
    ok = false;
  };
  for (const key of Object.keys(root)) {
    if (!DOC_KEYS.includes(key)) {
      const hint = key === 'specs' || key === 'body' ? ' (did you mean "spec"?)' : '';
      fail(
        'UNKNOWN_DOCUMENT_KEY',
        `unknown document key "${key}"${hint}; a document has ${DOC_KEYS.join(', ')}`,
        `/${key}`,
        true,
      );
    }
  }
  const str = (key: string, required: boolean): string | undefined => {
    const v = root[key];
    if (v === undefined) {
      if (required)
        fail(
          'MISSING_FIELD',
          key === 'name'
            ? 'document needs `name` (or `id`, to adopt an existing object by its id alone)'
            : `document needs \`${key}\``,
          '',
        );
      return undefined;
    }
    if (typeof v === 'number') {
      fail(
        'DOCUMENT',
        `\`${key}\` must be a string: YAML read it as a number (which loses digits); put it in quotes`,
        `/${key}`,
      );
      return undefined;
    }
    if (typeof v !== 'string' || v === '') {
      fail('DOCUMENT', `\`${key}\` must be a non-empty string`, `/${key}`);
      return undefined;
    }
    return v;
  };
  const kind = str('kind', true);
  const targetName = str('target', true);
  // A document that pins `id` may leave `name` out: its identity is then the id,
  // and no name is written to the object (an object MonsterUI made has none, §13).
  const pinnedOnly = root['name'] === undefined && root['id'] !== undefined;
  const id = str('id', false);
  const name = pinnedOnly ? id : str('name', true);
  let account = str('account', false);

  const provider = kind !== undefined ? providers.get(kind) : undefined;
  if (kind !== undefined && !provider) {
    fail(
      'UNKNOWN_KIND',
      `unknown kind "${kind}"; known kinds: ${[...providers.keys()].join(', ')}`,
      '/kind',
    );
  }
  const target = targetName !== undefined ? config.targets[targetName] : undefined;
  if (targetName !== undefined && !target) {
    const known = Object.keys(config.targets);
    fail(
      'UNKNOWN_TARGET',
      `unknown target "${targetName}"; the config defines ${known.length ? known.join(', ') : 'no targets'}`,
      '/target',
    );
  }
  // A target of unknown type is reported in the config; its documents are still
  // checked, by their kind's provider.
  if (provider && target && target.type !== '' && target.type !== provider.targetType) {
    fail(
      'TARGET_KIND',
      `kind "${provider.kind}" needs a target of type "${provider.targetType}", but "${target.name}" is "${target.type}"`,
      '/target',
    );
  }
  if (provider && target && account === undefined) {
    account = provider.defaultAccount(target);
    if (account === undefined && root['account'] === undefined)
      fail('MISSING_FIELD', 'document needs `account` (the Kazoo account id)', '');
  }
  if (provider && account !== undefined && provider.checkAccount) {
    const problem = provider.checkAccount(account);
    if (problem) fail('ACCOUNT', problem, root['account'] === undefined ? '/target' : '/account');
  }

  const ignore: string[] = [];
  const rawIgnore = root['ignore'];
  if (rawIgnore !== undefined) {
    if (!Array.isArray(rawIgnore))
      fail(
        'IGNORE',
        '`ignore` must be a list of JSON Pointers, e.g. ["/servers[name=pbx-1]/options/hunt_account_id"]',
        '/ignore',
      );
    else
      rawIgnore.forEach((p, i) => {
        if (typeof p === 'string' && (p === '' || p.startsWith('/'))) ignore.push(p);
        else
          fail(
            'IGNORE',
            `ignore entry must be a JSON Pointer starting with "/", e.g. /servers[name=pbx-1]/options/hunt_account_id`,
            `/ignore/${i}`,
          );
      });
  }

  const spec = root['spec'];
  if (spec === undefined)
    fail('MISSING_FIELD', 'document needs `spec`: the body of the API object', '');
  else if (!isObject(spec))
    fail('SPEC', '`spec` must be a mapping (the body of the API object)', '/spec');

  const sensitive = ydoc.sensitive
    .filter((p) => p.startsWith('/spec/'))
    .map((p) => p.slice('/spec'.length));
  for (const p of ydoc.sensitive) {
    const v = getAtPointer(root, p);
    if (typeof v === 'string' && v !== '') secrets.push(v);
  }

  if (
    !ok ||
    !provider ||
    !target ||
    kind === undefined ||
    name === undefined ||
    account === undefined ||
    !isObject(spec)
  )
    return undefined;

  let body: JsonObject = spec;
  const specName = spec['name'];
  if (pinnedOnly) {
    // No name: the body is the spec as written.
  } else if (specName !== undefined && specName !== name) {
    report(
      'error',
      'NAME_MISMATCH',
      `spec.name "${String(specName)}" differs from the document name "${name}"; remove spec.name or make them equal`,
      '/spec/name',
    );
    return undefined;
  } else if (specName === undefined) body = { ...spec, name };

  let specOk = true;
  const known = target.known_fields ?? [];
  for (const problem of provider.checkSpec(body, target)) {
    // The target says something else reads this field (config `known_fields`).
    if (problem.code === 'UNKNOWN_FIELD' && known.some((k) => pointerMatches(k, problem.pointer)))
      continue;
    const pointer = `/spec${problem.pointer}`;
    let message = problem.message;
    const unset = ydoc.unresolved?.get(pointer);
    if (unset && problem.severity === 'error')
      message += ` (the value is \${env:${unset[0] ?? ''}}, which is not set here: the check needs its value)`;
    if (
      problem.code === 'SCHEMA' &&
      / must be a string/.test(message) &&
      ydoc.numberLike.has(pointer)
    ) {
      message += ' (YAML read it as a number: put it in quotes)';
    }
    report(problem.severity, problem.code, message, pointer, problem.atKey ?? false);
    if (problem.severity === 'error') specOk = false;
  }
  if (!specOk) return undefined;

  return {
    key: { target: target.name, account, kind, name },
    ...(id !== undefined ? { id } : {}),
    spec: body,
    ignore,
    sensitive,
    source: ydoc.start,
    locate: loc,
  };
}

/**
 * The checks across documents: those inside each scope (`checkScopes`), then
 * the values unique in a whole target (core/target-unique.ts), in document order.
 */
export function checkAcross(
  checked: readonly CheckedDocument[],
  providers: ReadonlyMap<string, Provider>,
): Diagnostic[] {
  const out = checkScopes(checked, providers);
  const table = uniqueTableOf(
    checked.map((doc, i) => ({ order: i, doc })),
    providers,
  );
  out.push(...findTargetDuplicates([table], providers));
  return out;
}

/**
 * The checks across documents inside each scope (identities, then each
 * provider's `checkAll`), in document order. Every one of them relates
 * documents of one scope (target and account) only, so running it on groups of
 * whole scopes gives the same diagnostics as one run (check-threads.ts relies
 * on this, and runs the target-wide check over all groups' tables).
 */
export function checkScopes(
  checked: readonly CheckedDocument[],
  providers: ReadonlyMap<string, Provider>,
): Diagnostic[] {
  const out = checkIdentities(checked);
  for (const provider of providers.values()) {
    const mine = checked.filter((d) => d.key.kind === provider.kind);
    if (mine.length > 0) out.push(...provider.checkAll(mine));
  }
  return out;
}

function checkIdentities(documents: readonly CheckedDocument[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const duplicate = (d: CheckedDocument, pointer: '/name' | '/id', message: string): void => {
    const p = d.locate.value(pointer);
    out.push({
      severity: 'error',
      code: 'DUPLICATE_IDENTITY',
      message,
      file: p.file,
      line: p.line,
      col: p.col,
      pointer,
    });
  };
  const seen = new Map<string, CheckedDocument>();
  const ids = new Map<string, CheckedDocument>();
  for (const d of documents) {
    const k = keyString(d.key);
    const first = seen.get(k);
    if (first) {
      duplicate(
        d,
        '/name',
        `${d.key.kind} "${d.key.name}" in account ${d.key.account} on ${d.key.target} is already declared at ${where(first.source)}; each object is declared once`,
      );
    } else seen.set(k, d);
    if (d.id !== undefined) {
      const idKey = `${d.key.target}/${d.key.account}/${d.key.kind}#${d.id}`;
      const other = ids.get(idKey);
      if (other)
        duplicate(
          d,
          '/id',
          `id ${d.id} is already pinned by "${other.key.name}" at ${where(other.source)}`,
        );
      else ids.set(idKey, d);
    }
  }
  return out;
}

function where(p: SourcePos): string {
  return `${p.file}:${p.line}:${p.col}`;
}

/** The diagnostic for a document file that could not be read (`reason` from io/files.ts). */
export function unreadable(file: string, reason: string): Diagnostic {
  return { severity: 'error', code: 'FILE', message: reason, file, line: 1, col: 1 };
}

/** Orders diagnostics by file, line, column (stable). */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col,
  );
}
