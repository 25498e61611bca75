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
import { parseKazooSeed, parseSeedText } from './kazoo/seed.ts';
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
  /** Demo Kazoo account id to seed instead of DEMO_KAZOO's (when no seed file names accounts). */
  accountId?: string;
  /** Demo Kazoo api key (64 characters) to accept instead of DEMO_KAZOO's. */
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
  if (options.seedFile !== undefined) {
    const value = parseSeedText(options.seedFile, await readFile(options.seedFile, 'utf8'));
    if (isObject(value) && (Object.hasOwn(value, 'kazoo') || Object.hasOwn(value, 'cloudflare'))) {
      kazooSeed = value['kazoo'];
      cloudflareSeed = value['cloudflare'];
    } else {
      kazooSeed = value;
    }
  }
  const parsed = parseKazooSeed(kazooSeed, options.seedFile);
  const seed =
    (parsed.accounts?.length ?? 0) > 0 ||
    (options.accountId === undefined && options.apiKey === undefined)
      ? parsed
      : {
          ...parsed,
          accounts: [
            {
              id: options.accountId ?? DEMO_KAZOO.accountId,
              name: DEMO_KAZOO.accountName,
              realm: DEMO_KAZOO.realm,
              api_key: options.apiKey ?? DEMO_KAZOO.apiKey,
              username: DEMO_KAZOO.username,
              password: DEMO_KAZOO.password,
            },
          ],
        };
  const kazoo = await startKazooEmulator({
    port: options.kazooPort ?? 0,
    seed,
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
  const kazooAccount = seed.accounts?.[0];
  return {
    kazoo,
    cloudflare,
    describe: () => [
      `kazoo: ${kazoo.url}`,
      `cloudflare: ${cloudflare.url}`,
      ...(kazooAccount
        ? [
            `kazoo account id: ${kazooAccount.id}`,
            ...(kazooAccount.api_key !== undefined
              ? [`kazoo api key: ${kazooAccount.api_key}`]
              : []),
          ]
        : [`kazoo account id: ${DEMO_KAZOO.accountId}`, `kazoo api key: ${DEMO_KAZOO.apiKey}`]),
      `cloudflare account id: ${DEMO_CLOUDFLARE.accountId}`,
      `cloudflare api token: ${DEMO_CLOUDFLARE.token}`,
    ],
    close: async () => {
      await Promise.all([kazoo.close(), cloudflare.close()]);
    },
  };
}
