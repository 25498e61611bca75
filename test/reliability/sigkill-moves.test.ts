/**
 * SIGKILL while DIDs move (INVARIANTS.md item 1): each round, 40 trunks pass
 * their number to the next one and half of them are renamed (create + delete),
 * and the built CLI is killed at a seeded write. The
 * emulator checks, after every write it makes, that each number is in at least
 * one live document; a final run converges and the plan is then empty.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBin, spawnCli } from '../helpers/bin.ts';
import { mulberry32, type FaultDecision } from '../../src/emulator/faults.ts';
import { ACCOUNTS, stackLines, startWorld, useFastRetries, type World } from '../helpers/world.ts';
import { trunksYaml } from '../helpers/trunks.ts';

const TRUNKS = 40;
const KILLS = 4;
const SEED = 0x25;
const did = (i: number) => `+1415555${String(5000 + i)}`;
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
  'policy: { prune: true, max_changes: 1000, max_deletes: 100 }',
  '',
].join('\n');
const version = (shift: number) =>
  trunksYaml(
    Array.from({ length: TRUNKS }, (_, i) => ({
      // Odd trunks are renamed every round: a create and a delete (prune) whose
      // numbers move, besides the updates passing numbers round.
      name: `t${String(i).padStart(2, '0')}${i % 2 === 1 ? `-r${shift}` : ''}`,
      dids: [did((i + shift) % TRUNKS)],
    })),
  );

let binDir = '';
let world: World;

beforeAll(async () => {
  useFastRetries();
  binDir = await buildBin();
  world = await startWorld({ files: { 'connops.yaml': CONFIG, 'docs/trunks.yaml': version(0) } });
  const first = await world.cli(['apply', '--yes']);
  expect(first.code, first.out + first.err).toBe(0);
}, 60_000);

afterAll(async () => {
  await world?.close();
  await rm(binDir, { recursive: true, force: true });
});

function spawnApply(): ReturnType<typeof spawnCli> {
  return spawnCli(binDir, ['apply', '--yes'], world.dir, world.env);
}

describe('SIGKILL while numbers move', () => {
  it(`killed ${KILLS} times: no number is ever in zero documents; the last run converges`, async () => {
    const unrouted: string[] = [];
    let checks = 0;
    world.kazoo.onWrite = () => {
      checks++;
      const routed = new Set<string>();
      for (const doc of world.kazoo.dump().docs?.[ACCOUNTS.acme] ?? []) {
        if (doc['pvt_deleted'] === true) continue;
        for (const s of (doc['servers'] as { DIDs?: object }[] | undefined) ?? [])
          for (const d of Object.keys(s.DIDs ?? {})) routed.add(d);
      }
      for (let i = 0; i < TRUNKS; i++) if (!routed.has(did(i))) unrouted.push(did(i));
    };
    const random = mulberry32(SEED);
    const injector = world.kazoo.faults;
    injector.update({ latencyMs: 5, jitterMs: 15, seed: SEED });
    const decide = injector.decide.bind(injector);
    const log: string[] = [];
    for (let kill = 1; kill <= KILLS; kill++) {
      // Every trunk passes its number on once more and 20 are renamed: 80 writes
      // (20 creates, 20 deletes, and 20 updates that are split in two), killed
      // somewhere in the first 70.
      await writeFile(join(world.dir, 'docs/trunks.yaml'), version(kill));
      await world.seedNumbers(); // the spawned CLI does not go through world.cli
      const at = 1 + Math.floor(random() * 70);
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
      log.push(`kill ${kill} at write ${at}: ${result.signal ?? `exit ${result.code}`}`);
      expect(unrouted, `after kill ${kill}`).toEqual([]);
      expect(result.signal, result.output).toBe('SIGKILL');
    }
    const last = await spawnApply().done;
    expect(last.code, last.output).toBe(0);
    expect(stackLines(last.output)).toEqual([]);
    expect(unrouted).toEqual([]);
    injector.update({});
    const plan = await world.cli(['plan', '--detailed-exitcode']);
    expect(plan.code, plan.out + plan.err).toBe(0);
    expect(checks).toBeGreaterThan(TRUNKS);
    console.log(
      `[reliability] SIGKILL while moving: ${checks} writes checked\n  ${log.join('\n  ')}`,
    );
  }, 120_000);
});
