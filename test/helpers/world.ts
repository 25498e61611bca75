/**
 * Reliability fixture: both emulators on loopback, a temporary copy of
 * examples/ (or a generated project) as the working directory, the environment
 * the config needs, and helpers to compare live state with what was expected.
 */
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main.ts';
import { memoryIO } from '../../src/cli/io.ts';
import { httpOverrides } from '../../src/engine/project.ts';
import { canonicalJson, type JsonObject } from '../../src/core/json.ts';
import type { CloudflareEmulator } from '../../src/emulator/cloudflare/server.ts';
import {
  assignDocumentNumbers,
  EXAMPLE_ACCOUNTS,
  startExampleEmulators,
} from '../../src/emulator/examples.ts';
import { loadProject } from '../../src/engine/load.ts';
import type { FaultConfig } from '../../src/emulator/faults.ts';
import { DEMO_KAZOO, type KazooEmulator } from '../../src/emulator/kazoo/server.ts';
import { normalizeService } from '../../src/providers/cloudflare/normalize.ts';
import { normalizeKazoo } from '../../src/providers/kazoo/normalize.ts';

export const EXAMPLES_DIR = join(import.meta.dirname, '..', '..', 'examples');

export const ACCOUNTS = EXAMPLE_ACCOUNTS;

/** Secret values planted through `${env:…}`; long and distinctive so a leak is unmistakable. */
export const PASSWORDS = {
  ACME_TRUNK_PASSWORD: 'rel-acme-hq-Pa55word-7f3c91',
  ACME_STANDBY_PASSWORD: 'rel-acme-standby-Pa55word-2b8e44',
  GLOBEX_FAX_PASSWORD: 'rel-globex-fax-Pa55word-9d1a07',
  INITECH_TRUNK_PASSWORD: 'rel-initech-Pa55word-5c6b28',
} as const;

/** A Kazoo api key that is not the demo one (64 characters, like real keys). */
export const API_KEY = 'f00dfeed'.repeat(8);
/** A Cloudflare token that is not the demo one. */
export const CF_TOKEN = 'rel-cf-token-Zq8Vw3Nt6Yp1Kx4Hs7Ld0Mc2';

export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Live state, normalised as the planner compares it: "kazoo/<account>/<name>" or "cf/<name>" → canonical JSON. */
export type LiveState = Map<string, string>;

export interface World {
  readonly dir: string;
  readonly kazoo: KazooEmulator;
  readonly cloudflare: CloudflareEmulator;
  readonly env: Record<string, string>;
  /** Runs the CLI in-process in the project directory (a terminal and its answer can be simulated). */
  cli(
    argv: readonly string[],
    options?: { stdinIsTTY?: boolean; stdoutIsTTY?: boolean; answer?: string },
  ): Promise<CliResult>;
  /** A token of the reseller account, for direct API calls. */
  token(): string;
  /** A direct Kazoo API call as the reseller (an edit made outside connops). */
  kazooApi(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }>;
  /** The normalised live state of every document in both emulators. */
  state(): LiveState;
  /** Sets faults on both emulators (an empty config turns them off). */
  faults(config: FaultConfig): void;
  /**
   * Gives every DID of the documents in `dir` a number-manager entry in its
   * document's account (what `cli` does first unless `autoNumbers: false`);
   * call it before spawning the CLI yourself.
   */
  seedNumbers(): Promise<void>;
  close(): Promise<void>;
}

export interface WorldOptions {
  /** Copy examples/ (default) or write these files (path → text) instead. */
  readonly files?: Readonly<Record<string, string>>;
  readonly kazooPort?: number;
  readonly cloudflarePort?: number;
  /**
   * Before each `cli` run, assign every DID the documents route to its
   * document's account in the number manager (default true), as a real estate's
   * numbers are; false for tests of the ownership check itself.
   */
  readonly autoNumbers?: boolean;
}

