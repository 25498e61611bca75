/**
 * Finds a Node 24 binary for the runtime the Action declares (`runs.using: node24`):
 * CONNOPS_NODE24, else the npm-installed `node-<platform>-<arch>@24` that
 * `npm run test:node24` puts under node_modules/.cache/node24, else this process
 * when it already is Node 24. Never downloads anything.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const NODE24_CACHE = join(
  import.meta.dirname,
  '..',
  '..',
  'node_modules',
  '.cache',
  'node24',
);

export function findNode24(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  const candidates = [
    env['CONNOPS_NODE24'] ? resolve(env['CONNOPS_NODE24']) : undefined,
    join(NODE24_CACHE, 'node_modules', `node-${process.platform}-${process.arch}`, 'bin', 'node'),
    process.version.startsWith('v24.') ? process.execPath : undefined,
  ];
  for (const c of candidates) {
    if (!c || !existsSync(c)) continue;
    try {
      if (execFileSync(c, ['--version'], { encoding: 'utf8' }).trim().startsWith('v24.')) return c;
    } catch {
      // Not runnable here (wrong platform, broken download): try the next one.
    }
  }
  return undefined;
}
