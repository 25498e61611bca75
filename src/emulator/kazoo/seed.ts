/**
 * Seed files for the Kazoo emulator (YAML or JSON). Parsed with the project's
 * YAML wrapper rather than `yaml`'s toJS(): an unquoted DID key `+14155550100`
 * would otherwise lose its "+" (src/core/yaml.ts).
 */
import { readFile } from 'node:fs/promises';
import { isObject, type JsonObject, type JsonValue } from '../../core/json.ts';
import { parseYamlFile } from '../../core/yaml.ts';
import { isNumberState, isReconcilable, NUMBER_STATES, type SeedNumber } from './numbers.ts';
import type { KazooSeed, SeedAccount } from './store.ts';

/** Parses seed text (YAML or JSON) into a plain value; throws on syntax errors. */
export function parseSeedText(file: string, text: string): JsonValue | undefined {
  if (/\.json$/i.test(file)) return JSON.parse(text) as JsonValue;
  const parsed = parseYamlFile(file, text, (name) => process.env[name]);
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    const first = errors[0];
    throw new Error(
      `Cannot read emulator seed ${file}: ${first ? `${first.message} (line ${first.line})` : 'invalid YAML'}`,
    );
  }
  return parsed.documents[0]?.value;
}

function str(obj: JsonObject, key: string, where: string, required: boolean): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) throw new Error(`Invalid Kazoo seed: ${where}.${key} is required`);
    return undefined;
  }
  if (typeof v !== 'string')
    throw new Error(`Invalid Kazoo seed: ${where}.${key} must be a string`);
  return v;
}

/** Checks the shape of a Kazoo seed value (accounts, docs, numbers). */
export function parseKazooSeed(value: unknown, source = 'seed'): KazooSeed {
  if (value === undefined || value === null) return {};
  if (!isObject(value))
    throw new Error(`Invalid Kazoo seed in ${source}: expected a mapping with "accounts"`);
  const seed: KazooSeed = {};
  const accounts = value['accounts'];
  if (accounts !== undefined) {
    if (!Array.isArray(accounts))
      throw new Error(`Invalid Kazoo seed in ${source}: "accounts" must be a list`);
    seed.accounts = accounts.map((a, i): SeedAccount => {
      const where = `accounts[${i}]`;
      if (!isObject(a))
        throw new Error(`Invalid Kazoo seed in ${source}: ${where} must be a mapping`);
      const account: SeedAccount = {
        id: str(a, 'id', where, true) ?? '',
        name: str(a, 'name', where, true) ?? '',
        realm: str(a, 'realm', where, true) ?? '',
      };
      for (const key of ['api_key', 'username', 'password', 'parent_id'] as const) {
        const v = str(a, key, where, false);
        if (v !== undefined) account[key] = v;
      }
      return account;
    });
  }
  const docs = value['docs'];
  if (docs !== undefined) {
    if (!isObject(docs))
      throw new Error(`Invalid Kazoo seed in ${source}: "docs" must map account ids to lists`);
    seed.docs = {};
    for (const [accountId, list] of Object.entries(docs)) {
      if (!Array.isArray(list) || !list.every(isObject)) {
        throw new Error(
          `Invalid Kazoo seed in ${source}: docs.${accountId} must be a list of mappings`,
        );
      }
      seed.docs[accountId] = list;
    }
  }
  const numbers = value['numbers'];
  if (numbers !== undefined) {
    if (!isObject(numbers)) {
      throw new Error(
        `Invalid Kazoo seed in ${source}: "numbers" must map numbers to an account id or to {assigned_to, state, used_by, features}`,
      );
    }
    seed.numbers = {};
    for (const [num, entry] of Object.entries(numbers))
      seed.numbers[num] = parseSeedNumber(num, entry, source);
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
  const value = parseSeedText(path, await readFile(path, 'utf8'));
  const inner = isObject(value) && Object.hasOwn(value, 'kazoo') ? value['kazoo'] : value;
  return parseKazooSeed(inner, path);
}
