/**
 * Nothing lost (INVARIANTS.md items 13 and 14), against the built CLI and the
 * emulators: an audit log that cannot be opened stops the apply before any
 * write; SIGINT/SIGTERM mid-apply start no new write, finish and record the
 * ones in flight, and exit 130/143 with the audit file matching live state; a
 * second signal ends at once; a write whose answer was lost is read back and
 * reported by what the server actually holds.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FaultDecision } from '../../src/emulator/faults.ts';
import { buildBin, spawnCli } from '../helpers/bin.ts';
import {
  ACCOUNTS,
  stackLines,
  startWorld,
  useFastRetries,
  type LiveState,
  type World,
} from '../helpers/world.ts';

const COUNT = 30;

const CONFIG = [
  'targets:',
  '  kazoo-prod:',
  '    type: kazoo',
  '    url: ${env:KAZOO_URL}',
  "    schema: '4.3'",
  '    auth:',
  '      api_key: ${env:KAZOO_API_KEY}',
  '    concurrency: 4',
  'documents: [docs/*.yaml]',
  'policy: { max_changes: 1000, max_deletes: 0 }',
  '',
].join('\n');

/** v1: COUNT documents; v2: each of them changed, plus one new document. */
function documents(version: 1 | 2): string {
  const docs: string[] = [];
  for (let i = 0; i < COUNT + (version === 2 ? 1 : 0); i++) {
    docs.push(
      [
        'kind: kazoo/connectivity',
        'target: kazoo-prod',
        `account: ${ACCOUNTS.acme}`,
        `name: trunk-${String(i).padStart(3, '0')}`,
        'spec:',
        `  account: { trunks: ${version === 1 ? 2 : 5} }`,
        '  servers:',
        `    - name: pbx-${i}`,
        `      auth: { auth_method: ip, ip: 198.51.100.${i + 1} }`,
        `      DIDs: { '+1415555${String(1000 + i).slice(-4)}': {} }`,
        '      options: { inbound_format: e164, enabled: true }',
      ].join('\n'),
    );
  }
  return docs.join('\n---\n') + '\n';
}

interface AuditLine {
  readonly name: string;
  readonly action: string;
  readonly status: string;
  readonly commit: unknown;
  readonly dirty: unknown;
}

async function readAudit(path: string): Promise<AuditLine[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditLine);
}

const nameOf = (key: string): string => key.split('/').pop() ?? key;

let binDir = '';
let world: World;
let prior: LiveState;

/** Counts the write requests the Kazoo emulator receives while `fn` runs; `onWrite(n)` sees each. */
function watchWrites(onWrite: (n: number) => void = () => {}): {
  count: () => number;
  stop: () => void;
} {
  const injector = world.kazoo.faults;
  const decide = injector.decide.bind(injector);
  let writes = 0;
  injector.decide = (method: string, path: string): FaultDecision => {
    if (method !== 'GET' && !path.endsWith('_auth')) onWrite(++writes);
    return decide(method, path);
  };
  return { count: () => writes, stop: () => void (injector.decide = decide) };
}

beforeAll(async () => {
  useFastRetries();
  binDir = await buildBin();
}, 60_000);

afterAll(async () => {
  await rm(binDir, { recursive: true, force: true });
});

/** A fresh world at v1, with v2 written to the files (COUNT updates and one create pending). */
async function freshWorld(): Promise<void> {
  world = await startWorld({ files: { 'connops.yaml': CONFIG, 'docs/trunks.yaml': documents(1) } });
  const v1 = await world.cli(['apply', '--yes']);
  expect(v1.code, v1.out + v1.err).toBe(0);
  prior = world.state();
  await writeFile(join(world.dir, 'docs/trunks.yaml'), documents(2));
  await world.seedNumbers(); // the spawned CLI does not go through world.cli
}

afterEach(async () => {
  world.faults({});
  await world.close();
});

describe('the audit log', () => {
  it('that cannot be opened stops the apply before any write (exit 1, a clear message)', async () => {
    await freshWorld();
    const writes = watchWrites();
    const r = await world.cli(['apply', '--yes', '--log-file', 'no/such/folder/audit.jsonl']);
    writes.stop();
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.err).toContain('cannot open the audit log');
    expect(r.err).toContain('its folder does not exist');
    expect(r.err).toContain('nothing was written');
    expect(r.err).not.toContain('internal error');
    expect(writes.count()).toBe(0);
    expect(world.state()).toEqual(prior);
  });

  it('has one line per write, with the commit and the dirty flag, written as each write completes', async () => {
    await freshWorld();
    const log = join(world.dir, 'audit.jsonl');
    const seen: number[] = [];
    // When the 10th write arrives, the lines of the writes before it are already on disk.
    const writes = watchWrites((n) => {
      if (n === 10) void readAudit(log).then((l) => seen.push(l.length));
    });
    const r = await world.cli(['apply', '--yes', '--log-file', log]);
    writes.stop();
    expect(r.code, r.out + r.err).toBe(0);
    const all = await readAudit(log);
    // The number manager's used_by repair is a write too: one line per account it ran in.
    const repairs = all.filter((l) => l.action === 'repair-numbers');
    expect(repairs.length).toBeGreaterThan(0);
    const lines = all.filter((l) => l.action !== 'repair-numbers');
    expect(lines).toHaveLength(COUNT + 1);
    for (const l of all) {
      expect(l).toHaveProperty('commit');
      expect(l).toHaveProperty('dirty');
      expect(l.status).toBe('ok');
    }
    expect(seen[0]).toBeGreaterThanOrEqual(5);
  });
});

