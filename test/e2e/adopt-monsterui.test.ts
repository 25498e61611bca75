/**
 * Adopting an estate built with MonsterUI's PBX Connector without a write:
 * import, then plan and apply are 0 changes and 0 write requests. The live
 * documents are exactly what the UI writes (reference/kazoo-api.md §13,
 * 2600hz/monster-ui-pbxs@304ab5a app.js:240-262 for the create body,
 * app.js:503-530 for a server, app.js:555-571 for DIDs): no `name`, UI-only
 * fields, `auth_method: "Password"`, `options.codecs` in compatibility mode.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryIO } from '../../src/cli/io.ts';
import { run } from '../../src/cli/main.ts';
import type { JsonObject } from '../../src/core/json.ts';
import {
  DEMO_KAZOO,
  startKazooEmulator,
  type KazooEmulator,
} from '../../src/emulator/kazoo/server.ts';
import { httpOverrides } from '../../src/engine/project.ts';
import { assignNumbers } from '../../src/emulator/examples.ts';
import type { RequestEvent } from '../../src/io/http-types.ts';

const ACCOUNTS = ['5b0c7d1e2f3a4b5c6d7e8f9012345678', '6c1d8e2f3a4b5c6d7e8f901234567890'];
const PASSWORD = 'ui-generated-Pw12';

/** One connectivity document as the PBX Connector leaves it after adding two PBXs. */
function monsterUiDoc(account: string, realm: string, i: number): JsonObject {
  const did = (n: number) => `+1415555${String(1000 + i * 10 + n)}`;
  return {
    _id: `${account.slice(0, 24)}${'c0ffee00'.slice(0, 8)}`,
    account: { credits: { prepay: '0.00' }, trunks: 0, inbound_trunks: 0, auth_realm: realm },
    billing_account_id: account,
    DIDs_Unassigned: {},
    ui_metadata: { version: '4.3.0', ui: 'monster-ui', origin: 'pbxs' },
    servers: [
      {
        DIDs: { [did(0)]: {}, [did(1)]: {} },
        options: {
          enabled: true,
          inbound_format: 'e164',
          international: false,
          caller_id: {},
          e911_info: {},
          failover: {},
          media_handling: 'bypass',
        },
        permissions: { users: [] },
        monitor: { monitor_enabled: false },
        server_name: 'PBX 0',
        server_type: 'FreePBX',
        cfg: { register_time: '360', opening_pings: true, caller_id_header: 'p-asserted' },
        auth: { auth_method: 'IP', ip: `192.0.2.${10 + i}` },
      },
      {
        DIDs: { [did(2)]: {} },
        options: {
          enabled: true,
          inbound_format: '1npan',
          international: false,
          caller_id: {},
          e911_info: {},
          failover: {},
          media_handling: 'process',
          codecs: ['PCMU', 'G722'],
        },
        permissions: { users: [] },
        monitor: { monitor_enabled: false },
        server_name: 'PBX 1',
        server_type: 'Asterisk',
        cfg: {},
        auth: { auth_method: 'Password', auth_user: `user_${i}abcdefg`, auth_password: PASSWORD },
      },
    ],
  };
}

const CONFIG = `targets:
  kz:
    type: kazoo
    url: \${env:KAZOO_URL}
    auth:
      api_key: \${env:KAZOO_API_KEY}
documents: ['connectivity/**/*.yaml']
`;

let kazoo: KazooEmulator;
let dir: string;
let env: Record<string, string>;
const requests: RequestEvent[] = [];

