/**
 * `connops import`: live objects → YAML → plan shows zero changes, for a
 * generated estate of hundreds of Kazoo accounts and for Cloudflare.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.ts';
import { memoryIO } from '../../src/cli/io.ts';
import type { JsonObject } from '../../src/core/json.ts';
import {
  DEMO_CLOUDFLARE,
  startCloudflareEmulator,
  type CloudflareEmulator,
} from '../../src/emulator/cloudflare/server.ts';
import {
  DEMO_KAZOO,
  startKazooEmulator,
  type KazooEmulator,
  type SeedAccount,
} from '../../src/emulator/kazoo/server.ts';
import { assignNumbers } from '../../src/emulator/examples.ts';

const ACCOUNT_COUNT = 300;
const hex = (n: number, salt: string): string =>
  (salt + n.toString(16).padStart(8, '0')).padEnd(32, '0').slice(0, 32);

/** Deterministic generated estate: 1–3 docs per account, passwords included. */
function generate(): {
  accounts: SeedAccount[];
  docs: Record<string, JsonObject[]>;
  passwords: Map<string, string>;
} {
  const accounts: SeedAccount[] = [];
  const docs: Record<string, JsonObject[]> = {};
  const passwords = new Map<string, string>();
  for (let a = 0; a < ACCOUNT_COUNT; a++) {
    const id = hex(a, 'ab');
    accounts.push({
      id,
      name: `acct${a}`,
      realm: `acct${a}.sip.test`,
      parent_id: DEMO_KAZOO.accountId,
    });
    const list: JsonObject[] = [];
    for (let d = 0; d < 1 + (a % 3); d++) {
      const name = `trunk-${a}-${d}`;
      const servers: JsonObject[] = [];
      for (let s = 0; s < 1 + ((a + d) % 2); s++) {
        const password = `pw$${a}.${d}.${s}-Secret`;
        passwords.set(`${id}/${name}/${s}`, password);
        const did = `+1${(2000000000 + a * 100 + d * 10 + s).toString()}`;
        servers.push({
          name: `pbx-${s}`,
          auth: { auth_method: 'password', auth_user: `u${a}x${d}x${s}`, auth_password: password },
          DIDs: { [did]: s === 0 ? {} : { caller_id: { cid_name: 'Sales', cid_number: did } } },
          options: { inbound_format: 'e164', enabled: true, ...(d === 1 ? { delay: 0 } : {}) },
        });
      }
      list.push({
        _id: hex(a * 10 + d, 'cd'),
        name,
        account: {
          auth_realm: `acct${a}.sip.test`,
          ...(d === 0 ? { caller_id: { cid_name: `Acct $${a}`, cid_number: '+14155550100' } } : {}),
          ...(a % 5 === 0 ? { trunks: 4 } : {}),
        },
        servers,
        pvt_type: 'sys_info',
      });
    }
    docs[id] = list;
  }
  return { accounts, docs, passwords };
}

const CONFIG = `targets:
  kz:
    type: kazoo
    url: \${env:KAZOO_URL}
    auth:
      api_key: \${env:KAZOO_API_KEY}
    concurrency: 16
  cf:
    type: cloudflare
    url: \${env:CLOUDFLARE_URL}
    account_id: ${DEMO_CLOUDFLARE.accountId}
    auth:
      token: \${env:CLOUDFLARE_API_TOKEN}
documents: ['connectivity/**/*.yaml']
`;
/** Cloudflare imports go to their own project, so its plan does not need the Kazoo secrets. */
const CF_CONFIG = CONFIG.replace('connectivity/**/*.yaml', 'cloudflare/**/*.yaml');

let kazoo: KazooEmulator;
let cloudflare: CloudflareEmulator;
let dir: string;
let estate: ReturnType<typeof generate>;
let env: Record<string, string>;

