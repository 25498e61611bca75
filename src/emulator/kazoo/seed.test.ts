import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryIO } from '../../cli/io.ts';
import { run } from '../../cli/main.ts';
import { startEmulators } from '../index.ts';
import { loadSeedFile, parseKazooSeed, SeedError } from './seed.ts';
import { startKazooEmulator } from './server.ts';
import { newId } from './store.ts';
import { apiAuth, call } from './test-client.ts';

const ACCOUNT = '0123456789abcdef0123456789abcdef';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'connops-seed-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('loadSeedFile', () => {
  it('reads YAML, keeping the "+" of unquoted DID keys', async () => {
    const file = join(dir, 'seed.yaml');
    await writeFile(
      file,
      [
        'accounts:',
        `  - id: "${ACCOUNT}"`,
        '    name: acme',
        '    realm: acme.sip.local',
        `    api_key: "${'k'.repeat(64)}"`,
        'numbers:',
        `  "+14155550100": "${ACCOUNT}"`,
        'docs:',
        `  "${ACCOUNT}":`,
        '    - _id: trunk1',
        '      name: seeded',
        '      servers:',
        '        - auth: {auth_method: IP}',
        '          DIDs:',
        '            +14155550100: {}',
        '',
      ].join('\n'),
    );
    const seed = await loadSeedFile(file);
    expect(seed.accounts?.[0]).toMatchObject({
      id: ACCOUNT,
      name: 'acme',
      api_key: 'k'.repeat(64),
    });
    expect(seed.docs?.[ACCOUNT]?.[0]).toMatchObject({
      servers: [{ DIDs: { '+14155550100': {} } }],
    });

    const emu = await startKazooEmulator({ seed });
    try {
      const token = await apiAuth(emu.url, 'k'.repeat(64));
      const r = await call(emu.url, 'GET', `/accounts/${ACCOUNT}/connectivity/trunk1`, { token });
      expect(r.status).toBe(200);
      expect(r.json.data).toMatchObject({ id: 'trunk1', name: 'seeded' });
      expect(r.json.revision).toMatch(/^1-[0-9a-f]{32}$/);
    } finally {
      await emu.close();
    }
  });

  it('reads JSON and a {kazoo: …} wrapper', async () => {
    const file = join(dir, 'seed.json');
    await writeFile(
      file,
      JSON.stringify({ kazoo: { accounts: [{ id: ACCOUNT, name: 'a', realm: 'r.local' }] } }),
    );
    expect((await loadSeedFile(file)).accounts).toEqual([
      { id: ACCOUNT, name: 'a', realm: 'r.local' },
    ]);
  });

  it.each([
    [{ accounts: 'x' }, /"accounts" must be a list/],
    [{ accounts: [{ id: ACCOUNT, name: 'a' }] }, /accounts\[0\]\.realm is required/],
    [{ docs: { [ACCOUNT]: 'x' } }, /docs for account/],
    [[1], /expected a mapping/],
  ])('rejects %j', (value, message) => {
    expect(() => parseKazooSeed(value)).toThrow(message);
  });
});

describe('numbers in a seed (§12)', () => {
  it('reads the shorthand (account id) and the full form, and serves them on phone_numbers', async () => {
    const file = join(dir, 'numbers.yaml');
    await writeFile(
      file,
      [
        'accounts:',
        `  - {id: "${ACCOUNT}", name: acme, realm: acme.sip.local, api_key: "${'k'.repeat(64)}"}`,
        'numbers:',
        `  +14155550100: "${ACCOUNT}"`,
        '  +14155550101:',
        `    assigned_to: "${ACCOUNT}"`,
        '    state: reserved',
        '    used_by: trunkstore',
        '  +14155550102: {state: available}',
        '',
      ].join('\n'),
    );
    const seed = await loadSeedFile(file);
    expect(seed.numbers).toEqual({
      '+14155550100': ACCOUNT,
      '+14155550101': { assigned_to: ACCOUNT, state: 'reserved', used_by: 'trunkstore' },
      '+14155550102': { state: 'available' },
    });
    const emu = await startKazooEmulator({ seed });
    try {
      const token = await apiAuth(emu.url, 'k'.repeat(64));
      const r = await call(emu.url, 'GET', `/accounts/${ACCOUNT}/phone_numbers`, { token });
      expect(r.json.data.numbers).toEqual({
        '+14155550100': expect.objectContaining({ assigned_to: ACCOUNT, state: 'in_service' }),
        '+14155550101': expect.objectContaining({ state: 'reserved', used_by: 'trunkstore' }),
      });
      expect(r.json.data.numbers['+14155550100']).not.toHaveProperty('used_by');
      expect(emu.number('+14155550102')).toMatchObject({ state: 'available' });
    } finally {
      await emu.close();
    }
  });

  it.each([
    [{ numbers: ['x'] }, /"numbers" must map numbers/],
    [
      { numbers: { '+14155550100': 5 } },
      /numbers\.\+14155550100 must be an account id or a mapping/,
    ],
    [
      { numbers: { '+14155550100': { state: 'live' } } },
      /numbers\.\+14155550100\.state must be one of aging, available/,
    ],
    [{ numbers: { '+14155550100': { owner: ACCOUNT } } }, /unknown key "owner"/],
    [{ numbers: { '+14155550100': { features: 'cnam' } } }, /\.features must be a list/],
    [{ numbers: { '+14155550100': { used_by: 1 } } }, /\.used_by must be a string/],
    [{ numbers: { '12': ACCOUNT } }, /numbers\.12 is not a phone number/],
  ])('rejects %j', (value, message) => {
    expect(() => parseKazooSeed(value, 'seed.yaml')).toThrow(message);
  });
});

