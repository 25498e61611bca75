// `npm run test:node24`: fetches Node 24 from the npm registry (the node-<platform>-<arch>
// package, which needs no install script) into node_modules/.cache/node24 unless
// CONNOPS_NODE24 is set, then runs the bundled Action's smoke test with it
// (`--fetch-only`: fetch, and stop).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const cache = join('node_modules', '.cache', 'node24');
let node = process.env.CONNOPS_NODE24;
if (!node) {
  node = resolve(cache, 'node_modules', `node-${process.platform}-${process.arch}`, 'bin', 'node');
  if (!existsSync(node)) {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    execFileSync(
      npm,
      [
        'install',
        '--prefix',
        cache,
        '--no-save',
        '--no-audit',
        '--no-fund',
        `node-${process.platform}-${process.arch}@24`,
      ],
      { stdio: 'inherit' },
    );
  }
}
console.log(`Node 24: ${execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()} (${node})`);
// `--fetch-only` (used by .ci/run): leave the binary in the cache for `npm test` to find.
if (process.argv.includes('--fetch-only')) process.exit(0);
execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
execFileSync(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', 'test/action/node24.test.ts'],
  {
    stdio: 'inherit',
    env: { ...process.env, CONNOPS_NODE24: resolve(node) },
  },
);