beforeAll(async () => {
  kazoo = await startKazooEmulator({
    accounts: [
      {
        id: DEMO_KAZOO.accountId,
        name: DEMO_KAZOO.accountName,
        realm: DEMO_KAZOO.realm,
        api_key: DEMO_KAZOO.apiKey,
      },
      ...ACCOUNTS.map((id, i) => ({
        id,
        name: `pbx${i}`,
        realm: `pbx${i}.sip.test`,
        parent_id: DEMO_KAZOO.accountId,
      })),
    ],
    seed: {
      docs: Object.fromEntries(
        ACCOUNTS.map((id, i) => [id, [monsterUiDoc(id, `pbx${i}.sip.test`, i)]]),
      ),
    },
  });
  // MonsterUI adds numbers through the number manager before it routes them (§12, §13).
  assignNumbers(
    kazoo,
    ACCOUNTS.map((id, i) => ({ account: id, body: monsterUiDoc(id, `pbx${i}.sip.test`, i) })),
  );
  dir = await mkdtemp(join(tmpdir(), 'connops-monsterui-'));
  await writeFile(join(dir, 'connops.yaml'), CONFIG);
  env = { KAZOO_URL: kazoo.url, KAZOO_API_KEY: DEMO_KAZOO.apiKey };
  httpOverrides.deps = { onRequest: (e) => void requests.push(e) };
});
afterAll(async () => {
  httpOverrides.deps = {};
  await kazoo.close();
  await rm(dir, { recursive: true, force: true });
});

async function cli(argv: string[]) {
  const io = memoryIO({ cwd: dir, env });
  const code = await run(argv, io);
  return { code, out: io.out, err: io.err };
}

/** Requests that change something (auth logins are PUTs that change nothing). */
const writes = (): RequestEvent[] =>
  requests.filter((r) => r.method !== 'GET' && !/\/(api_auth|user_auth)$/.test(r.path));

describe('adopting an estate MonsterUI built', () => {
  it('import → validate → plan → apply: 0 changes and 0 write requests', async () => {
    const imported = await cli([
      'import',
      '--target',
      'kz',
      ...ACCOUNTS.flatMap((a) => ['--account', a]),
    ]);
    expect(imported.code, imported.err).toBe(0);
    expect(imported.err).toContain('has no name; adopted by its id');
    const text = await readFile(join(dir, 'connectivity', 'kz', `${ACCOUNTS[0]}.yaml`), 'utf8');
    expect(text).not.toMatch(/^name:/m); // no identity name to write
    expect(text).toMatch(/^id: [0-9a-f]{32}$/m);
    // The printed variables are the live passwords' placeholders: set them.
    for (const m of imported.out.matchAll(/^ {2}(CONNOPS_\w+)/gm)) env[m[1] as string] = PASSWORD;
    expect(Object.keys(env).filter((k) => k.startsWith('CONNOPS_'))).toHaveLength(2);

    const validate = await cli(['validate']);
    expect(validate.code).toBe(0);
    expect(validate.out).toBe('OK: 2 documents in 2 files, no problems\n'); // no "unknown field"

    requests.length = 0;
    const plan = await cli(['plan', '--detailed-exitcode']);
    expect(plan.code, plan.out + plan.err).toBe(0);
    expect(plan.out).toContain('No changes');
    expect(plan.err).not.toContain('warning');
    const apply = await cli(['apply', '--yes']);
    expect(apply.code, apply.err).toBe(0);
    expect(writes()).toEqual([]);

    // The live documents are as the UI left them: no name, no marker.
    for (const a of ACCOUNTS) {
      const live = kazoo.dump().docs?.[a]?.[0] as JsonObject;
      expect(live['name']).toBeUndefined();
      expect(live['connops_managed']).toBeUndefined();
    }
  });

  it('a later change is one PATCH whose plan shows the ownership marker it adds', async () => {
    const file = join(dir, 'connectivity', 'kz', `${ACCOUNTS[1]}.yaml`);
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace(/^( +)trunks: 0$/m, '$1trunks: 2'),
    );
    const plan = await cli(['plan']);
    expect(plan.out).toContain('~ account.trunks: 0 → 2');
    expect(plan.out).toContain('+ connops_managed: true');
    requests.length = 0;
    expect((await cli(['apply', '--yes'])).code).toBe(0);
    expect(writes().map((r) => r.method)).toEqual(['PATCH']);
    const live = kazoo.dump().docs?.[ACCOUNTS[1] as string]?.[0] as JsonObject;
    expect(live['connops_managed']).toBe(true);
    expect(live['name']).toBeUndefined();
    expect((await cli(['plan', '--detailed-exitcode'])).code).toBe(0);
  });
});
