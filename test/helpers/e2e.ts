/**
 * End-to-end fixture: both emulators on loopback, a temporary copy of
 * examples/ as the project, and the environment the examples need.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main.ts';
import { memoryIO } from '../../src/cli/io.ts';
import { startCloudflareEmulator } from '../../src/emulator/cloudflare/server.ts';
import { DEMO_CLOUDFLARE } from '../../src/emulator/cloudflare/server.ts';
import {
  DEMO_KAZOO,
  startKazooEmulator,
  type KazooEmulator,
} from '../../src/emulator/kazoo/server.ts';

export const ACCOUNTS = {
  acme: '3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9',
  globex: '7c1e5d9a2b4f4c8e9d0a1b2c3d4e5f60',
  initech: 'a0b1c2d3e4f5061728394a5b6c7d8e9f',
} as const;

export const SECRETS = {
  ACME_TRUNK_PASSWORD: 'e2e-acme-hq-Secret-1',
  ACME_STANDBY_PASSWORD: 'e2e-acme-standby-Secret-2',
  GLOBEX_FAX_PASSWORD: 'e2e-globex-fax-Secret-3',
  INITECH_TRUNK_PASSWORD: 'e2e-initech-Secret-4',
};

export interface World {
  readonly dir: string;
  readonly kazoo: KazooEmulator;
  readonly cloudflare: Awaited<ReturnType<typeof startCloudflareEmulator>>;
  readonly env: Record<string, string>;
  /** Runs the CLI in-process in the project directory. */
  cli(
    argv: string[],
    options?: { stdinIsTTY?: boolean; answer?: string; stdoutIsTTY?: boolean },
  ): Promise<{ code: number; out: string; err: string }>;
  /** A token for direct API calls (simulating edits made outside connops). */
  token(): string;
  /** Direct Kazoo call with the demo reseller's token. */
  kazooApi(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }>;
  close(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'connops-e2e-'));
  await cp(join(import.meta.dirname, '..', '..', 'examples'), dir, {
    recursive: true,
    filter: (src) => !src.includes('/invalid') && !src.includes('/workflows'),
  });
  const kazoo = await startKazooEmulator({
    accounts: [
      {
        id: DEMO_KAZOO.accountId,
        name: DEMO_KAZOO.accountName,
        realm: DEMO_KAZOO.realm,
        api_key: DEMO_KAZOO.apiKey,
      },
      { id: ACCOUNTS.acme, name: 'acme', realm: 'acme.sip.test', parent_id: DEMO_KAZOO.accountId },
      {
        id: ACCOUNTS.globex,
        name: 'globex',
        realm: 'globex.sip.test',
        parent_id: DEMO_KAZOO.accountId,
      },
      {
        id: ACCOUNTS.initech,
        name: 'initech',
        realm: 'initech.sip.test',
        parent_id: DEMO_KAZOO.accountId,
      },
    ],
  });
  const cloudflare = await startCloudflareEmulator({});
  const env: Record<string, string> = {
    ...SECRETS,
    KAZOO_URL: kazoo.url,
    KAZOO_API_KEY: DEMO_KAZOO.apiKey,
    CLOUDFLARE_URL: cloudflare.url,
    CLOUDFLARE_API_TOKEN: DEMO_CLOUDFLARE.token,
    NO_COLOR: '1',
  };
  let token: string | undefined;
  const world: World = {
    dir,
    kazoo,
    cloudflare,
    env,
    async cli(argv, options = {}) {
      const io = memoryIO({
        env,
        cwd: dir,
        stdinIsTTY: options.stdinIsTTY ?? false,
        stdoutIsTTY: options.stdoutIsTTY ?? false,
        ...(options.answer !== undefined ? { prompt: async () => options.answer as string } : {}),
      });
      const code = await run(argv, io);
      return { code, out: io.out, err: io.err };
    },
    token() {
      token ??= kazoo.issueToken(DEMO_KAZOO.accountId);
      return token;
    },
    async kazooApi(method, path, body) {
      const res = await fetch(`${kazoo.url}${path}`, {
        method,
        headers: { 'X-Auth-Token': world.token(), 'Content-Type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
    },
    async close() {
      await Promise.all([kazoo.close(), cloudflare.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** The live Kazoo doc id of a named connectivity document. */
export async function kazooIdOf(
  world: World,
  account: string,
  name: string,
): Promise<string | undefined> {
  const list = (await world.kazooApi('GET', `/accounts/${account}/connectivity?paginate=false`))
    .json as { data: string[] };
  for (const id of list.data) {
    const doc = (await world.kazooApi('GET', `/accounts/${account}/connectivity/${id}`)).json as {
      data: { name?: string };
    };
    if (doc.data.name === name) return id;
  }
  return undefined;
}
