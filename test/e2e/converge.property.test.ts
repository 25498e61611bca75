/**
 * Property: for generated valid connectivity documents, plan → apply → plan
 * gives zero changes on the emulator, and so does replacing each document with
 * another generated version (which exercises the PATCH merge patch: nested
 * merges, whole arrays, null deletes).
 */
import fc from 'fast-check';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/core/json.ts';
import { cloudflareServiceBody } from '../helpers/arbitraries.ts';
import { ACCOUNTS, startWorld, type World } from '../helpers/world.ts';

const name35 = fc.string({
  minLength: 1,
  maxLength: 35,
  unit: fc.constantFrom(...'abcdefghij XYZ-_.0123456789'),
});
const e164 = fc.integer({ min: 2_000_000_000, max: 9_999_999_999 }).map((n) => `+1${n}`);
const ip = fc
  .tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 0, max: 255 }))
  .map(([a, b]) => `192.0.${a}.${b}`);

const options = fc.record(
  {
    inbound_format: fc.constantFrom('e164', 'npan', '1npan', 'username'),
    media_handling: fc.constantFrom('process', 'bypass'),
    delay: fc.integer({ min: 0, max: 10 }),
    enabled: fc.boolean(),
    timeout: fc.integer({ min: 1, max: 120 }),
    flags: fc.array(fc.constantFrom('a', 'b', 'premium'), { maxLength: 3 }),
    failover: fc.record({ sip: fc.constant('sip:backup@pbx.example') }),
    caller_id: fc.record({ cid_name: name35, cid_number: e164 }),
    hunt_non_reconcilable: fc.boolean(),
  },
  { requiredKeys: [] },
);

function server(dids: string[]) {
  return fc.oneof(
    fc
      .record({
        user: fc.stringMatching(/^[a-z][a-z0-9]{2,8}$/),
        pw: fc.stringMatching(/^[A-Za-z0-9]{8,16}$/),
        options,
        name: name35,
      })
      .map(({ user, pw, options: o, name }) => ({
        name,
        auth: { auth_method: 'password', auth_user: user, auth_password: pw },
        DIDs: Object.fromEntries(dids.map((d) => [d, {}])),
        options: o,
      })),
    fc
      .record({ ip, options, port: fc.option(fc.constantFrom(5060, 5080), { nil: undefined }) })
      .map(({ ip: addr, options: o, port }) => ({
        auth: { auth_method: 'ip', ip: addr, ...(port !== undefined ? { port } : {}) },
        DIDs: Object.fromEntries(dids.map((d) => [d, { failover: { e164: '+14155550999' } }])),
        options: o,
      })),
  );
}

/** A document body; DIDs are drawn from a per-document block so they never collide across documents. */
function spec(block: number) {
  return fc
    .tuple(
      fc.option(
        fc.record(
          {
            caller_id: fc.record({ cid_name: name35, cid_number: e164 }, { requiredKeys: [] }),
            trunks: fc.integer({ min: 0, max: 50 }),
          },
          { requiredKeys: [] },
        ),
        { nil: undefined },
      ),
      fc.integer({ min: 0, max: 3 }),
    )
    .chain(([account, n]) =>
      fc
        .tuple(
          ...Array.from({ length: n }, (_, i) =>
            server(
              Array.from(
                { length: 2 },
                (_, j) => `+1212555${String(block * 100 + i * 10 + j).padStart(4, '0')}`,
              ),
            ),
          ),
        )
        .map((servers) => ({
          ...(account ? { account } : {}),
          servers,
        })),
    );
}

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});

async function writeDocs(docs: JsonObject[], env: Record<string, string>): Promise<void> {
  // Passwords go through ${env:} like real repos; the env var carries the generated value.
  const text = docs
    .map((spec, i) => {
      const servers = (spec['servers'] as JsonObject[]).map((s, j) => {
        const auth = s['auth'] as JsonObject;
        if (typeof auth['auth_password'] !== 'string') return s;
        const v = `PROP_PW_${i}_${j}`;
        env[v] = auth['auth_password'];
        return { ...s, auth: { ...auth, auth_password: `\${env:${v}}` } };
      });
      return stringify({
        kind: 'kazoo/connectivity',
        target: 'kazoo-prod',
        account: ACCOUNTS.initech,
        name: `prop-${i}`,
        spec: { ...spec, servers },
      });
    })
    .join('---\n');
  await writeFile(join(world.dir, 'connectivity/initech/main.yaml'), text);
}

describe('plan → apply → plan converges', () => {
  it('for generated documents, created and then replaced by other generated versions', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.tuple(spec(1), spec(2)), fc.tuple(spec(1), spec(2)), async (v1, v2) => {
        runs++;
        for (const version of [v1, v2]) {
          await writeDocs(version as unknown as JsonObject[], world.env);
          const apply = await world.cli([
            'apply',
            '--yes',
            '--force',
            '--account',
            ACCOUNTS.initech,
          ]);
          expect(apply.code, apply.out + apply.err).toBe(0);
          const plan = await world.cli([
            'plan',
            '--detailed-exitcode',
            '--account',
            ACCOUNTS.initech,
          ]);
          expect(plan.code, plan.out + plan.err).toBe(0);
        }
      }),
      { numRuns: 40, seed: 20261123 },
    );
    expect(runs).toBe(40);
  });

  it('for generated Cloudflare services, created and then replaced (PUT of the complete body)', async () => {
    let runs = 0;
    const services = (tag: string) =>
      fc
        .tuple(cloudflareServiceBody(`svc-a`), cloudflareServiceBody(`svc-b`))
        .map((b) => ({ tag, b }));
    await fc.assert(
      fc.asyncProperty(services('v1'), services('v2'), async (v1, v2) => {
        runs++;
        for (const version of [v1, v2]) {
          const text = version.b
            .map((body) => {
              const { name, ...spec } = body;
              return stringify({
                kind: 'cloudflare/connectivity-service',
                target: 'cf',
                name,
                spec,
              });
            })
            .join('---\n');
          await writeFile(join(world.dir, 'connectivity/cloudflare/services.yaml'), text);
          const apply = await world.cli(['apply', '--yes', '--force', '--target', 'cf']);
          expect(apply.code, apply.out + apply.err).toBe(0);
          const plan = await world.cli(['plan', '--detailed-exitcode', '--target', 'cf']);
          expect(plan.code, plan.out + plan.err).toBe(0);
        }
      }),
      { numRuns: 40, seed: 20261124 },
    );
    expect(runs).toBe(40);
  });
});
