/**
 * Which documents a set of changed files touches, for `--changed-since`. Pure:
 * file texts come in, document keys go out.
 *
 * Whole files are the unit git can tell us about: a document has no stable
 * identity of its own in git (it can move within a file, between files, or be
 * reformatted), so we take every document of every changed file, old and new
 * versions, and compare keys. A document in a changed file that did not itself
 * change is planned too; it plans as a noop, which is harmless.
 */
import { isObject } from './json.ts';
import { keyString, type Config, type DocumentKey } from './model.ts';
import { parseYamlFile, type EnvLookup } from './yaml.ts';
import type { Provider } from '../providers/types.ts';

/**
 * The keys of the documents in one file. Lenient on purpose: a document that
 * is invalid in other ways still names an object (validation reports it), and
 * the old version of a deleted file is never validated at all.
 */
export function documentKeysOf(
  file: string,
  text: string,
  config: Config,
  providers: ReadonlyMap<string, Provider>,
  env: EnvLookup,
): DocumentKey[] {
  const keys: DocumentKey[] = [];
  for (const doc of parseYamlFile(file, text, env).documents) {
    const root = doc.value;
    if (!isObject(root)) continue;
    const { kind, target, name } = root;
    let account = root['account'];
    if (typeof kind !== 'string' || typeof target !== 'string' || typeof name !== 'string')
      continue;
    const t = config.targets[target];
    const provider = providers.get(kind);
    if (account === undefined && t && provider) account = provider.defaultAccount(t);
    if (typeof account !== 'string') continue;
    keys.push({ target, account, kind, name });
  }
  return keys;
}

export interface ChangedKeys {
  /** Keys of documents in the new versions of changed files. */
  readonly keys: Set<string>;
  /** Keys declared in the old versions but by no new version: documents deleted from git. */
  readonly deleted: DocumentKey[];
}

/** Compares the documents of changed files before and after. */
export function diffDocumentKeys(
  before: readonly DocumentKey[],
  after: readonly DocumentKey[],
): ChangedKeys {
  const keys = new Set(after.map(keyString));
  const deleted = new Map<string, DocumentKey>();
  for (const k of before) {
    const s = keyString(k);
    if (!keys.has(s)) deleted.set(s, k);
  }
  return {
    keys,
    deleted: [...deleted.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, k]) => k),
  };
}
