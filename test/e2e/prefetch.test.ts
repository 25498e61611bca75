/**
 * Reads of live state start while the documents are still loading (issue 24
 * item 2, engine/prefetch.ts), and that never lets an invalid repository lead
 * to a write or to a plan shown or saved: against the emulator over loopback.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planProject } from '../../src/engine/project.ts';
import { workingTree, type FileSource } from '../../src/engine/load.ts';
import { SecretSet } from '../../src/io/redact.ts';
import { ACCOUNTS, startWorld, type World } from '../helpers/world.ts';

let world: World;
afterEach(async () => {
  await world?.close();
});

/** Every request the Kazoo emulator sees, as "METHOD /path". */
function recordRequests(w: World): string[] {
  const seen: string[] = [];
  const decide = w.kazoo.faults.decide.bind(w.kazoo.faults);
  w.kazoo.faults.decide = (m, p) => {
    seen.push(`${m} ${p}`);
    return decide(m, p);
  };
  return seen;
}

/**
 * The working tree, except that reading the files at or after `gate` (in
 * sorted order) waits until `until()` holds, for at most two seconds; `held`
 * says whether it held in time.
 */
function gatedSource(gate: string, until: () => boolean): FileSource & { held?: boolean } {
  const source: FileSource & { held?: boolean } = {
    label: 'working tree',
    list: (dir, globs) => workingTree.list(dir, globs),
    async read(path) {
      if (path.endsWith('.yaml') && path.includes('/connectivity/') && path >= gate) {
        for (let i = 0; i < 400 && !until(); i++) await new Promise((r) => setTimeout(r, 5));
        source.held ??= until();
      }
      return workingTree.read(path);
    },
  };
  return source;
}

const acmeListing = `GET /v2/accounts/${ACCOUNTS.acme}/connectivity`;

async function plan(w: World, source: FileSource) {
  return planProject({
    configPath: join(w.dir, 'connops.yaml'),
    cwd: w.dir,
    env: w.env,
    secrets: new SecretSet(),
    source,
  });
}

describe('reads while loading', () => {
  it('starts reading the accounts already loaded before the last file is read', async () => {
    world = await startWorld();
    await world.seedNumbers();
    const seen = recordRequests(world);
    // The acme files sort first; the later files wait for acme's listing.
    const source = gatedSource(join(world.dir, 'connectivity', 'globex'), () =>
      seen.some((r) => r.startsWith(acmeListing)),
    );
    const result = await plan(world, source);
    expect(result.invalid).toBeFalsy();
    if (!result.invalid) await result.pool.closeAll();
    expect(source.held).toBe(true);
    // Read once, not again after loading.
    expect(seen.filter((r) => r === acmeListing)).toHaveLength(1);
  });

  it('CONNOPS_PREFETCH=0 reads only after loading', async () => {
    world = await startWorld();
    await world.seedNumbers();
    const seen = recordRequests(world);
    const source = gatedSource(join(world.dir, 'connectivity', 'globex'), () =>
      seen.some((r) => r.startsWith(acmeListing)),
    );
    const result = await planProject({
      configPath: join(world.dir, 'connops.yaml'),
      cwd: world.dir,
      env: { ...world.env, CONNOPS_PREFETCH: '0' },
      secrets: new SecretSet(),
      source,
    });
    if (!result.invalid) await result.pool.closeAll();
    expect(source.held).toBe(false);
  });
});

describe('an invalid document found after reads began', () => {
  /** A file sorting last whose document is invalid (a spec error). */
  const bad = 'kind: kazoo/connectivity\ntarget: kazoo-prod\naccount: nope\nname: x\nspec: {}\n';

  it('planProject returns invalid with every diagnostic, though reads had started', async () => {
    world = await startWorld();
    await writeFile(join(world.dir, 'connectivity', 'zz-bad.yaml'), bad);
    const seen = recordRequests(world);
    const source = gatedSource(join(world.dir, 'connectivity', 'zz-bad.yaml'), () =>
      seen.some((r) => r.startsWith(acmeListing)),
    );
    const result = await plan(world, source);
    expect(source.held).toBe(true);
    expect(result.invalid).toBe(true);
    if (result.invalid) {
      expect(result.errors).toBeGreaterThan(0);
      expect(result.diagnostics.some((d) => d.file.endsWith('zz-bad.yaml'))).toBe(true);
    }
    expect(seen.filter((r) => !r.startsWith('GET ') && !r.endsWith('/api_auth'))).toEqual([]);
  });

  it.each([['plan'], ['plan', '--out', 'plan.json'], ['apply', '--yes'], ['drift']])(
    '%s: exit 3, every diagnostic, no plan shown or saved, no write',
    async (...argv) => {
      world = await startWorld();
      await writeFile(join(world.dir, 'connectivity', 'zz-bad.yaml'), bad);
      const seen = recordRequests(world);
      const r = await world.cli(argv);
      expect(r.code, r.out + r.err).toBe(3);
      expect(r.err).toContain('connectivity/zz-bad.yaml:3:10: error:');
      expect(r.out).not.toMatch(/Plan:|No changes|to create|Apply:/);
      expect(existsSync(join(world.dir, 'plan.json'))).toBe(false);
      expect(seen.filter((x) => !x.startsWith('GET ') && !x.endsWith('/api_auth'))).toEqual([]);
    },
  );
});