describe('newId', () => {
  it('gives distinct 32-hex ids across refills of its random pool', () => {
    const ids = Array.from({ length: 1000 }, () => newId()); // about four pools of 256
    expect(ids.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('seed mistakes are positioned user errors', () => {
  const account = (extra: string[]) => [
    'accounts:',
    `  - id: "${ACCOUNT}"`,
    '    name: acme',
    '    realm: acme.sip.local',
    ...extra,
    '',
  ];
  it.each([
    [
      'an account that is not a mapping',
      ['accounts:', '  - acme', ''],
      '2:5',
      'accounts[0] must be a mapping',
    ],
    [
      'parent: for parent_id',
      account([`    parent: "${ACCOUNT}"`]),
      '5:5',
      'unknown account key "parent" (did you mean "parent_id"?)',
    ],
    [
      'a 63-character api key',
      account([`    api_key: "${'k'.repeat(63)}"`]),
      '5:14',
      'api_key must be exactly 64 characters (it has 63)',
    ],
    [
      'an unknown parent',
      account([`    parent_id: "${'f'.repeat(32)}"`]),
      '5:16',
      'is not an account of this seed',
    ],
    [
      'a bad account id',
      ['accounts:', '  - id: acme', '    name: a', '    realm: r', ''],
      '2:9',
      'must be 32 lowercase hex',
    ],
    [
      'docs for an account not seeded',
      ['docs:', `  "${ACCOUNT}": []`, ''],
      '2:3',
      'which "accounts" does not seed',
    ],
    [
      'a top-level typo',
      ['acounts: []', ''],
      '1:1',
      'unknown key "acounts" (did you mean "accounts"?)',
    ],
    ['a YAML syntax error', ['accounts: [', ''], '2:1', 'cannot read the emulator seed'],
  ])('%s', async (_name, lines, at, message) => {
    const file = join(dir, `bad-${at.replace(':', '-')}-${lines.length}.yaml`);
    await writeFile(file, lines.join('\n'));
    const err = await loadSeedFile(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SeedError);
    expect((err as Error).message).toContain(`${file}:${at}: `);
    expect((err as Error).message).toContain(message);
  });

  it('reaches the CLI as a usage error (exit 64), never an internal error', async () => {
    const file = join(dir, 'cli-bad.yaml');
    await writeFile(file, 'accounts:\n  - acme\n');
    const io = memoryIO({ cwd: dir });
    expect(await run(['emulator', '--seed', file], io)).toBe(64);
    expect(io.err).toContain(`${file}:2:5: invalid emulator seed: accounts[0] must be a mapping`);
    expect(io.err).not.toContain('internal error');
  });

  it.each([
    [['--latency', 'abc'], 'Invalid --latency "abc"'],
    [['--api-key', 'short'], '--api-key must be exactly 64 characters'],
    [['--account-id', 'acme'], '--account-id must be a Kazoo account id'],
    [['--kazoo-port', 'x'], '--kazoo-port must be a port number'],
  ])('emulator %j is a usage error', async (argv, message) => {
    const io = memoryIO({ cwd: dir });
    expect(await run(['emulator', ...argv], io)).toBe(64);
    expect(io.err).toContain(message);
  });
});

describe('--api-key and --account-id with --seed', () => {
  const KEY = 'x'.repeat(64);
  const seedFile = async (): Promise<string> => {
    const file = join(dir, 'creds.yaml');
    await writeFile(
      file,
      ['accounts:', `  - id: "${ACCOUNT}"`, '    name: acme', '    realm: acme.sip.local', ''].join(
        '\n',
      ),
    );
    return file;
  };

  it('sets the key on the seeded account', async () => {
    const emu = await startEmulators({ seedFile: await seedFile(), apiKey: KEY });
    try {
      expect(emu.describe()).toContain(`kazoo api key: ${KEY}`);
      expect(emu.describe()).toContain(`kazoo account id: ${ACCOUNT}`);
      await apiAuth(emu.kazoo.url, KEY);
    } finally {
      await emu.close();
    }
  });

  it('adds the account --account-id names when the seed lacks it', async () => {
    const other = 'e'.repeat(32);
    const emu = await startEmulators({ seedFile: await seedFile(), apiKey: KEY, accountId: other });
    try {
      expect(emu.describe()).toContain(`kazoo account id: ${other}`);
      const token = await apiAuth(emu.kazoo.url, KEY);
      const r = await call(emu.kazoo.url, 'GET', `/accounts/${other}/connectivity`, { token });
      expect(r.status).toBe(200);
      // the seeded account is still there
      expect(emu.kazoo.dump().accounts?.map((a) => a.id)).toContain(ACCOUNT);
    } finally {
      await emu.close();
    }
  });
});
