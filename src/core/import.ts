/**
 * `connops import`, the pure half: live objects of one account → one YAML file
 * of documents that plan as zero changes once the printed variables are set.
 *
 * Each body is written in the form the diff compares (`provider.normalize`),
 * then shrunk: a key is left out when leaving it out normalises to the same
 * body (a schema default the server fills in). That check is the diff's own
 * comparison, so the round trip holds by construction, whatever defaults a
 * provider applies. Secrets become `${env:NAME}` placeholders; their values
 * never reach the file or the output.
 */
import {
  buildPointer,
  cloneJson,
  deepEqual,
  getAtPointer,
  isObject,
  parsePointer,
  type JsonObject,
  type JsonValue,
} from './json.ts';
import type { TargetConfig } from './model.ts';
import { stringifyYamlDocuments, type YamlOutputDocument } from './yaml.ts';
import type { LiveObject, Provider } from '../providers/types.ts';

export interface ImportVariable {
  /** Environment variable name, e.g. CONNOPS_3F2A9C0E_ACME_MAIN_0_AUTH_PASSWORD. */
  readonly name: string;
  /** Document (object) name. */
  readonly document: string;
  /** JSON Pointer of the secret inside the spec. */
  readonly pointer: string;
  /** The live value (for redaction by the caller; never written or printed). */
  readonly value: string;
}

export interface ImportProblem {
  readonly document: string;
  readonly id: string;
  readonly message: string;
}

export interface ImportedAccount {
  /** The YAML text (empty when the account has no objects). */
  readonly text: string;
  readonly count: number;
  readonly variables: ImportVariable[];
  /** Objects the provider's offline checks reject (written with a comment in lenient mode). */
  readonly problems: ImportProblem[];
  readonly warnings: string[];
}

/** Upper-cases and turns every run of non-alphanumerics into one `_`. */
export function envToken(s: string): string {
  return s
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * Deterministic variable name for a secret: account prefix, document name, and
 * the pointer's array indices and last token, e.g. /servers/0/auth/auth_password
 * → CONNOPS_3F2A9C0E_ACME_MAIN_0_AUTH_PASSWORD.
 */
export function secretVariableName(account: string, document: string, pointer: string): string {
  const tokens = parsePointer(pointer);
  const indices = tokens.filter((t) => /^\d+$/.test(t));
  const last = tokens[tokens.length - 1] ?? 'SECRET';
  return ['CONNOPS', envToken(account.slice(0, 8)), envToken(document), ...indices, envToken(last)]
    .filter((p) => p !== '')
    .join('_');
}

/** `$` is the loader's escape character (`$$` → `$`), so literal dollars are doubled. */
function escapeDollars(value: JsonValue): JsonValue {
  if (typeof value === 'string') return value.includes('$') ? value.replaceAll('$', '$$$$') : value;
  if (Array.isArray(value)) return value.map(escapeDollars);
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = escapeDollars(v);
    return out;
  }
  return value;
}

/**
 * Drops keys whose absence normalises to the same body. Tries whole keys
 * first (a default sub-object goes at once), then descends into what stays.
 */
export function shrinkToDefaults(
  spec: JsonObject,
  same: (candidate: JsonObject) => boolean,
): JsonObject {
  const root = cloneJson(spec);
  const visit = (node: JsonValue): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (!isObject(node)) return;
    for (const key of Object.keys(node)) {
      const kept = node[key] as JsonValue;
      delete node[key];
      if (same(root)) continue;
      node[key] = kept;
      visit(kept);
    }
  };
  visit(root);
  return root;
}

function setAt(root: JsonObject, pointer: string, value: JsonValue): void {
  const tokens = parsePointer(pointer);
  const last = tokens.pop();
  if (last === undefined) return;
  const container = getAtPointer(root, buildPointer(tokens));
  if (Array.isArray(container)) container[Number(last)] = value;
  else if (isObject(container)) container[last] = value;
}

export interface ImportInput {
  readonly provider: Provider;
  readonly target: TargetConfig;
  readonly account: string;
  readonly objects: readonly LiveObject[];
  /** Whether the document needs `account:` (false when the target implies it). */
  readonly writeAccount: boolean;
  /** Variable names already used (across accounts), to keep names unique. */
  readonly usedNames?: Set<string>;
}

export function buildImport(input: ImportInput): ImportedAccount {
  const { provider, target, account } = input;
  const used = input.usedNames ?? new Set<string>();
  const warnings: string[] = [];
  const problems: ImportProblem[] = [];
  const variables: ImportVariable[] = [];
  const rows = input.objects.map((o) => {
    const named = provider.nameOf(o.body);
    // A nameless object (MonsterUI writes none, reference §13) is adopted by its id
    // alone: the document pins `id` and has no `name`, so nothing is written to it.
    const name = named ?? `imported-${o.id.slice(0, 8)}`;
    if (named === undefined)
      warnings.push(
        `${provider.kind} ${o.id} in account ${account} has no name; adopted by its id (the document pins \`id\` and writes no name; add \`name:\` to give it one)`,
      );
    return { o, name, named: named !== undefined };
  });
  rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.o.id < b.o.id ? -1 : 1));

  const docs: YamlOutputDocument[] = [];
  for (const { o, name, named } of rows) {
    const liveN = provider.normalize(o.body, target);
    // What the diff will compare: the document's spec with its name filled in
    // (a nameless object's document has no name to fill in).
    const withName = (candidate: JsonObject): JsonObject =>
      named ? { ...candidate, name } : candidate;
    const same = (candidate: JsonObject): boolean =>
      deepEqual(provider.normalize(withName(candidate), target), liveN);
    const full: JsonObject = { ...liveN };
    delete full['name'];
    let spec = shrinkToDefaults(full, same);
    const checked = (s: JsonObject) =>
      provider.checkSpec(withName(s), target).filter((p) => p.severity === 'error');
    let errors = checked(spec);
    if (errors.length > 0 && checked(full).length < errors.length) {
      // A default the schema requires to be written: keep the full form.
      spec = full;
      errors = checked(full);
    }
    const comments = [`id: ${o.id}`];
    for (const e of errors) {
      problems.push({ document: name, id: o.id, message: `${e.pointer || '/'}: ${e.message}` });
      comments.push(`connops: ${e.pointer || '/'}: ${e.message}`);
    }
    spec = escapeDollars(spec) as JsonObject;
    for (const pointer of provider.secretPointers(spec)) {
      const value = getAtPointer(liveN, pointer);
      if (typeof value !== 'string' || value === '') continue;
      let varName = secretVariableName(account, name, pointer);
      if (used.has(varName)) varName = `${varName}_${envToken(o.id.slice(0, 8))}`;
      used.add(varName);
      variables.push({ name: varName, document: name, pointer, value });
      setAt(spec, pointer, `\${env:${varName}}`);
    }
    docs.push({
      comments,
      value: {
        kind: provider.kind,
        target: target.name,
        ...(input.writeAccount ? { account } : {}),
        ...(named ? { name } : {}),
        id: o.id,
        spec,
      },
    });
  }
  return {
    text: docs.length > 0 ? stringifyYamlDocuments(docs) : '',
    count: docs.length,
    variables,
    problems,
    warnings,
  };
}
