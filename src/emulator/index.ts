/**
 * Starts both emulators (Kazoo and Cloudflare) on loopback, for the `emulator`
 * command, the README quick start, e2e tests and benchmarks.
 */
import { readFile } from 'node:fs/promises';
import { isObject } from '../core/json.ts';
import {
  DEMO_CLOUDFLARE,
  startCloudflareEmulator,
  type CloudflareSeed,
} from './cloudflare/server.ts';
import type { FaultConfig } from './faults.ts';
import { parseKazooSeed, parseSeedDocument, type SeedLocator } from './kazoo/seed.ts';
import type { SeedAccount } from './kazoo/store.ts';
import { DEMO_KAZOO, startKazooEmulator, type KazooEmulator } from './kazoo/server.ts';

export { FaultInjector, parseFaultFlags, type FaultConfig, type FaultRule } from './faults.ts';
export {
  DEMO_KAZOO,
  startKazooEmulator,
  type KazooEmulator,
  type KazooEmulatorOptions,
} from './kazoo/server.ts';
export { loadSeedFile } from './kazoo/seed.ts';
export { DEMO_CLOUDFLARE, startCloudflareEmulator } from './cloudflare/server.ts';

export interface StartEmulatorsOptions {
  kazooPort?: number;
  cloudflarePort?: number;
  /**
   * YAML or JSON. Either a Kazoo seed (`accounts`, `docs`, `numbers`) or
   * `{ kazoo: <Kazoo seed>, cloudflare: <Cloudflare seed> }`.
   */
  seedFile?: string;
  faults?: FaultConfig;
  /**
   * Kazoo account the api key logs in to. With a seed that has this account,
   * `apiKey` is set on it; otherwise a demo account with this id is added.
   */
  accountId?: string;
  /**
   * Kazoo api key (64 characters) to accept: on `accountId`'s account, or else
   * on the seed's first top-level account (no parent_id), or the demo account.
   */
  apiKey?: string;
}

export interface RunningEmulators {
  readonly kazoo: KazooEmulator;
  readonly cloudflare: { readonly url: string; readonly port: number; close(): Promise<void> };
  /** Lines to print: URLs and the demo credentials. */
  describe(): string[];
  close(): Promise<void>;
}

export async function startEmulators(
  options: StartEmulatorsOptions = {},
): Promise<RunningEmulators> {
  let kazooSeed: unknown;
  let cloudflareSeed: unknown;
  let locate: SeedLocator | undefined;
  let base = '';
  if (options.seedFile !== undefined) {
    const read = parseSeedDocument(options.seedFile, await readFile(options.seedFile, 'utf8'));
    const value = read.value;
    locate = read.locate;
    if (isObject(value) && (Object.hasOwn(value, 'kazoo') || Object.hasOwn(value, 'cloudflare'))) {
      kazooSeed = value['kazoo'];
      cloudflareSeed = value['cloudflare'];
      base = '/kazoo';
    } else {
      kazooSeed = value;
    }
  }
  const parsed = parseKazooSeed(kazooSeed, options.seedFile, locate, base);
  const { seed, loginAccount } = withCredentials(parsed.accounts ?? [], options);
  const fullSeed = { ...parsed, accounts: seed };
  const kazoo = await startKazooEmulator({
    port: options.kazooPort ?? 0,
    seed: fullSeed,
    ...(options.faults ? { faults: options.faults } : {}),
  });
  let cloudflare: RunningEmulators['cloudflare'];
  try {
    cloudflare = await startCloudflareEmulator({
      port: options.cloudflarePort ?? 0,
      ...(options.faults ? { faults: options.faults } : {}),
      ...(isObject(cloudflareSeed) ? { seed: cloudflareSeed as CloudflareSeed } : {}),
    });
  } catch (err) {
    await kazoo.close();
    throw err;
  }
  const kazooAccount = loginAccount;
  return {
    kazoo,
    cloudflare,
    describe: () => [
      `kazoo: ${kazoo.url}`,
      `cloudflare: ${cloudflare.url}`,
      `kazoo account id: ${kazooAccount.id}`,
      ...(kazooAccount.api_key !== undefined ? [`kazoo api key: ${kazooAccount.api_key}`] : []),
      `cloudflare account id: ${DEMO_CLOUDFLARE.accountId}`,
      `cloudflare api token: ${DEMO_CLOUDFLARE.token}`,
    ],
    close: async () => {
      await Promise.all([kazoo.close(), cloudflare.close()]);
    },
  };
}

/**
 * The seed's accounts with `--account-id` / `--api-key` applied, and the account
 * to print (the one those credentials log in to). Without a seed, the demo account.
 */
function withCredentials(
  accounts: readonly SeedAccount[],
  options: Pick<StartEmulatorsOptions, 'accountId' | 'apiKey'>,
): { seed: SeedAccount[]; loginAccount: SeedAccount } {
  const demo = (id: string): SeedAccount => ({
    id,
    name: DEMO_KAZOO.accountName,
    realm: DEMO_KAZOO.realm,
    api_key: options.apiKey ?? DEMO_KAZOO.apiKey,
    username: DEMO_KAZOO.username,
    password: DEMO_KAZOO.password,
  });
  if (accounts.length === 0) {
    const account = demo(options.accountId ?? DEMO_KAZOO.accountId);
    return { seed: [account], loginAccount: account };
  }
  const seed = accounts.map((a) => ({ ...a }));
  const wanted =
    options.accountId !== undefined
      ? seed.find((a) => a.id === options.accountId)
      : (seed.find((a) => a.parent_id === undefined && a.api_key !== undefined) ??
        seed.find((a) => a.parent_id === undefined) ??
        seed[0]);
  if (!wanted) {
    const account = demo(options.accountId as string);
    seed.push(account);
    return { seed, loginAccount: account };
  }
  if (options.apiKey !== undefined) wanted.api_key = options.apiKey;
  return { seed, loginAccount: wanted };
}
