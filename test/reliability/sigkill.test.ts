/**
 * SIGKILL during apply: the built CLI (bin/connops.js over an esbuild bundle)
 * applies 200 document changes against the emulators running in this process
 * and is killed at seeded random points. After each kill no live document may
 * be half-written (each equals its prior or its desired version); a final run
 * completes and the plan is then empty.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBin, spawnCli } from '../helpers/bin.ts';
import type { FaultDecision } from '../../src/emulator/faults.ts';
import {
  ACCOUNTS,
  halfWritten,
  stackLines,
  startWorld,
  useFastRetries,
  type LiveState,
  type World,
} from '../helpers/world.ts';
import { mulberry32 } from '../../src/emulator/faults.ts';

const KILLS = 5;
const SEED = 0x5eed;

const CONFIG = [
  'targets:',
  '  kazoo-prod:',
  '    type: kazoo',
  '    url: ${env:KAZOO_URL}',
  "    schema: '4.3'",
  '    auth:',
  '      api_key: ${env:KAZOO_API_KEY}',
  '    concurrency: 8',
  'documents: [docs/*.yaml]',
  'policy: { max_changes: 1000, max_deletes: 0 }',
  '',
].join('\n');

/** v1: docs 0..99; v2: those 100 changed plus 100 new ones (200 writes). */
function documents(version: 1 | 2): string {
  const count = version === 1 ? 100 : 200;
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    const octet = (i % 250) + 1;
    docs.push(
      [
        'kind: kazoo/connectivity',
        'target: kazoo-prod',
        `account: ${ACCOUNTS.acme}`,
        `name: trunk-${String(i).padStart(3, '0')}`,
        'spec:',
        `  account: { trunks: ${version === 1 ? 2 : 3 + (i % 7)} }`,
        '  servers:',
        `    - name: pbx-${i}`,
        `      auth: { auth_method: ip, ip: 198.51.${Math.floor(i / 250)}.${octet} }`,
        `      DIDs: { '+1415555${String(1000 + i).slice(-4)}': {} }`,
        `      options: { inbound_format: e164, enabled: true${version === 2 ? `, delay: ${i % 3}` : ''} }`,
      ].join('\n'),
    );
  }
  return docs.join('\n---\n') + '\n';
}

let binDir = '';
let prior: LiveState;
let desired: LiveState;
let world: World;

beforeAll(async () => {
  useFastRetries();
  binDir = await buildBin();

  const files = { 'connops.yaml': CONFIG, 'docs/trunks.yaml': documents(1) };
  const ref = await startWorld({ files });
  const v1 = await ref.cli(['apply', '--yes']);
  expect(v1.code, v1.out + v1.err).toBe(0);
  prior = ref.state();
  await writeFile(join(ref.dir, 'docs/trunks.yaml'), documents(2));
  const r = await ref.cli(['apply', '--yes']);
  expect(r.code, r.err).toBe(0);
  desired = ref.state();
  await ref.close();
  expect(desired.size).toBe(200);

  world = await startWorld({ files });
  expect((await world.cli(['apply', '--yes'])).code).toBe(0);
  await writeFile(join(world.dir, 'docs/trunks.yaml'), documents(2));
  await world.seedNumbers(); // the spawned CLI does not go through world.cli
}, 60_000);

afterAll(async () => {
  await world?.close();
  await rm(binDir, { recursive: true, force: true });
});

function spawnApply(): ReturnType<typeof spawnCli> {
  return spawnCli(binDir, ['apply', '--yes'], world.dir, world.env);
}

describe('SIGKILL during apply', () => {
  it(`killed ${KILLS} times at random writes: never half-written; the last run converges`, async () => {
    const random = mulberry32(SEED);
    const injector = world.kazoo.faults;
    injector.update({ latencyMs: 5, jitterMs: 15, seed: SEED });
    const decide = injector.decide.bind(injector);
    const log: string[] = [];
    let landedBefore = 0;
    for (let kill = 1; kill <= KILLS; kill++) {
      const now = world.state();
      const remaining = [...desired].filter(([k, v]) => now.get(k) !== v).length;
      const at = 1 + Math.floor(random() * Math.max(1, Math.min(remaining - 1, 60)));
      const { child, done } = spawnApply();
      let writes = 0;
      injector.decide = (method: string, path: string): FaultDecision => {
        if (method !== 'GET' && !path.endsWith('_auth')) {
          writes += 1;
          if (writes === at) child.kill('SIGKILL');
        }
        return decide(method, path);
      };
      const result = await done;
      injector.decide = decide;
      const live = world.state();
      expect(halfWritten(live, prior, desired), `after kill ${kill}`).toEqual([]);
      const landed = [...live].filter(
        ([k, v]) => desired.get(k) === v && prior.get(k) !== v,
      ).length;
      expect(landed).toBeGreaterThanOrEqual(landedBefore);
      log.push(
        `kill ${kill} at write ${at}: ${result.signal ?? `exit ${result.code}`}, ${landed}/200 landed`,
      );
      landedBefore = landed;
      expect(result.signal, result.output).toBe('SIGKILL');
    }
    const final = spawnApply();
    const last = await final.done;
    expect(last.code, last.output).toBe(0);
    expect(stackLines(last.output)).toEqual([]);
    injector.update({});
    const plan = await world.cli(['plan', '--detailed-exitcode']);
    expect(plan.code, plan.out + plan.err).toBe(0);
    expect(world.state()).toEqual(desired);
    console.log(`[reliability] SIGKILL: ${KILLS} kills, then converged\n  ${log.join('\n  ')}`);
  }, 60_000);
});