describe.each([
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const)('%s during apply', (signal, exitCode) => {
  it(`starts no new write, finishes and records the ones in flight, exits ${exitCode}`, async () => {
    await freshWorld();
    world.faults({ latencyMs: 40 });
    const log = join(world.dir, 'audit.jsonl');
    const cli = spawnCli(binDir, ['apply', '--yes', '--log-file', log], world.dir, world.env);
    const writes = watchWrites((n) => {
      if (n === 12) cli.child.kill(signal);
    });
    const result = await cli.done;
    writes.stop();
    world.faults({});
    expect(result.signal, result.output).toBeNull();
    expect(result.code, result.output).toBe(exitCode);
    expect(result.output).toContain(`${signal}: starting no new write`);
    expect(stackLines(result.output)).toEqual([]);

    const lines = await readAudit(log);
    const live = world.state();
    const changed = [...live].filter(([k, v]) => prior.get(k) !== v).map(([k]) => nameOf(k));
    const recorded = lines.filter((l) => l.status === 'ok').map((l) => l.name);
    // Every write the server holds is in the audit file, and nothing else is.
    expect(recorded.sort()).toEqual(changed.sort());
    expect(lines.length).toBeGreaterThanOrEqual(12);
    expect(lines.length).toBeLessThan(COUNT + 1);
    // Every write was sent once at most, and each is reported on stdout.
    expect(writes.count()).toBe(lines.length);
    for (const name of recorded)
      expect(result.output).toMatch(new RegExp(`✓ \\w+ kazoo/connectivity "${name}"`));
    const notStarted = result.output.match(/not started: interrupted by SIG/g) ?? [];
    expect(notStarted.length).toBe(COUNT + 1 - lines.length);

    // A later run applies the rest.
    const rest = await world.cli(['apply', '--yes']);
    expect(rest.code, rest.out + rest.err).toBe(0);
    expect((await world.cli(['plan', '--detailed-exitcode'])).code).toBe(0);
  }, 60_000);
});

describe('a second signal', () => {
  it('ends the process at once, without waiting for the writes in flight', async () => {
    await freshWorld();
    // Each write is held 5 s by the server, so waiting for one would show.
    world.faults({
      script: [
        { method: 'PATCH', action: 'delay', delayMs: 5000, times: 1000 },
        { method: 'PUT', path: '/connectivity', action: 'delay', delayMs: 5000, times: 1000 },
      ],
    });
    const log = join(world.dir, 'audit.jsonl');
    const cli = spawnCli(binDir, ['apply', '--yes', '--log-file', log], world.dir, world.env);
    const writes = watchWrites((n) => {
      if (n !== 1) return;
      cli.child.kill('SIGTERM');
      setTimeout(() => cli.child.kill('SIGTERM'), 300);
    });
    const result = await cli.done;
    writes.stop();
    expect(result.code, result.output).toBe(143);
    expect(await readAudit(log)).toEqual([]);
  }, 30_000);
});

describe('a write whose answer was lost', () => {
  it('is read back: a PATCH the server applied is reported and audited as applied', async () => {
    await freshWorld();
    const log = join(world.dir, 'audit.jsonl');
    world.faults({
      script: [
        { method: 'PATCH', action: 'cut' },
        { method: 'PUT', path: '/connectivity', action: 'cut' },
      ],
    });
    const r = await world.cli(['apply', '--yes', '--log-file', log]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out.match(/reading it back shows it applied/g)).toHaveLength(2);
    expect(r.out).not.toContain('✗');
    const lines = await readAudit(log);
    expect(lines.filter((l) => l.status !== 'ok')).toEqual([]);
    expect((await world.cli(['plan', '--detailed-exitcode'])).code).toBe(0);
  });

  it('is read back: a PATCH the server never applied is reported as not applied', async () => {
    await freshWorld();
    // Every PATCH, and each of its retries, is refused before the server does any work.
    world.faults({ script: [{ method: 'PATCH', action: 'status', status: 503, times: 10_000 }] });
    const r = await world.cli(['apply', '--yes']);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).not.toMatch(/✓ update/);
    const live = world.state();
    for (const [key, body] of prior) expect(live.get(key), key).toBe(body);
    expect(r.out).toMatch(
      /✗ update .*not applied: reading it back shows the revision it was planned against/,
    );
  });
});
