/**
 * Parses connops.yaml (targets, document globs, policy) into a Config, with a
 * positioned diagnostic for every mistake. Pure.
 */
import { isObject, type JsonValue } from './json.ts';
import type { Config, Diagnostic, Policy, SourcePos, TargetConfig } from './model.ts';
import { didYouMean } from './suggest.ts';
import { parseYamlFile, type EnvLookup } from './yaml.ts';

export const DEFAULT_POLICY: Policy = { prune: false, max_deletes: 5, max_changes: 100 };
export const DEFAULT_DOCUMENTS = ['connectivity/**/*.yaml'];
/** `targets.*.concurrency` when a target does not set it. */
export const DEFAULT_CONCURRENCY = 8;
const ROOT_KEYS = ['targets', 'documents', 'policy'];
const POLICY_KEYS = ['prune', 'max_deletes', 'max_changes'];
const TARGET_KEYS = [
  'type',
  'url',
  'schema',
  'account_id',
  'auth',
  'concurrency',
  'timeout_ms',
  'ca_file',
  'insecure_http',
  'check_numbers',
  'known_fields',
  'fix_numbers',
];

export interface ParsedConfig {
  readonly config?: Config;
  readonly diagnostics: Diagnostic[];
  /** Values that came from `${env:…}` (credentials): register them for redaction. */
  readonly secrets: string[];
}

/**
 * @param file path of the config (for messages)
 * @param dir directory holding it (document globs are relative to it)
 * @param text contents
 * @param env `${env:…}` lookup
 * @param targetTypes target types the provider registry knows
 */
