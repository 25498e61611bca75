/**
 * Property: for any valid service body, create → read → normalise equals
 * normalise(desired), and a PUT built by buildUpdate towards another valid
 * body converges (the session itself re-reads and diffs, §10).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/json.ts';
import type { TargetConfig } from '../../core/model.ts';
import {
  DEMO_CLOUDFLARE,
  startCloudflareEmulator,
  type CloudflareEmulator,
} from '../../emulator/cloudflare/server.ts';
import type { ProviderSession } from '../types.ts';
import { cloudflareConnectivityService as provider } from './provider.ts';

const ACCOUNT = DEMO_CLOUDFLARE.accountId;

const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null | undefined> =>
  fc.oneof(arb, fc.constant(null), fc.constant(undefined));

const port = maybe(fc.integer({ min: 1, max: 65535 }));

const host: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ ipv4: fc.ipV4(), network: fc.record({ tunnel_id: fc.uuid() }) }),
  fc.record({ ipv6: fc.ipV6(), network: fc.record({ tunnel_id: fc.uuid() }) }),
  fc.record({ ipv4: fc.ipV4(), ipv6: fc.ipV6(), network: fc.record({ tunnel_id: fc.uuid() }) }),
  fc.record(
    {
      hostname: fc.domain(),
      resolver_network: fc.record(
        {
          tunnel_id: fc.uuid().map((u) => u.toUpperCase()),
          resolver_ips: maybe(fc.array(fc.oneof(fc.ipV4(), fc.ipV6()), { maxLength: 3 })),
        },
        { requiredKeys: ['tunnel_id'] },
      ),
    },
    { requiredKeys: ['hostname', 'resolver_network'] },
  ),
);

const tls = maybe(
  fc.record({ cert_verification_mode: fc.constantFrom('verify_full', 'verify_ca', 'disabled') }),
);

/** Drops undefined-valued keys (fast-check records may carry them). */
function clean(value: Record<string, unknown>): JsonObject {
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

function body(name: string): fc.Arbitrary<JsonObject> {
  const httpBody = fc.record({
    type: fc.constant('http'),
    host,
    http_port: port,
    https_port: port,
    tls_settings: tls,
  });
  const tcpBody = fc.record({
    type: fc.constant('tcp'),
    host,
    tcp_port: fc.integer({ min: 1, max: 65535 }),
    app_protocol: maybe(fc.constantFrom('postgresql', 'mysql')),
    tls_settings: tls,
  });
  return fc.oneof(httpBody, tcpBody).map((b) => clean({ name, ...b }));
}

let emu: CloudflareEmulator;
let session: ProviderSession;
let target: TargetConfig;

beforeAll(async () => {
  emu = await startCloudflareEmulator({ rateLimit: { requests: 1_000_000, windowS: 300 } });
  target = {
    name: 'cf',
    type: 'cloudflare',
    url: emu.url,
    account_id: ACCOUNT,
    auth: { token: DEMO_CLOUDFLARE.token },
    concurrency: 2,
    timeout_ms: 5000,
    source: { file: 'connops.yaml', line: 1, col: 1 },
  };
  session = provider.connect(target, { sleep: async () => {}, random: () => 0 });
});

afterAll(async () => {
  await session.close();
  await emu.close();
});

describe('round trip through the emulator', () => {
  it('generated bodies pass the offline checks', () => {
    fc.assert(
      fc.property(body('svc'), (b) => {
        expect(provider.checkSpec(b, target).filter((p) => p.severity === 'error')).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('create → read → normalise equals normalise(desired); PUT to another body converges', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constant(null).chain(() => {
          n += 1;
          return fc.tuple(body(`svc-${n}`), body(`svc-${n}-renamed`));
        }),
        async ([first, second]) => {
          const created = await session.create(ACCOUNT, provider.buildCreate(first, target));
          try {
            const read = await session.get(ACCOUNT, created.id);
            expect(read).toBeDefined();
            expect(provider.normalize(read?.body ?? {}, target)).toEqual(
              provider.normalize(first, target),
            );

            const liveN = provider.normalize(created.body, target);
            const wantN = provider.normalize(second, target);
            const request = provider.buildUpdate(liveN, wantN, second);
            const updated = await session.update(ACCOUNT, created, request);
            expect(provider.normalize(updated.body, target)).toEqual(wantN);
            expect(updated.id).toBe(created.id);
          } finally {
            await session.delete(ACCOUNT, created);
          }
        },
      ),
      { numRuns: 60 },
    );
    expect(await session.list(ACCOUNT)).toEqual([]);
  });
});
