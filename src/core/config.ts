/**
 * Parses connops.yaml (targets, document globs, policy) into a Config, with a
 * positioned diagnostic for every mistake. Pure.
 */
import { isObject, type JsonValue } from './json.ts';
import type { Config, Diagnostic, Policy, SourcePos, TargetConfig } from './model.ts';
import { parseYamlFile, type EnvLookup } from './yaml.ts';

export const DEFAULT_POLICY: Policy = { prune: false, max_deletes: 5, max_changes: 100 };
export const DEFAULT_DOCUMENTS = ['connectivity/**/*.yaml'];
/** `targets.*.concurrency` when a target does not set it. */
export const DEFAULT_CONCURRENCY = 8;
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
  const parsed = parseYamlFile(file, text, env);
  const diagnostics = [...parsed.diagnostics];
  const secrets: string[] = [];
  const doc = parsed.documents[0];
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
    if (!['targets', 'documents', 'policy'].includes(key)) {
      diagnostics.push(
        warn(
          'CONFIG_UNKNOWN_KEY',
          `unknown config key "${key}" (expected targets, documents, policy)`,
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
      const t = parseTarget(name, raw, base, here, keyAt, targetTypes, diagnostics);
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
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics, secrets };
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
  let ok = true;
  for (const key of Object.keys(raw)) {
    if (!TARGET_KEYS.includes(key))
      diagnostics.push(
        warn(
          'CONFIG_UNKNOWN_KEY',
          `unknown setting "${key}" in target "${name}" (known: ${TARGET_KEYS.join(', ')})`,
          keyAt(`${base}/${key}`),
        ),
      );
  }
  const type = raw['type'];
  if (typeof type !== 'string' || !targetTypes.includes(type)) {
    diagnostics.push(
      err(
        'CONFIG',
        `target "${name}" needs \`type\`: one of ${targetTypes.join(', ')}`,
        raw['type'] === undefined ? keyAt(base) : here(`${base}/type`),
      ),
    );
    ok = false;
  }
  const str = (key: string): string | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    if (typeof v === 'string' || (key === 'schema' && typeof v === 'number')) return String(v);
    diagnostics.push(
      err('CONFIG', `\`${key}\` of target "${name}" must be a string`, here(`${base}/${key}`)),
    );
    ok = false;
    return undefined;
  };
  const url = str('url');
  if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url)) {
    diagnostics.push(
      err(
        'CONFIG',
        `\`url\` of target "${name}" must be an http(s) URL, e.g. https://kazoo.example.net:8000/v2`,
        here(`${base}/url`),
      ),
    );
    ok = false;
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
    ok = false;
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
    ok = false;
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
    ok = false;
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
        `\`auth\` of target "${name}" must be a mapping, e.g. { api_key: \${env:KAZOO_API_KEY} }`,
        here(`${base}/auth`),
      ),
    );
    ok = false;
  } else {
    for (const [k, v] of Object.entries(rawAuth)) {
      if (typeof v === 'string') auth[k] = v;
      else {
        diagnostics.push(
          err(
            'CONFIG',
            `auth setting "${k}" of target "${name}" must be a string`,
            here(`${base}/auth/${k}`),
          ),
        );
        ok = false;
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
      ok = false;
    }
  }
  const schema = str('schema');
  const account_id = str('account_id');
  const ca_file = str('ca_file');
  const target: TargetConfig = {
    name,
    type: typeof type === 'string' ? type : '',
    auth,
    concurrency: int('concurrency', DEFAULT_CONCURRENCY, 1, 256),
    timeout_ms: int('timeout_ms', 30_000, 100, 600_000),
    source: keyAt(base),
    ...(url !== undefined ? { url: url.replace(/\/+$/, '') } : {}),
    ...(schema !== undefined ? { schema } : {}),
    ...(account_id !== undefined ? { account_id } : {}),
    ...(ca_file !== undefined ? { ca_file } : {}),
    ...(fixNumbers === false ? { fix_numbers: false } : {}),
  };
  return ok ? target : undefined;
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
          `unknown policy "${key}" (known: prune, max_deletes, max_changes)`,
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