export function parseConfig(
  file: string,
  dir: string,
  text: string,
  env: EnvLookup,
  targetTypes: readonly string[],
): ParsedConfig {
  // Unset variables come back as notices; below, those in a target's credentials
  // or url stay notices (validate needs no secret; plan and apply refuse to reach
  // such a target) and every other one becomes an error.
  const parsed = parseYamlFile(file, text, env, { missingEnv: 'notice' });
  const diagnostics: Diagnostic[] = [];
  const secrets: string[] = [];
  const doc = parsed.documents[0];
  /** Variables of a target's credentials or url: target name → setting → variable names. */
  const credentialEnv = new Map<string, { setting: string; variable: string }[]>();
  const reported = new Set<string>();
  for (const d of parsed.diagnostics) {
    const m =
      d.code === 'ENV_MISSING' && d.pointer !== undefined
        ? /^\/targets\/([^/]+)\/(url|auth\/[^/]+)$/.exec(d.pointer)
        : null;
    if (!m) {
      const { pointer: _p, ...rest } = d;
      diagnostics.push(d.severity === 'notice' ? { ...rest, severity: 'error' } : rest);
      continue;
    }
    const target = (m[1] as string).replaceAll('~1', '/').replaceAll('~0', '~');
    const setting = (m[2] as string).replace('/', '.');
    for (const variable of doc?.unresolved?.get(d.pointer as string) ?? []) {
      const list = credentialEnv.get(target) ?? [];
      list.push({ setting, variable });
      credentialEnv.set(target, list);
      if (reported.has(variable)) continue; // one notice per variable
      reported.add(variable);
      diagnostics.push({
        severity: 'notice',
        code: 'ENV_MISSING',
        message: `environment variable ${variable} is not set (${setting} of target "${target}"): fine for validate, which needs no secret; plan and apply need it`,
        file: d.file,
        line: d.line,
        col: d.col,
      });
    }
  }
  if (parsed.documents.length > 1) {
    const second = parsed.documents[1];
    diagnostics.push(
      err(
        'CONFIG',
        'the config holds one YAML document; found more than one',
        second?.start ?? pos(file),
      ),
    );
  }
  if (!doc || doc.value === undefined) {
    if (diagnostics.length === 0)
      diagnostics.push(
        err('CONFIG', 'the config is empty: it needs at least `targets:`', pos(file)),
      );
    return { diagnostics, secrets };
  }
  const root = doc.value;
  const loc = doc.locate;
  const here = (p: string): SourcePos => loc.value(p);
  const keyAt = (p: string): SourcePos => loc.key(p);
  if (!isObject(root)) {
    diagnostics.push(
      err(
        'CONFIG',
        'the config must be a mapping with `targets`, `documents` and `policy`',
        doc.start,
      ),
    );
    return { diagnostics, secrets };
  }
  // Credentials are secrets wherever they come from; other `${env:…}` values in
  // the config (a URL, an account id) are not, so they stay readable in output.
  if (isObject(root['targets'])) {
    for (const t of Object.values(root['targets'])) {
      if (isObject(t) && isObject(t['auth']))
        for (const v of Object.values(t['auth']))
          if (typeof v === 'string' && v.length >= 4) secrets.push(v);
    }
  }
  for (const key of Object.keys(root)) {
    if (!ROOT_KEYS.includes(key)) {
      diagnostics.push(
        warn(
          'CONFIG_UNKNOWN_KEY',
          `unknown config key "${key}"${didYouMean(key, ROOT_KEYS)} (known: ${ROOT_KEYS.join(', ')})`,
          keyAt(`/${key}`),
        ),
      );
    }
  }

  const targets: Record<string, TargetConfig> = {};
  const rawTargets = root['targets'];
  if (!isObject(rawTargets) || Object.keys(rawTargets).length === 0) {
    diagnostics.push(
      err(
        'CONFIG',
        '`targets` must be a mapping of target names to settings, with at least one target',
        rawTargets === undefined ? doc.start : here('/targets'),
      ),
    );
  } else {
    for (const [name, raw] of Object.entries(rawTargets)) {
      const base = `/targets/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      const t = parseTarget(name, raw, base, here, keyAt, targetTypes, diagnostics, {
        unset: credentialEnv.get(name) ?? [],
      });
      if (t) targets[name] = t;
    }
  }

  let documents = DEFAULT_DOCUMENTS;
  const rawDocs = root['documents'];
  if (rawDocs !== undefined) {
    if (typeof rawDocs === 'string') documents = [rawDocs];
    else if (
      Array.isArray(rawDocs) &&
      rawDocs.length > 0 &&
      rawDocs.every((g) => typeof g === 'string' && g !== '')
    )
      documents = rawDocs as string[];
    else
      diagnostics.push(
        err(
          'CONFIG',
          '`documents` must be a list of glob patterns, e.g. ["connectivity/**/*.yaml"]',
          here('/documents'),
        ),
      );
  }

  const policy = parsePolicy(root['policy'], here, keyAt, diagnostics);
  // A config with errors still comes back (every target that could be read), so
  // the documents are checked too: one run shows every problem. Callers that
  // reach a server stop on any error first.
  return { config: { file, dir, targets, documents, policy }, diagnostics, secrets };
}

function parseTarget(
  name: string,
  raw: JsonValue,
  base: string,
  here: (p: string) => SourcePos,
  keyAt: (p: string) => SourcePos,
  targetTypes: readonly string[],
  diagnostics: Diagnostic[],
  env: {
    /** Settings whose variable is unset (reported once already, as a notice). */
    readonly unset: readonly { setting: string; variable: string }[];
  },
): TargetConfig | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    diagnostics.push(
      err('CONFIG', `target name "${name}" must be letters, digits, ".", "_" or "-"`, keyAt(base)),
    );
  }
  if (!isObject(raw)) {
    diagnostics.push(
      err(
        'CONFIG',
        `target "${name}" must be a mapping with at least \`type\` and \`auth\``,
        here(base),
      ),
    );
    return undefined;
  }
  const unset = [...env.unset];
  const isUnset = (setting: string): boolean => unset.some((u) => u.setting === setting);
  for (const key of Object.keys(raw)) {
    if (!TARGET_KEYS.includes(key))
      diagnostics.push(
        warn(
          'CONFIG_UNKNOWN_KEY',
          `unknown setting "${key}" in target "${name}"${didYouMean(key, TARGET_KEYS)} (known: ${TARGET_KEYS.join(', ')})`,
          keyAt(`${base}/${key}`),
        ),
      );
  }
  const type = raw['type'];
  let knownType = typeof type === 'string' && targetTypes.includes(type);
  if (type === undefined) {
    diagnostics.push(
      err(
        'CONFIG',
        `target "${name}" needs \`type\`: one of ${targetTypes.join(', ')}`,
        keyAt(base),
      ),
    );
  } else if (!knownType) {
    diagnostics.push(
      err(
        'CONFIG',
        typeof type === 'string'
          ? `unknown type "${type}" for target "${name}"${didYouMean(type, targetTypes)}; known types: ${targetTypes.join(', ')}`
          : `\`type\` of target "${name}" must be a string: one of ${targetTypes.join(', ')}`,
        here(`${base}/type`),
      ),
    );
    knownType = false;
  }
  const str = (key: string): string | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    if (typeof v === 'string' || (key === 'schema' && typeof v === 'number')) return String(v);
    diagnostics.push(
      err('CONFIG', `\`${key}\` of target "${name}" must be a string`, here(`${base}/${key}`)),
    );
    return undefined;
  };
  // An empty variable counts as unset (core/env-subst.ts), so it arrives here as unset.
  const url = isUnset('url') ? undefined : str('url');
  if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url)) {
    const example =
      type === 'cloudflare'
        ? 'https://api.cloudflare.com/client/v4'
        : 'https://kazoo.example.net:8000/v2';
    diagnostics.push(
      err(
        'CONFIG',
        `\`url\` of target "${name}" must be an http(s) URL, e.g. ${example}`,
        here(`${base}/url`),
      ),
    );
  }
  const insecure = raw['insecure_http'];
  if (insecure !== undefined && typeof insecure !== 'boolean') {
    diagnostics.push(
      err(
        'CONFIG',
        `\`insecure_http\` of target "${name}" must be true or false`,
        here(`${base}/insecure_http`),
      ),
    );
  }
  const checkNumbers = raw['check_numbers'];
  if (checkNumbers !== undefined && typeof checkNumbers !== 'boolean' && checkNumbers !== 'all') {
    diagnostics.push(
      err(
        'CONFIG',
        `\`check_numbers\` of target "${name}" must be true (the DIDs a plan routes, the default), all (every DID) or false`,
        here(`${base}/check_numbers`),
      ),
    );
  }
  const fixNumbers = raw['fix_numbers'];
  if (fixNumbers !== undefined && typeof fixNumbers !== 'boolean') {
    diagnostics.push(
      err(
        'CONFIG',
        `\`fix_numbers\` of target "${name}" must be true or false (default true: after an apply the number manager's used_by is recomputed in every account whose numbers it moved)`,
        here(`${base}/fix_numbers`),
      ),
    );
  }
  const int = (key: string, def: number, min: number, max: number): number => {
    const v = raw[key];
    if (v === undefined) return def;
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    diagnostics.push(
      err(
        'CONFIG',
        `\`${key}\` of target "${name}" must be a whole number from ${min} to ${max}`,
        here(`${base}/${key}`),
      ),
    );
    return def;
  };
  const auth: Record<string, string> = {};
  const rawAuth = raw['auth'];
  if (rawAuth === undefined) {
    // Allowed: validate works without credentials; the online commands report it.
  } else if (!isObject(rawAuth)) {
    diagnostics.push(
      err(
        'CONFIG',
        `\`auth\` of target "${name}" must be a mapping, e.g. { api_key: "\${env:KAZOO_API_KEY}" }`,
        here(`${base}/auth`),
      ),
    );
  } else {
    for (const [k, v] of Object.entries(rawAuth)) {
      if (isUnset(`auth.${k}`)) continue;
      if (typeof v === 'string') auth[k] = v;
      else {
        diagnostics.push(
          err(
            'CONFIG',
            `auth setting "${k}" of target "${name}" must be a string`,
            here(`${base}/auth/${k}`),
          ),
        );
      }
    }
  }
  // INVARIANTS.md 16: credentials go only over TLS to a host that is not this machine.
  // Plain http carries the api key, Kazoo's md5 credentials and every trunk password
  // in PUT/PATCH bodies in clear text.
  if (url !== undefined && Object.keys(auth).length > 0 && plainHttpHost(url) !== undefined) {
    const host = plainHttpHost(url) as string;
    if (insecure === true)
      diagnostics.push(
        warn(
          'INSECURE_HTTP',
          `target "${name}" sends its credentials to ${host} over plain http (insecure_http: true); anyone on the network path can read them. Use an https:// URL`,
          here(`${base}/url`),
        ),
      );
    else {
      diagnostics.push(
        err(
          'INSECURE_HTTP',
          `\`url\` of target "${name}" is plain http to ${host}, which would send its credentials in clear text; use https:// (or, only for a trusted network, set \`insecure_http: true\` on the target)`,
          here(`${base}/url`),
        ),
      );
    }
  }
  let known_fields: string[] | undefined;
  const rawKnown = raw['known_fields'];
  if (rawKnown !== undefined) {
    if (
      Array.isArray(rawKnown) &&
      rawKnown.every((p) => typeof p === 'string' && p.startsWith('/'))
    )
      known_fields = rawKnown as string[];
    else
      diagnostics.push(
        err(
          'CONFIG',
          `\`known_fields\` of target "${name}" must be a list of JSON Pointers into a spec, \`*\` for any one key or index, e.g. [/servers/*/options/x_routing_hint]`,
          here(`${base}/known_fields`),
        ),
      );
  }
  const schema = str('schema');
  const account_id = str('account_id');
  const ca_file = str('ca_file');
  const positions: Record<string, SourcePos> = {};
  for (const key of Object.keys(raw)) positions[key] = here(`${base}/${key}`);
  const target: TargetConfig = {
    name,
    // An unknown type is reported above; the target stays, typeless, so its
    // documents are still checked (by their kind's provider).
    type: knownType ? (type as string) : '',
    auth,
    concurrency: int('concurrency', DEFAULT_CONCURRENCY, 1, 256),
    timeout_ms: int('timeout_ms', 30_000, 100, 600_000),
    source: keyAt(base),
    ...(url !== undefined ? { url: url.replace(/\/+$/, '') } : {}),
    ...(schema !== undefined ? { schema } : {}),
    ...(account_id !== undefined ? { account_id } : {}),
    ...(ca_file !== undefined ? { ca_file } : {}),
    positions,
    ...(known_fields ? { known_fields } : {}),
    ...(unset.length > 0 ? { unset } : {}),
    ...(checkNumbers === false || checkNumbers === 'all' ? { check_numbers: checkNumbers } : {}),
    ...(fixNumbers === false ? { fix_numbers: false } : {}),
  };
  return target;
}

