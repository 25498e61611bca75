/**
 * Property: for any valid service body, create → read → normalise equals
 * normalise(desired), and a PUT built by buildUpdate towards another valid
 * body converges (the session itself re-reads and diffs, §10).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetConfig } from '../../core/model.ts';
import {
  DEMO_CLOUDFLARE,
  startCloudflareEmulator,
  type CloudflareEmulator,
} from '../../emulator/cloudflare/server.ts';
import type { ProviderSession } from '../types.ts';
import { cloudflareConnectivityService as provider } from './provider.ts';
import { cloudflareServiceBody as body } from '../../../test/helpers/arbitraries.ts';

const ACCOUNT = DEMO_CLOUDFLARE.accountId;

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
