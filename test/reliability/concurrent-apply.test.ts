/**
 * Two applies of the same change set started at the same moment (two merges in
 * quick succession): two processes of the built CLI against the emulators with
 * 30 ms latency. Each document ends as exactly one live object (INVARIANTS.md
 * item 6): on Kazoo both creators send the document's derived id and the
 * second meets the first's 409 and adopts it; on Cloudflare the API refuses
 * the duplicate name (5101) and the second adopts the service of that name.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBin, spawnCli } from '../helpers/bin.ts';
import { ACCOUNTS, stackLines, startWorld, type World } from '../helpers/world.ts';

const DOCS = 12;

const CONFIG = [
  'targets:',
  '  kazoo-prod:',
  '    type: kazoo',
  '    url: ${env:KAZOO_URL}',
  "    schema: '4.3'",
  '    auth:',
  '      api_key: ${env:KAZOO_API_KEY}',
  '  cf:',
  '    type: cloudflare',
  '    url: ${env:CLOUDFLARE_URL}',
  '    account_id: 023e105f4ecef8ad9ca31a8372d0c353',
  '    auth:',
  '      token: ${env:CLOUDFLARE_API_TOKEN}',
  'documents: [docs/*.yaml]',
  'policy: { max_changes: 1000, max_deletes: 0 }',
  '',
].join('\n');

function documents(): string {
  const docs: string[] = [];
  for (let i = 0; i < DOCS; i++) {
    docs.push(
      [
        'kind: kazoo/connectivity',
        'target: kazoo-prod',
        `account: ${ACCOUNTS.acme}`,
        `name: trunk-${i}`,
        'spec:',
        '  servers:',
        `    - name: pbx-${i}`,
        `      auth: { auth_method: ip, ip: 198.51.100.${i + 1} }`,
        `      DIDs: { '+1415555${String(3000 + i)}': {} }`,
        '      options: { inbound_format: e164 }',
      ].join('\n'),
      [
        'kind: cloudflare/connectivity-service',
        'target: cf',
        `name: svc-${i}`,
        'spec:',
        '  type: tcp',
        '  host:',
        `    ipv4: 10.20.4.${i + 1}`,
        '    network: { tunnel_id: 0c2ef2a4-7b1d-4f3e-9a52-6d8b1e0f4c11 }',
        '  tcp_port: 5432',
      ].join('\n'),
    );
  }
  return docs.join('\n---\n') + '\n';
}

let binDir = '';
let world: World;

beforeAll(async () => {
  binDir = await buildBin();
  world = await startWorld({ files: { 'connops.yaml': CONFIG } });
  await mkdir(join(world.dir, 'docs'), { recursive: true });
  await writeFile(join(world.dir, 'docs/all.yaml'), documents());
  await world.seedNumbers(); // the spawned CLIs do not go through world.cli
}, 60_000);

afterAll(async () => {
  await world?.close();
  await rm(binDir, { recursive: true, force: true });
});

function apply(): Promise<{ code: number | null; output: string }> {
  return spawnCli(binDir, ['apply', '--yes'], world.dir, world.env).done;
}

describe('two applies at once', () => {
  it('end with exactly one live object per document, and both exit honestly', async () => {
    world.faults({ latencyMs: 30 });
    // "The same moment": on a busy machine one process may start late enough to
    // plan after the other applied, which would prove nothing. So writes wait
    // (3 s) until both processes have listed both APIs: both then plan
    // every document as a create.
    let listings = 0;
    const unhold: (() => void)[] = [];
    const hold = (injector: World['kazoo']['faults'], listing: RegExp) => {
      const decide = injector.decide.bind(injector);
      injector.decide = (method, path) => {
        const d = decide(method, path);
        if (method === 'GET' && listing.test(path)) listings++;
        if (method === 'GET' || path.endsWith('_auth') || listings >= 4) return d;
        return { ...d, delayMs: d.delayMs + 3000 };
      };
      unhold.push(() => (injector.decide = decide));
    };
    hold(world.kazoo.faults, /\/connectivity$/);
    hold(world.cloudflare.faults, /\/directory\/services$/);
    const [one, two] = await Promise.all([apply(), apply()]);
    for (const u of unhold) u();
    world.faults({});
    for (const r of [one, two]) {
      expect(stackLines(r.output)).toEqual([]);
      // Each run created or adopted every document, and verified it.
      expect(r.code, r.output).toBe(0);
    }
    const kazoo = (world.kazoo.dump().docs?.[ACCOUNTS.acme] ?? []).filter(
      (d) => d['pvt_deleted'] !== true,
    );
    const names = kazoo.map((d) => String(d['name'])).sort();
    expect(names).toEqual(Array.from({ length: DOCS }, (_, i) => `trunk-${i}`).sort());
    const services = world.cloudflare
      .dump()
      .services.map((s) => String(s['name']))
      .sort();
    expect(services).toEqual(Array.from({ length: DOCS }, (_, i) => `svc-${i}`).sort());
    // At least one run met the other's objects (otherwise the test proved nothing).
    expect(one.output + two.output).toMatch(/adopted/);
    const plan = await world.cli(['plan', '--detailed-exitcode']);
    expect(plan.code, plan.out + plan.err).toBe(0);
  }, 60_000);
});