function parsePolicy(
  raw: JsonValue | undefined,
  here: (p: string) => SourcePos,
  keyAt: (p: string) => SourcePos,
  diagnostics: Diagnostic[],
): Policy {
  if (raw === undefined) return DEFAULT_POLICY;
  if (!isObject(raw)) {
    diagnostics.push(
      err(
        'CONFIG',
        '`policy` must be a mapping, e.g. { prune: false, max_deletes: 5, max_changes: 100 }',
        here('/policy'),
      ),
    );
    return DEFAULT_POLICY;
  }
  const out: { prune: boolean; max_deletes: number; max_changes: number } = { ...DEFAULT_POLICY };
  for (const [key, v] of Object.entries(raw)) {
    if (key === 'prune') {
      if (typeof v === 'boolean') out.prune = v;
      else
        diagnostics.push(
          err('CONFIG', '`policy.prune` must be true or false', here('/policy/prune')),
        );
    } else if (key === 'max_deletes' || key === 'max_changes') {
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) out[key] = v;
      else
        diagnostics.push(
          err('CONFIG', `\`policy.${key}\` must be a whole number ≥ 0`, here(`/policy/${key}`)),
        );
    } else {
      diagnostics.push(
        warn(
          'CONFIG_UNKNOWN_KEY',
          `unknown policy "${key}"${didYouMean(key, POLICY_KEYS)} (known: ${POLICY_KEYS.join(', ')})`,
          keyAt(`/policy/${key}`),
        ),
      );
    }
  }
  return out;
}

/**
 * The host of a plain `http://` URL that is not loopback (127.0.0.0/8, ::1,
 * localhost), or undefined. WHATWG URL parsing normalises the host first, so
 * `127.1`, `0x7f.0.0.1` and `LOCALHOST` count as loopback and `127.0.0.1.example.com`
 * does not.
 */
export function plainHttpHost(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined; // reported as a malformed url already
  }
  if (parsed.protocol !== 'http:') return undefined;
  const host = parsed.hostname;
  if (host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host))
    return undefined;
  return host;
}

function pos(file: string): SourcePos {
  return { file, line: 1, col: 1 };
}
function err(code: string, message: string, at: SourcePos): Diagnostic {
  return { severity: 'error', code, message, ...at };
}
function warn(code: string, message: string, at: SourcePos): Diagnostic {
  return { severity: 'warning', code, message, ...at };
}
