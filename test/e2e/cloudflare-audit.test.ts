/**
 * Cloudflare's request id is the Ray ID: `cf-ray` on every answer (the emulator
 * sends one), read by connops into the audit line of each write, failed or not
 * (reference/cloudflare-api.md §4; src/io/http.ts requestIdHeader).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startWorld, useFastRetries, type World } from '../helpers/world.ts';

const RAY = /^[0-9a-f]{16}-[A-Z]{3}$/;
let world: World;
beforeAll(async () => {
  useFastRetries();
  world = await startWorld();
});
afterAll(() => world.close());

it('audit lines of Cloudflare writes carry the cf-ray of the answer, also for a refused write', async () => {
  world.cloudflare.faults.update({ script: [{ method: 'POST', action: 'status', status: 403 }] });
  const r = await world.cli(['apply', '--yes', '--log-file', 'audit.jsonl']);
  expect(r.code).toBe(1);
  const audit = (await readFile(join(world.dir, 'audit.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((a) => a['kind'] === 'cloudflare/connectivity-service');
  expect(audit.length).toBeGreaterThan(1);
  expect(audit.filter((a) => a['status'] === 'failed')).toHaveLength(1);
  for (const a of audit)
    expect([a['name'], a['request_id']]).toEqual([a['name'], expect.stringMatching(RAY)]);
  expect(new Set(audit.map((a) => a['request_id'])).size).toBe(audit.length);
});