beforeAll(async () => {
  estate = generate();
  kazoo = await startKazooEmulator({
    accounts: [
      {
        id: DEMO_KAZOO.accountId,
        name: DEMO_KAZOO.accountName,
        realm: DEMO_KAZOO.realm,
        api_key: DEMO_KAZOO.apiKey,
      },
      ...estate.accounts,
    ],
    seed: { docs: estate.docs },
  });
  // The estate's numbers belong to their accounts, as on a real server.
  assignNumbers(
    kazoo,
    Object.entries(estate.docs).flatMap(([account, docs]) =>
      docs.map((body) => ({ account, body })),
    ),
  );
  cloudflare = await startCloudflareEmulator({
    seed: {
      services: [
        {
          name: 'crm',
          type: 'http',
          host: {
            hostname: 'crm.internal.example',
            resolver_network: {
              tunnel_id: '0c2ef2a4-7b1d-4f3e-9a52-6d8b1e0f4c11',
              resolver_ips: ['10.20.0.53'],
            },
          },
          https_port: 8443,
        },
        {
          name: 'db',
          type: 'tcp',
          host: {
            ipv4: '10.20.4.17',
            network: { tunnel_id: '0c2ef2a4-7b1d-4f3e-9a52-6d8b1e0f4c11' },
          },
          tcp_port: 5432,
          app_protocol: 'postgresql',
        },
      ],
    },
  });
  dir = await mkdtemp(join(tmpdir(), 'connops-import-'));
  await writeFile(join(dir, 'connops.yaml'), CONFIG);
  await writeFile(join(dir, 'cf.yaml'), CF_CONFIG);
  env = {
    KAZOO_URL: kazoo.url,
    KAZOO_API_KEY: DEMO_KAZOO.apiKey,
    CLOUDFLARE_URL: cloudflare.url,
    CLOUDFLARE_API_TOKEN: DEMO_CLOUDFLARE.token,
    NO_COLOR: '1',
  };
});
afterAll(async () => {
  await Promise.all([kazoo?.close(), cloudflare?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function cli(argv: string[], extraEnv: Record<string, string> = {}) {
  const io = memoryIO({ env: { ...env, ...extraEnv }, cwd: dir });
  const code = await run(argv, io);
  return { code, out: io.out, err: io.err };
}

/** Parses the printed variable list: NAME  # "doc" /servers/I/auth/auth_password (account A). */
function variablesOf(out: string): { name: string; doc: string; index: string; account: string }[] {
  return [
    ...out.matchAll(
      /^ {2}(\S+) +# "([^"]+)" \/servers\/(\d+)\/auth\/auth_password \(account (\w+)\)$/gm,
    ),
  ].map((m) => ({
    name: m[1] as string,
    doc: m[2] as string,
    index: m[3] as string,
    account: m[4] as string,
  }));
}

describe('import round trip', () => {
  it(`Kazoo: ${ACCOUNT_COUNT} accounts import, then plan shows zero changes`, async () => {
    const accountFlags = estate.accounts.flatMap((a) => ['--account', a.id]);
    const started = performance.now();
    const imported = await cli(['import', '--target', 'kz', ...accountFlags]);
    const importMs = performance.now() - started;
    expect(imported.code, imported.err).toBe(0);
    const docCount = Object.values(estate.docs).reduce((n, l) => n + l.length, 0);
    expect(imported.out).toContain(`Imported ${docCount} documents into ${ACCOUNT_COUNT} files.`);
    // No secret value is printed or written.
    const files = await readdir(join(dir, 'connectivity', 'kz'));
    expect(files).toHaveLength(ACCOUNT_COUNT);
    const sample = await readFile(join(dir, 'connectivity', 'kz', files[0] as string), 'utf8');
    for (const pw of estate.passwords.values()) {
      expect(imported.out).not.toContain(pw);
      expect(sample).not.toContain(pw);
    }
    expect(sample).toMatch(/^# id: [0-9a-f]{32}$/m);
    expect(sample).toContain("'+1"); // DID keys stay strings
    expect(sample).toContain('${env:CONNOPS_AB'); // placeholders
    expect(sample).not.toContain('auth_realm'); // forced by the server: dropped
    expect(sample).not.toContain('pvt_');

    const vars = variablesOf(imported.out);
    expect(vars).toHaveLength(estate.passwords.size);
    const secretEnv: Record<string, string> = {};
    for (const v of vars) {
      const pw = estate.passwords.get(`${v.account}/${v.doc}/${v.index}`);
      expect(pw, `${v.account}/${v.doc}/${v.index}`).toBeDefined();
      secretEnv[v.name] = pw as string;
    }
    expect(new Set(vars.map((v) => v.name)).size).toBe(vars.length);

    const started2 = performance.now();
    const plan = await cli(['plan', '--detailed-exitcode'], secretEnv);
    const planMs = performance.now() - started2;
    expect(plan.code, plan.out + plan.err).toBe(0);
    expect(plan.out).toContain(`No changes: ${docCount} documents up to date.`);
    console.log(
      `import round trip: ${ACCOUNT_COUNT} accounts, ${docCount} documents, ${vars.length} secrets; import ${importMs.toFixed(0)} ms, plan ${planMs.toFixed(0)} ms`,
    );

    // A second import skips (and lists) what the repo now declares, and writes nothing.
    const first = estate.accounts[0]?.id as string;
    const file = join(dir, 'connectivity', 'kz', `${first}.yaml`);
    const before = await readFile(file, 'utf8');
    const again = await cli(['import', '--target', 'kz', '--account', first]);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/Skipped \d+ objects? the repo already declares:/);
    expect(again.out).toContain(
      `"trunk-0-0" (id ${hex(0, 'cd')}, account ${first}) at connectivity/kz/${first}.yaml:`,
    );
    expect(again.out).toContain('Imported 0 documents into 0 files.');
    expect(await readFile(file, 'utf8')).toBe(before);
    // A new live object is imported; the declared ones still are not.
    await writeFile(file, '');
    const refill = await cli(['import', '--target', 'kz', '--account', first]);
    expect(refill.code, refill.err).toBe(1);
    expect(refill.err).toContain('refusing to overwrite');
    const forced = await cli(['import', '--target', 'kz', '--force', '--account', first]);
    expect(forced.code, forced.err).toBe(0);
  });

  it('Cloudflare: the account comes from the target; plan shows zero changes', async () => {
    const imported = await cli([
      'import',
      '-c',
      'cf.yaml',
      '--target',
      'cf',
      '--out',
      'cloudflare',
    ]);
    expect(imported.code, imported.err).toBe(0);
    const text = await readFile(
      join(dir, 'cloudflare', 'cf', `${DEMO_CLOUDFLARE.accountId}.yaml`),
      'utf8',
    );
    expect(text).not.toMatch(/^account:/m);
    expect(text.indexOf('name: crm')).toBeLessThan(text.indexOf('name: db'));
    const plan = await cli(['plan', '-c', 'cf.yaml', '--detailed-exitcode']);
    expect(plan.code, plan.out + plan.err).toBe(0);
    expect(plan.out).toContain('No changes: 2 documents up to date.');
  });
});

describe('import of objects the checks reject', () => {
  const account = hex(9999, 'ef');
  beforeAll(() => {
    kazoo.seed({
      accounts: [
        { id: account, name: 'odd', realm: 'odd.sip.test', parent_id: DEMO_KAZOO.accountId },
      ],
      docs: {
        [account]: [
          {
            _id: hex(1, 'ee'),
            name: 'no-plus',
            servers: [{ DIDs: { '14155550100': {} }, options: {} }],
          },
          { _id: hex(2, 'ee'), servers: [] },
        ],
      },
    });
  });

  it('reports them and exits 3 without --lenient; writes them with a comment with it', async () => {
    const strict = await cli(['import', '--target', 'kz', '--account', account, '--out', 'odd']);
    expect(strict.code).toBe(3);
    expect(strict.err).toContain('"no-plus"');
    expect(strict.err).toContain('Pass --lenient');
    await expect(readdir(join(dir, 'odd'))).rejects.toThrow();

    const lenient = await cli([
      'import',
      '--target',
      'kz',
      '--account',
      account,
      '--out',
      'odd',
      '--lenient',
    ]);
    expect(lenient.code, lenient.err).toBe(0);
    expect(lenient.err).toContain('has no name; adopted by its id');
    const text = await readFile(join(dir, 'odd', 'kz', `${account}.yaml`), 'utf8');
    expect(text).toMatch(/^# connops: \/servers\/0\/DIDs/m);
    // Adopted by its id alone: no name is written to it.
    expect(text).not.toContain('imported-ee000000');
    expect(text).toContain(`id: ${hex(2, 'ee')}`);
  });

  it('needs --account for Kazoo and one --target', async () => {
    expect((await cli(['import', '--target', 'kz'])).code).toBe(64);
    expect((await cli(['import'])).code).toBe(64);
  });
});
