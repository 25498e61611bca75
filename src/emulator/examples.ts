/**
 * Both emulators seeded with the accounts examples/ uses, as children of the
 * demo reseller account (so one api key reaches all of them, as a reseller's
 * key does on a real Kazoo). Used by the demo and the end-to-end tests.
 */
import {
  DEMO_CLOUDFLARE,
  startCloudflareEmulator,
  type CloudflareEmulator,
} from './cloudflare/server.ts';
import {
  DEMO_KAZOO,
  startKazooEmulator,
  type KazooEmulator,
  type SeedAccount,
} from './kazoo/server.ts';
import type { JsonObject } from '../core/json.ts';
import type { DesiredDocument } from '../core/model.ts';
import { kazooConnectivity } from '../providers/kazoo/provider.ts';

/** The Kazoo accounts the example documents declare. */
export const EXAMPLE_ACCOUNTS = {
  acme: '3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9',
  globex: '7c1e5d9a2b4f4c8e9d0a1b2c3d4e5f60',
  initech: 'a0b1c2d3e4f5061728394a5b6c7d8e9f',
} as const;

export interface ExampleEmulatorOptions {
  readonly kazooPort?: number;
  readonly cloudflarePort?: number;
  /** Kazoo api key of the reseller account (default: the demo key). */
  readonly apiKey?: string;
  /** Cloudflare token (default: the demo token). */
  readonly cloudflareToken?: string;
}

export interface ExampleEmulators {
  readonly kazoo: KazooEmulator;
  readonly cloudflare: CloudflareEmulator;
  /** What examples/connops.yaml reads: URLs and credentials (not the trunk passwords). */
  readonly env: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export async function startExampleEmulators(
  options: ExampleEmulatorOptions = {},
): Promise<ExampleEmulators> {
  const apiKey = options.apiKey ?? DEMO_KAZOO.apiKey;
  const token = options.cloudflareToken ?? DEMO_CLOUDFLARE.token;
  const children: SeedAccount[] = Object.entries(EXAMPLE_ACCOUNTS).map(([name, id]) => ({
    id,
    name,
    realm: `${name}.sip.connops.local`,
    parent_id: DEMO_KAZOO.accountId,
  }));
  const kazoo = await startKazooEmulator({
    ...(options.kazooPort !== undefined ? { port: options.kazooPort } : {}),
    accounts: [
      {
        id: DEMO_KAZOO.accountId,
        name: DEMO_KAZOO.accountName,
        realm: DEMO_KAZOO.realm,
        api_key: apiKey,
      },
      ...children,
    ],
  });
  let cloudflare: CloudflareEmulator;
  try {
    cloudflare = await startCloudflareEmulator({
      ...(options.cloudflarePort !== undefined ? { port: options.cloudflarePort } : {}),
      token,
    });
  } catch (err) {
    await kazoo.close();
    throw err;
  }
  return {
    kazoo,
    cloudflare,
    env: {
      KAZOO_URL: kazoo.url,
      KAZOO_API_KEY: apiKey,
      CLOUDFLARE_URL: cloudflare.url,
      CLOUDFLARE_ACCOUNT_ID: DEMO_CLOUDFLARE.accountId,
      CLOUDFLARE_API_TOKEN: token,
    },
    close: async () => {
      await Promise.all([kazoo.close(), cloudflare.close()]);
    },
  };
}

/**
 * Gives each DID the Kazoo documents route a number-manager entry, assigned to
 * the document's account and in service, as a carrier order would have: an
 * estate whose numbers are owned, so that connops' ownership check (§12) has
 * something true to find. Numbers the number manager already knows are left
 * as they are. Returns how many were added.
 */
export function assignDocumentNumbers(
  kazoo: KazooEmulator,
  documents: readonly DesiredDocument[],
): number {
  return assignNumbers(
    kazoo,
    documents
      .filter((d) => d.key.kind === kazooConnectivity.kind)
      .map((d) => ({ account: d.key.account, body: d.spec })),
  );
}

/** The same for connectivity bodies by account (a seeded live estate). */
export function assignNumbers(
  kazoo: KazooEmulator,
  bodies: Iterable<{ readonly account: string; readonly body: JsonObject }>,
): number {
  let added = 0;
  for (const { account, body } of bodies) {
    for (const did of kazooConnectivity.claims(body)) {
      if (kazoo.number(did) !== undefined) continue;
      kazoo.addNumber(did, { assigned_to: account, state: 'in_service' });
      added++;
    }
  }
  return added;
}
