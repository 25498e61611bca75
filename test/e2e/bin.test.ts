/**
 * Smoke test of the built artefact: spawns `node bin/connops.js` (which runs the
 * bundled dist/cli.js) against the emulators. This is the test that catches
 * bundling and ESM-interop problems (fast-json-patch, ajv) that vitest hides.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORDS as SECRETS, startWorld, type World } from '../helpers/world.ts';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'connops.js');

let world: World;
beforeAll(async () => {
  world = await startWorld();
  await world.seedNumbers(); // the spawned CLI does not go through world.cli
});
afterAll(async () => {
  await world.close();
});

function connops(
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        cwd: world.dir,
        env: { PATH: process.env['PATH'] ?? '', ...world.env, ...extraEnv },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
          out: stdout,
          err: stderr,
        });
      },
    );
  });
}

describe('the built bin (dist/cli.js)', () => {
  it('exists: run `npm run build` (the dist check in CI keeps it current)', () => {
    expect(existsSync(join(root, 'dist', 'cli.js'))).toBe(true);
  });

  it('runs validate → plan → apply → plan against the emulators with the right exit codes', async () => {
    const version = await connops(['--version']);
    expect(version.out).toMatch(/^connops \d+\.\d+\.\d+/);
    // Nothing else: the heap setting at start (src/io/heap.ts) is a flag this V8 knows.
    expect(version.err).toBe('');
    expect((await connops(['validate'])).code).toBe(0);
    expect((await connops(['plan', '--detailed-exitcode'])).code).toBe(2);
    const apply = await connops(['apply', '--yes']);
    expect(apply.code, apply.err).toBe(0);
    const plan = await connops(['plan', '--detailed-exitcode', '--format', 'json']);
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.out)).toMatchObject({
      format_version: '1',
      summary: { create: 0, update: 0, delete: 0, noop: 8 },
    });
    for (const s of Object.values(SECRETS))
      expect(apply.out + apply.err + plan.out).not.toContain(s);
  });

  it('exits 64 on a usage error and 3 on invalid input, without a stack trace', async () => {
    const usage = await connops(['nonsense']);
    expect(usage.code).toBe(64);
    const invalid = await connops(['validate', '--config', 'missing.yaml']);
    expect(invalid.code).toBe(3);
    expect(invalid.out + invalid.err).not.toMatch(/\n\s+at /);
  });

  it('validate starts dist/check-worker.js when asked for threads, and it runs to the end', async () => {
    const one = await connops(['validate', '--format', 'json'], { CONNOPS_THREADS: '1' });
    const two = await connops(['validate', '--format', 'json'], {
      CONNOPS_THREADS: '2',
      CONNOPS_DEBUG: '1',
    });
    expect(two.code).toBe(0);
    expect(two.out).toBe(one.out);
    // A worker that failed to load or crashed would be named after a ";".
    expect(two.err).toMatch(/^connops: checked \d+ files in [12] threads?$/m);
  });
});
