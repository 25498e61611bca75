/**
 * connops installs as a package: `npm pack`, then `npm install <tarball>` in an
 * empty folder (offline: the bundle in dist/ has no runtime dependency, so no
 * registry is asked), then `npx connops --version` and `npx connops validate`
 * on a copy of examples/ with no variable set. Uses dist/ as committed (the
 * lead rebuilds it at merge; `npm run build` locally to test source changes).
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A child environment without the variables the examples read, nor npm's own from this run. */
function cleanEnv(cache: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(npm_|KAZOO_|CLOUDFLARE_|ACME_|GLOBEX_|INITECH_)/i.test(k)) env[k] = v;
  return { ...env, npm_config_cache: cache, npm_config_update_notifier: 'false', NO_COLOR: '1' };
}

describe('the npm package', () => {
  it('declares what it ships and needs nothing at run time', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
      private?: boolean;
      files?: string[];
      dependencies?: Record<string, string>;
      bin?: Record<string, string>;
    };
    expect(pkg.private).toBeUndefined();
    expect(pkg.files).toEqual(expect.arrayContaining(['bin/connops.js', 'dist/cli.js']));
    // dist/ is one bundle: everything it uses is inside it.
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.bin?.['connops']).toBe('bin/connops.js');
  });

  it('packs, installs offline into an empty folder, and runs with npx', async () => {
    const work = await mkdtemp(join(tmpdir(), 'connops-pack-'));
    dirs.push(work);
    const env = cleanEnv(join(work, 'npm-cache'));
    const packed = await run('npm', ['pack', '--silent', '--pack-destination', work], {
      cwd: root,
      env,
    });
    const tarball = join(work, packed.stdout.trim().split('\n').pop() ?? '');
    const app = join(work, 'app');
    await cp(join(root, 'examples', 'connops.yaml'), join(app, 'connops.yaml'));
    await cp(join(root, 'examples', 'connectivity'), join(app, 'connectivity'), {
      recursive: true,
    });
    await run('npm', ['init', '-y'], { cwd: app, env });
    await run(
      'npm',
      ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball],
      { cwd: app, env },
    );
    const version = await run('npx', ['--no-install', 'connops', '--version'], { cwd: app, env });
    expect(version.stdout).toBe('connops 0.1.0\n');
    const validate = await run('npx', ['--no-install', 'connops', 'validate'], { cwd: app, env });
    expect(validate.stdout).toMatch(/^OK: 8 documents in 5 files, no problems/m);
  }, 120_000);
});
