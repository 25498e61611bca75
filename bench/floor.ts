/**
 * The floor of this machine and emulator: the plan's reads made by a bare
 * client, with no connops in between. One sign-in, then every listing and
 * document GET (paths from `floor-requests.json` in the estate directory) through
 * one undici pool with `concurrency` connections, each body parsed with
 * JSON.parse and dropped. Its ratio to the lower bound is what the rig itself
 * costs (emulator CPU, timers, the client's parse), so connops' own overhead
 * is the plan's ratio over this one.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';

export interface FloorRun {
  readonly requests: number;
  readonly firstStart: number;
  readonly lastEnd: number;
}

export async function readFloor(cwd: string, concurrency: number): Promise<FloorRun> {
  const url = new URL(process.env['KAZOO_URL'] ?? '');
  const paths = JSON.parse(readFileSync(join(cwd, 'floor-requests.json'), 'utf8')) as string[];
  const pool = new Pool(url.origin, { connections: concurrency, pipelining: 1 });
  const firstStart = performance.now();
  try {
    const auth = await pool.request({
      method: 'PUT',
      path: `${url.pathname}/api_auth`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: { api_key: process.env['KAZOO_API_KEY'] } }),
    });
    const token = (JSON.parse(await auth.body.text()) as { auth_token: string }).auth_token;
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < paths.length) {
        const path = `${url.pathname}${paths[next++] as string}`;
        const res = await pool.request({ method: 'GET', path, headers: { 'x-auth-token': token } });
        const body = await res.body.text();
        if (res.statusCode !== 200)
          throw new Error(`floor: GET ${path} answered ${res.statusCode}`);
        JSON.parse(body);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    return { requests: paths.length + 1, firstStart, lastEnd: performance.now() };
  } finally {
    await pool.close();
  }
}
