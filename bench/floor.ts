/**
 * The floor of this machine and emulator: what connops' requests cost when a
 * bare client makes them, with no connops in between. One undici pool with
 * `concurrency` connections, every body parsed with JSON.parse and dropped.
 * Its ratio to the lower bound is what the rig itself costs (emulator CPU,
 * timers, the client's parse), so connops' own overhead is its ratio over
 * this one.
 *
 * - reads (`floor-requests.json` in the estate directory): one sign-in, then
 *   the plan's listing and document GETs;
 * - writes (`floor-writes.json`): apply's PATCHes, with the bodies connops
 *   sends and `If-Match` on the live revision, then a read-back GET of each.
 *   Only those two phases are timed; the GETs that learn the revisions first
 *   stand for the plan, which the reads floor measures.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { mapInOrder } from '../src/engine/concurrency.ts';

export interface FloorRun {
  /** Requests timed. */
  readonly requests: number;
  readonly firstStart: number;
  readonly lastEnd: number;
}

/** A PATCH apply sends: the document's path below the base URL and its JSON body. */
export interface FloorWrite {
  readonly path: string;
  readonly body: unknown;
}

interface Floor {
  readonly pool: Pool;
  readonly basePath: string;
  readonly headers: Record<string, string>;
  /** `fn` over `items`, `concurrency` at a time. */
  lanes<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<unknown>;
  /** Sends one request; its body parsed, or an error unless the status is 200. */
  send(method: 'GET' | 'PATCH', path: string, extra?: object): Promise<unknown>;
}

async function openFloor(concurrency: number): Promise<Floor> {
  const url = new URL(process.env['KAZOO_URL'] ?? '');
  const pool = new Pool(url.origin, { connections: concurrency, pipelining: 1 });
  const auth = await pool.request({
    method: 'PUT',
    path: `${url.pathname}/api_auth`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data: { api_key: process.env['KAZOO_API_KEY'] } }),
  });
  const token = (JSON.parse(await auth.body.text()) as { auth_token: string }).auth_token;
  const headers = { 'x-auth-token': token, 'content-type': 'application/json' };
  return {
    pool,
    basePath: url.pathname,
    headers,
    lanes: (items, fn) => mapInOrder(items, concurrency, fn),
    async send(method, path, extra = {}) {
      const res = await pool.request({ method, path: `${url.pathname}${path}`, headers, ...extra });
      const body = await res.body.text();
      if (res.statusCode !== 200)
        throw new Error(`floor: ${method} ${path} answered ${res.statusCode}`);
      return JSON.parse(body);
    },
  };
}

export async function readFloor(cwd: string, concurrency: number): Promise<FloorRun> {
  const paths = JSON.parse(readFileSync(join(cwd, 'floor-requests.json'), 'utf8')) as string[];
  const firstStart = performance.now();
  const floor = await openFloor(concurrency);
  try {
    await floor.lanes(paths, async (path) => void (await floor.send('GET', path)));
    return { requests: paths.length + 1, firstStart, lastEnd: performance.now() };
  } finally {
    await floor.pool.close();
  }
}

export async function writeFloor(cwd: string, concurrency: number): Promise<FloorRun> {
  const writes = JSON.parse(readFileSync(join(cwd, 'floor-writes.json'), 'utf8')) as FloorWrite[];
  const floor = await openFloor(concurrency);
  try {
    const revisions = new Map<string, string>();
    await floor.lanes(writes, async (w) => {
      const got = (await floor.send('GET', w.path)) as { revision: string };
      revisions.set(w.path, got.revision);
    });
    const firstStart = performance.now();
    await floor.lanes(writes, async (w) => {
      await floor.send('PATCH', w.path, {
        headers: { ...floor.headers, 'if-match': `"${revisions.get(w.path) ?? ''}"` },
        body: JSON.stringify({ data: w.body }),
      });
    });
    await floor.lanes(writes, async (w) => void (await floor.send('GET', w.path)));
    return { requests: 2 * writes.length, firstStart, lastEnd: performance.now() };
  } finally {
    await floor.pool.close();
  }
}