/** Fast retries: backoff and Retry-After waits are recorded but not slept through. */
export function useFastRetries(): { sleeps: number[] } {
  const sleeps: number[] = [];
  httpOverrides.deps = {
    sleep: async (ms) => {
      sleeps.push(ms);
      await new Promise((r) => setTimeout(r, Math.min(ms, 2)));
    },
  };
  return { sleeps };
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'connops-rel-'));
  if (options.files) {
    for (const [path, text] of Object.entries(options.files)) {
      await writeTree(join(dir, path), text);
    }
  } else {
    await cp(EXAMPLES_DIR, dir, {
      recursive: true,
      filter: (src) => !src.includes(`${join(EXAMPLES_DIR, 'invalid')}`),
    });
  }
  const emulators = await startExampleEmulators({
    ...(options.kazooPort !== undefined ? { kazooPort: options.kazooPort } : {}),
    ...(options.cloudflarePort !== undefined ? { cloudflarePort: options.cloudflarePort } : {}),
    apiKey: API_KEY,
    cloudflareToken: CF_TOKEN,
  });
  const { kazoo, cloudflare } = emulators;
  const env: Record<string, string> = { ...PASSWORDS, ...emulators.env, NO_COLOR: '1' };
  let token: string | undefined;
  const world: World = {
    dir,
    kazoo,
    cloudflare,
    env,
    async cli(argv, cliOptions = {}) {
      if (options.autoNumbers !== false) await world.seedNumbers();
      const io = memoryIO({
        env,
        cwd: dir,
        stdinIsTTY: cliOptions.stdinIsTTY ?? false,
        stdoutIsTTY: cliOptions.stdoutIsTTY ?? false,
        ...(cliOptions.answer !== undefined
          ? { prompt: async () => cliOptions.answer as string }
          : {}),
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
    state: () => liveState(kazoo, cloudflare),
    async seedNumbers() {
      const config = join(dir, 'connops.yaml');
      const project = await loadProject({ configPath: config, env, cwd: dir }).catch(
        () => undefined,
      );
      if (project) assignDocumentNumbers(kazoo, project.documents);
    },
    faults(config) {
      kazoo.faults.update(config);
      cloudflare.faults.update(config);
    },
    async close() {
      await emulators.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return world;
}

async function writeTree(path: string, text: string): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
}

/** Normalised live documents of both emulators (soft-deleted Kazoo docs left out). */
export function liveState(kazoo: KazooEmulator, cloudflare: CloudflareEmulator): LiveState {
  const out: LiveState = new Map();
  for (const [account, docs] of Object.entries(kazoo.dump().docs ?? {})) {
    for (const doc of docs) {
      if (doc['pvt_deleted'] === true) continue;
      const name = typeof doc['name'] === 'string' ? doc['name'] : String(doc['_id']);
      out.set(`kazoo/${account}/${name}`, canonicalJson(normalizeKazoo(doc, '4.3')));
    }
  }
  for (const s of cloudflare.dump().services) {
    out.set(`cf/${String(s['name'])}`, canonicalJson(normalizeService(s as JsonObject)));
  }
  return out;
}

/**
 * Every live document equals its prior or its desired version (never a mix),
 * and no document exists that is in neither. Returns the offending keys.
 */
export function halfWritten(live: LiveState, prior: LiveState, desired: LiveState): string[] {
  const bad: string[] = [];
  for (const [key, body] of live) {
    if (body !== prior.get(key) && body !== desired.get(key)) bad.push(key);
  }
  return bad;
}

/** Lines that look like a JavaScript stack frame. */
export function stackLines(text: string): string[] {
  return text.split('\n').filter((l) => /^\s+at /.test(l));
}

/** Every file under a directory (recursively), path → text. */
export async function readTreeFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    out.set(p, await readFile(p, 'utf8'));
  }
  return out;
}

/** Raises the change limit of a copied examples config (the generated projects set their own). */
export async function setPolicy(dir: string, policy: string): Promise<void> {
  const path = join(dir, 'connops.yaml');
  const text = await readFile(path, 'utf8');
  await writeFile(path, text.replace(/policy:[\s\S]*$/, `policy:\n${policy}\n`));
}

/** The live Kazoo doc id of a named connectivity document. */
export async function kazooIdOf(
  world: Pick<World, 'kazooApi'>,
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
