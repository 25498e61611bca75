/**
 * Seed files for the Kazoo emulator (YAML or JSON). Parsed with the project's
 * YAML wrapper rather than `yaml`'s toJS(): an unquoted DID key `+14155550100`
 * would otherwise lose its "+" (src/core/yaml.ts).
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../../core/errors.ts';
import { escapePointerToken, isObject, type JsonObject, type JsonValue } from '../../core/json.ts';
import type { SourcePos } from '../../core/model.ts';
import { didYouMean } from '../../core/suggest.ts';
import { parseYamlFile } from '../../core/yaml.ts';
import { isNumberState, isReconcilable, NUMBER_STATES, type SeedNumber } from './numbers.ts';
import type { KazooSeed, SeedAccount } from './store.ts';

/** Kazoo account ids: 32 lowercase hex characters (kazoo-api.md §3.4). */
const ACCOUNT_ID = /^[0-9a-f]{32}$/;
/** api_auth's schema: `api_key` of exactly 64 characters (kazoo-api.md §5). */
export const API_KEY_LENGTH = 64;

/**
 * A mistake in a seed file: a user error with its position (`file:line:col:
 * what is wrong`), which the CLI reports as a usage error (exit 64), never as a
 * bug. Thrown by the parsers below.
 */
export class SeedError extends UsageError {}

/** Where a pointer is in the seed file (the file's start when unknown, e.g. a value built in code). */
export type SeedLocator = (pointer: string, atKey?: boolean) => SourcePos;

/** Parses seed text (YAML or JSON) into a plain value; a syntax error is a SeedError. */
export function parseSeedText(file: string, text: string): JsonValue | undefined {
  return parseSeedDocument(file, text).value;
}

/** The seed value with a position lookup. JSON is YAML too, so one parser gives both positions. */
export function parseSeedDocument(
  file: string,
  text: string,
): { value: JsonValue | undefined; locate: SeedLocator } {
  const parsed = parseYamlFile(file, text, (name) => process.env[name]);
  const first = parsed.diagnostics.find((d) => d.severity === 'error');
  if (first)
    throw new SeedError(
      `${first.file}:${first.line}:${first.col}: cannot read the emulator seed: ${first.message}`,
    );
  const doc = parsed.documents[0];
  const start = { file, line: 1, col: 1 };
  return {
    value: doc?.value,
    locate: (p, atKey) => (doc ? (atKey ? doc.locate.key(p) : doc.locate.value(p)) : start),
  };
}

const SEED_KEYS = ['accounts', 'docs', 'numbers'];
const ACCOUNT_KEYS = ['id', 'name', 'realm', 'api_key', 'username', 'password', 'parent_id'];

