import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../src/engine/load.ts';

const root = join(import.meta.dirname, '..', 'examples');
const exampleEnv = {
  ACME_TRUNK_PASSWORD: 'acme-pw-1',
  ACME_STANDBY_PASSWORD: 'acme-pw-2',
  GLOBEX_FAX_PASSWORD: 'globex-pw',
  INITECH_TRUNK_PASSWORD: 'initech-pw',
  KAZOO_URL: 'http://127.0.0.1:1/v2',
  KAZOO_API_KEY: 'k'.repeat(64),
  CLOUDFLARE_URL: 'http://127.0.0.1:1/client/v4',
  CLOUDFLARE_API_TOKEN: 't'.repeat(40),
};

describe('examples/', () => {
  it('validates clean: no errors and no warnings', async () => {
    const p = await loadProject({
      configPath: join(root, 'connops.yaml'),
      env: exampleEnv,
      cwd: root,
    });
    expect(p.diagnostics).toEqual([]);
    expect(p.documents.length).toBeGreaterThanOrEqual(5);
    expect(p.files.length).toBeGreaterThanOrEqual(4);
    // Position lookups keep their file's text alive; loading drops them after the checks.
    for (const d of p.documents) expect(Object.keys(d)).not.toContain('locate');
  });
});

/** Every file of examples/invalid, with exactly the diagnostics it must produce. */
const expected: [
  file: string,
  diagnostics: [severity: string, code: string, line: number, col: number][],
][] = [
  ['alias-bomb.yaml', [['error', 'YAML_TOO_LARGE', 2, 33]]],
  ['bad-account.yaml', [['error', 'ACCOUNT', 4, 10]]],
  ['did-not-e164.yaml', [['error', 'DID_FORMAT', 10, 9]]],
  ['duplicate-did.yaml', [['error', 'DUPLICATE_DID', 18, 15]]],
  ['duplicate-identity.yaml', [['error', 'DUPLICATE_IDENTITY', 11, 7]]],
  ['duplicate-key.yaml', [['error', 'DUPLICATE_KEY', 8, 3]]],
  ['empty.yaml', [['warning', 'EMPTY_FILE', 1, 1]]],
  ['ip-without-ip.yaml', [['error', 'IP_AUTH', 8, 7]]],
  [
    'malformed.yaml',
    [
      ['error', 'YAML_SYNTAX', 7, 1],
      ['error', 'YAML_SYNTAX', 7, 1],
    ],
  ],
  [
    'missing-env.yaml',
    [
      ['notice', 'ENV_MISSING', 12, 24],
      ['error', 'DID_FORMAT', 15, 17],
    ],
  ],
  ['not-a-mapping.yaml', [['error', 'DOCUMENT', 2, 1]]],
  ['number-account.yaml', [['error', 'DOCUMENT', 4, 10]]],
  [
    'password-incomplete.yaml',
    [
      ['error', 'PASSWORD_AUTH', 8, 7],
      ['error', 'PASSWORD_AUTH', 9, 7],
    ],
  ],
  ['tabs.yaml', [['error', 'YAML_TAB', 7, 1]]],
  ['unknown-field.yaml', [['warning', 'UNKNOWN_FIELD', 10, 9]]],
  [
    'unknown-kind-and-target.yaml',
    [
      ['error', 'UNKNOWN_KIND', 2, 7],
      ['error', 'UNKNOWN_TARGET', 3, 9],
    ],
  ],
  [
    'wrong-types.yaml',
    [
      ['error', 'SCHEMA', 10, 18],
      ['error', 'SCHEMA', 11, 25],
    ],
  ],
];

describe('examples/invalid/', async () => {
  const dir = join(root, 'invalid');
  // As `validate` sees it: offline, with no variable set.
  const p = await loadProject({
    configPath: join(dir, 'connops.yaml'),
    env: {},
    cwd: dir,
    offline: true,
  });

  it('has one expectation per file, and every file reports something', () => {
    expect([...new Set(p.diagnostics.map((d) => d.file))].sort()).toEqual(
      expected.map(([f]) => f).sort(),
    );
  });

  it.each(expected)('%s', (file, want) => {
    const got = p.diagnostics
      .filter((d) => d.file === file)
      .map((d) => [d.severity, d.code, d.line, d.col]);
    expect(got).toEqual(want);
  });

  it('names the missing variable and never prints a stack', () => {
    const d = p.diagnostics.find((x) => x.code === 'ENV_MISSING');
    expect(d?.message).toContain('CONNOPS_EXAMPLE_UNSET_PASSWORD');
    expect(p.diagnostics.every((x) => !/\n\s+at /.test(x.message))).toBe(true);
  });
});

describe('validate needs no secret and always checks the documents', () => {
  const copy = async (): Promise<string> => {
    const { cp, mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'connops-offline-'));
    await cp(join(root, 'connops.yaml'), join(dir, 'connops.yaml'));
    await cp(join(root, 'connectivity'), join(dir, 'connectivity'), { recursive: true });
    return dir;
  };
  const load = (dir: string, offline = true) =>
    loadProject({ configPath: join(dir, 'connops.yaml'), env: {}, cwd: dir, offline });

  it('in examples/ with no variable set: no error, one notice per variable', async () => {
    const dir = await copy();
    const p = await load(dir);
    expect(p.diagnostics.filter((d) => d.severity !== 'notice')).toEqual([]);
    expect(p.documentCount).toBe(8);
    const names = p.diagnostics.map((d) => /variable (\w+)/.exec(d.message)?.[1]);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('KAZOO_API_KEY');
    expect(names).toContain('ACME_TRUNK_PASSWORD');
  });

  it('without offline (plan, apply), an unset variable in a document is an error', async () => {
    const dir = await copy();
    const p = await load(dir, false);
    expect(p.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code)).toContain(
      'ENV_MISSING',
    );
  });

  it('a broken target does not hide the documents’ problems', async () => {
    const { readFile, writeFile } = await import('node:fs/promises');
    const dir = await copy();
    const config = join(dir, 'connops.yaml');
    await writeFile(
      config,
      (await readFile(config, 'utf8')).replace('type: kazoo', 'type: kazooo'),
    );
    const doc = join(dir, 'connectivity/acme/main.yaml');
    await writeFile(
      doc,
      (await readFile(doc, 'utf8')).replace("'+14155550100': {}", "'4155550100': {}"),
    );
    const p = await load(dir);
    const errors = p.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => `${d.file}:${d.code}`)).toEqual([
      'connectivity/acme/main.yaml:DID_FORMAT',
      'connops.yaml:CONFIG',
    ]);
    expect(errors[1]?.message).toContain('unknown type "kazooo"');
  });

  it('an unset variable is an error where its value’s shape matters', async () => {
    const { readFile, writeFile } = await import('node:fs/promises');
    const dir = await copy();
    const doc = join(dir, 'connectivity/acme/main.yaml');
    const text = await readFile(doc, 'utf8');
    await writeFile(doc, text.replace('inbound_format: e164', 'inbound_format: ${env:FORMAT}'));
    const p = await load(dir);
    const errors = p.diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain('${env:FORMAT}, which is not set here');
  });
});