/** Checks the shape of a Kazoo seed value (accounts, docs, numbers). */
export function parseKazooSeed(
  value: unknown,
  source = 'seed',
  locate: SeedLocator = () => ({ file: source, line: 1, col: 1 }),
  base = '',
): KazooSeed {
  const fail = (pointer: string, message: string, atKey = false): never => {
    const at = locate(`${base}${pointer}`, atKey);
    throw new SeedError(`${at.file}:${at.line}:${at.col}: invalid emulator seed: ${message}`);
  };
  if (value === undefined || value === null) return {};
  if (!isObject(value))
    return fail('', 'expected a mapping with "accounts" (and optionally "docs", "numbers")');
  for (const key of Object.keys(value))
    if (!SEED_KEYS.includes(key))
      fail(
        `/${key}`,
        `unknown key "${key}"${didYouMean(key, SEED_KEYS)}; a seed has ${SEED_KEYS.join(', ')}`,
        true,
      );
  const str = (
    a: JsonObject,
    key: string,
    where: string,
    required: boolean,
  ): string | undefined => {
    const v = a[key];
    if (v === undefined || v === null) {
      if (required) fail(where, `${where.slice(1).replace(/\/(\d+)$/, '[$1]')}.${key} is required`);
      return undefined;
    }
    if (typeof v !== 'string')
      return fail(`${where}/${key}`, `${key} must be a string (put it in quotes)`);
    return v;
  };
  const seed: KazooSeed = {};
  const accounts = value['accounts'];
  if (accounts !== undefined) {
    if (!Array.isArray(accounts)) return fail('/accounts', '"accounts" must be a list of mappings');
    const ids = new Set<string>();
    seed.accounts = accounts.map((a, i): SeedAccount => {
      const where = `/accounts/${i}`;
      if (!isObject(a))
        return fail(
          where,
          `accounts[${i}] must be a mapping with id, name and realm (write "- id: …" and indent its keys)`,
        );
      for (const key of Object.keys(a))
        if (!ACCOUNT_KEYS.includes(key))
          fail(
            `${where}/${key}`,
            `unknown account key "${key}"${didYouMean(key, ACCOUNT_KEYS)}; an account has ${ACCOUNT_KEYS.join(', ')}`,
            true,
          );
      const account: SeedAccount = {
        id: str(a, 'id', where, true) ?? '',
        name: str(a, 'name', where, true) ?? '',
        realm: str(a, 'realm', where, true) ?? '',
      };
      if (!ACCOUNT_ID.test(account.id))
        fail(`${where}/id`, `account id "${account.id}" must be 32 lowercase hex characters`);
      if (ids.has(account.id)) fail(`${where}/id`, `account id ${account.id} is seeded twice`);
      ids.add(account.id);
      for (const key of ['api_key', 'username', 'password', 'parent_id'] as const) {
        const v = str(a, key, where, false);
        if (v !== undefined) account[key] = v;
      }
      if (account.api_key !== undefined && account.api_key.length !== API_KEY_LENGTH)
        fail(
          `${where}/api_key`,
          `api_key must be exactly ${API_KEY_LENGTH} characters (it has ${account.api_key.length}), as Kazoo's api_auth requires`,
        );
      return account;
    });
    (seed.accounts ?? []).forEach((a, i) => {
      if (a.parent_id !== undefined && !ids.has(a.parent_id))
        fail(`/accounts/${i}/parent_id`, `parent_id ${a.parent_id} is not an account of this seed`);
    });
  }
  const docs = value['docs'];
  if (docs !== undefined) {
    if (!isObject(docs)) return fail('/docs', '"docs" must map account ids to lists of documents');
    seed.docs = {};
    const known = new Set((seed.accounts ?? []).map((a) => a.id));
    for (const [accountId, list] of Object.entries(docs)) {
      const where = `/docs/${accountId}`;
      if (!known.has(accountId))
        fail(where, `docs for account ${accountId}, which "accounts" does not seed`, true);
      if (!Array.isArray(list)) return fail(where, `docs.${accountId} must be a list of documents`);
      list.forEach((d, i) => {
        if (!isObject(d))
          fail(`${where}/${i}`, `docs.${accountId}[${i}] must be a mapping (a document body)`);
      });
      seed.docs[accountId] = list as JsonObject[];
    }
  }
  const numbers = value['numbers'];
  if (numbers !== undefined) {
    if (!isObject(numbers))
      fail(
        '/numbers',
        '"numbers" must map numbers to an account id or to {assigned_to, state, used_by, features}',
      );
    seed.numbers = {};
    for (const [num, entry] of Object.entries(numbers as JsonObject)) {
      try {
        seed.numbers[num] = parseSeedNumber(num, entry, source);
      } catch (err) {
        // Positioned at the entry: the message names it already.
        fail(
          `/numbers/${escapePointerToken(num)}`,
          (err as Error).message.replace(/^Invalid Kazoo seed in [^:]*: /, ''),
        );
      }
    }
  }
  return seed;
}

const NUMBER_KEYS = new Set(['assigned_to', 'state', 'used_by', 'features']);

/** One `numbers` entry: an account id, or the number's properties (§12). */
function parseSeedNumber(num: string, entry: JsonValue, source: string): SeedNumber {
  const where = `numbers.${num}`;
  const bad = (what: string): Error =>
    new Error(`Invalid Kazoo seed in ${source}: ${where}${what.startsWith('.') ? '' : ' '}${what}`);
  if (!isReconcilable(num))
    throw bad('is not a phone number Kazoo accepts (write it as E.164, e.g. "+14155550100")');
  if (typeof entry === 'string') return entry;
  if (!isObject(entry))
    throw bad('must be an account id or a mapping with assigned_to, state, used_by, features');
  for (const key of Object.keys(entry)) {
    if (!NUMBER_KEYS.has(key))
      throw bad(`has an unknown key "${key}" (allowed: ${[...NUMBER_KEYS].join(', ')})`);
  }
  const out: Exclude<SeedNumber, string> = {};
  for (const key of ['assigned_to', 'used_by'] as const) {
    const v = entry[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw bad(`.${key} must be a string`);
    out[key] = v;
  }
  const state = entry['state'];
  if (state !== undefined && state !== null) {
    if (!isNumberState(state)) throw bad(`.state must be one of ${NUMBER_STATES.join(', ')}`);
    out.state = state;
  }
  const features = entry['features'];
  if (features !== undefined && features !== null) {
    if (!Array.isArray(features) || !features.every((f) => typeof f === 'string'))
      throw bad('.features must be a list of strings');
    out.features = features as string[];
  }
  return out;
}

/** Reads and parses a seed file (YAML or JSON). Accepts `{kazoo: …}` wrapping too. */
export async function loadSeedFile(path: string): Promise<KazooSeed> {
  const { value, locate } = parseSeedDocument(path, await readFile(path, 'utf8'));
  const wrapped = isObject(value) && Object.hasOwn(value, 'kazoo');
  return parseKazooSeed(wrapped ? value['kazoo'] : value, path, locate, wrapped ? '/kazoo' : '');
}
