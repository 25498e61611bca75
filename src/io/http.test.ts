import { makeSelfSignedCert } from '../../test/helpers/tls.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as HttpsServer, createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnopsError, HttpError } from '../core/errors.ts';
import { Semaphore, backoffDelay, createHttpClient, parseRetryAfter } from './http.ts';
import type { HttpClient, HttpClientOptions, HttpDeps, RequestEvent } from './http-types.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

interface Loopback {
  readonly url: string;
  readonly port: number;
  hits: number;
  sockets: number;
  inFlight: number;
  maxInFlight: number;
  readonly seenHeaders: Array<Record<string, string | string[] | undefined>>;
  close(): Promise<void>;
}

const open: Array<{ close(): Promise<void> }> = [];

/** Starts a node:http server on 127.0.0.1:0 that counts requests, sockets and concurrent requests. */
async function loopback(
  handler: Handler,
  server: Server | HttpsServer = createServer(),
): Promise<Loopback> {
  const state: Loopback = {
    url: '',
    port: 0,
    hits: 0,
    sockets: 0,
    inFlight: 0,
    maxInFlight: 0,
    seenHeaders: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => {
    state.sockets += 1;
  });
  server.on('secureConnection', () => {
    state.sockets += 1;
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    state.hits += 1;
    state.inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    state.seenHeaders.push(req.headers);
    const done = (): void => {
      state.inFlight -= 1;
    };
    res.on('close', done);
    // Read the request body before answering so keep-alive sockets stay reusable.
    req.resume();
    req.on('end', () => handler(req, res, state.hits));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const scheme = server instanceof HttpsServer ? 'https' : 'http';
  Object.assign(state, { port, url: `${scheme}://127.0.0.1:${port}/v2` });
  open.push(state);
  return state;
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

interface Harness {
  readonly client: HttpClient;
  readonly sleeps: number[];
  readonly events: RequestEvent[];
  readonly retries: string[];
}

function harness(
  url: string,
  extra: Partial<HttpClientOptions> = {},
  deps: Partial<HttpDeps> = {},
): Harness {
  const sleeps: number[] = [];
  const events: RequestEvent[] = [];
  const retries: string[] = [];
  const client = createHttpClient({
    target: 'kazoo-test',
    baseUrl: url,
    concurrency: 4,
    timeoutMs: 5_000,
    maxRetries: 4,
    ...extra,
    deps: {
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      random: () => 0.5,
      onRequest: (e) => events.push(e),
      onRetry: (i) => retries.push(i.reason),
      ...deps,
    },
  });
  open.push(client);
  return { client, sleeps, events, retries };
}

afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it.each([
    ['3', 3000],
    [' 0 ', 0],
    ['Wed, 01 Jan 2025 00:00:07 GMT', 7000],
    ['Tue, 31 Dec 2024 23:59:00 GMT', 0],
    ['soon', undefined],
    [undefined, undefined],
  ])('%j → %j', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('backoffDelay', () => {
  it.each([
    [1, 1, 200],
    [2, 1, 400],
    [3, 0.5, 400],
    [10, 1, 10_000],
    [30, 0.5, 5_000],
    [4, 0, 0],
  ])('retry %d with random %d → %d ms', (retry, r, expected) => {
    expect(backoffDelay(retry, () => r)).toBe(expected);
  });
});

describe('Semaphore', () => {
  it('serves waiters in arrival order and never exceeds the limit', async () => {
    const sem = new Semaphore(2);
    const order: number[] = [];
    await sem.acquire();
    await sem.acquire();
    const waiting = [3, 4, 5].map((n) => sem.acquire().then(() => order.push(n)));
    expect(sem.inFlight).toBe(2);
    sem.release();
    sem.release();
    sem.release();
    await Promise.all(waiting);
    expect(order).toEqual([3, 4, 5]);
    expect(sem.inFlight).toBe(2);
  });

  it('drops a waiter whose signal aborts', async () => {
    const sem = new Semaphore(1);
    await sem.acquire();
    const ac = new AbortController();
    const waiting = sem.acquire(ac.signal);
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    sem.release();
    expect(sem.inFlight).toBe(0);
  });
});

describe('createHttpClient against a loopback server', () => {
  it('sends JSON to the base path and parses a JSON answer', async () => {
    let seen = { method: '', url: '', body: '' };
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen = { method: req.method ?? '', url: req.url ?? '', body };
        json(res, 201, { data: { ok: true } }, { 'x-request-id': 'req-1' });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
    const { port } = server.address() as AddressInfo;
    const { client, events } = harness(`http://127.0.0.1:${port}/v2/`);
    const res = await client.request({
      method: 'PUT',
      path: '/accounts/a/connectivity?x=1',
      body: { data: { n: 1 } },
      idempotent: false,
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ data: { ok: true } });
    expect(seen).toEqual({
      method: 'PUT',
      url: '/v2/accounts/a/connectivity?x=1',
      body: '{"data":{"n":1}}',
    });
    expect(events).toEqual([
      expect.objectContaining({
        target: 'kazoo-test',
        method: 'PUT',
        path: '/accounts/a/connectivity',
        status: 201,
        attempt: 1,
        requestId: 'req-1',
      }),
    ]);
  });

  it('retries 429 honouring Retry-After seconds', async () => {
    const srv = await loopback((_req, res, hit) => {
      if (hit <= 2) json(res, 429, { message: 'too_many_requests' }, { 'retry-after': '2' });
      else json(res, 200, { ok: 1 });
    });
    const { client, sleeps, events } = harness(srv.url);
    const res = await client.request({ method: 'PUT', path: '/x', body: {}, idempotent: false });
    expect(res.status).toBe(200);
    expect(sleeps).toEqual([2000, 2000]);
    expect(events.map((e) => [e.status, e.attempt])).toEqual([
      [429, 1],
      [429, 2],
      [200, 3],
    ]);
  });

  it('retries 429 without Retry-After with jittered backoff', async () => {
    const srv = await loopback((_req, res, hit) =>
      hit <= 3 ? json(res, 429, {}) : json(res, 200, {}),
    );
    const { client, sleeps, retries } = harness(srv.url);
    const res = await client.request({ method: 'POST', path: '/x', body: {}, idempotent: false });
    expect(res.status).toBe(200);
    // random() = 0.5 → half of 200, 400, 800.
    expect(sleeps).toEqual([100, 200, 400]);
    expect(retries).toEqual(['HTTP 429', 'HTTP 429', 'HTTP 429']);
  });

  it('returns the 429 when Retry-After exceeds the longest accepted wait', async () => {
    const srv = await loopback((_req, res) => json(res, 429, {}, { 'retry-after': '120' }));
    const { client, sleeps } = harness(srv.url, { maxRetryAfterMs: 60_000 });
    const res = await client.request({ method: 'GET', path: '/x', idempotent: true });
    expect(res.status).toBe(429);
    expect(srv.hits).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it('returns the last 429 after the allowed retries', async () => {
    const srv = await loopback((_req, res) => json(res, 429, {}, { 'retry-after': '0' }));
    const { client } = harness(srv.url, { maxRetries: 2 });
    const res = await client.request({ method: 'GET', path: '/x', idempotent: true });
    expect(res.status).toBe(429);
    expect(srv.hits).toBe(3);
  });

  it.each([500, 502, 503, 504])(
    'retries %d only when the request is idempotent',
    async (status) => {
      const srv = await loopback((_req, res, hit) =>
        hit === 1 || hit === 3 ? json(res, status, {}) : json(res, 200, {}),
      );
      const { client } = harness(srv.url);
      expect((await client.request({ method: 'GET', path: '/x', idempotent: true })).status).toBe(
        200,
      );
      expect(srv.hits).toBe(2);
      expect(
        (await client.request({ method: 'PUT', path: '/x', body: {}, idempotent: false })).status,
      ).toBe(status);
      expect(srv.hits).toBe(3);
    },
  );

  it('does not retry other error statuses', async () => {
    const srv = await loopback((_req, res) => json(res, 400, { message: 'validation error' }));
    const { client } = harness(srv.url);
    const res = await client.request({ method: 'GET', path: '/x', idempotent: true });
    expect(res.status).toBe(400);
    expect(srv.hits).toBe(1);
  });

  it('retries a connection reset mid-response for idempotent requests', async () => {
    const srv = await loopback((req, res, hit) => {
      if (hit === 1) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"data":');
        setImmediate(() => req.socket.resetAndDestroy());
      } else json(res, 200, { data: 'ok' });
    });
    const { client, retries } = harness(srv.url);
    const res = await client.request({ method: 'GET', path: '/x', idempotent: true });
    expect(res.body).toEqual({ data: 'ok' });
    expect(srv.hits).toBe(2);
    expect(retries).toHaveLength(1);
  });

  it('does not retry a reset for a non-idempotent request and says why', async () => {
    const srv = await loopback((req) => req.socket.resetAndDestroy());
    const { client } = harness(srv.url);
    const err = await client
      .request({ method: 'PUT', path: '/accounts/a/connectivity', body: {}, idempotent: false })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).message).toMatch(
      /^Cannot reach kazoo-test \(PUT \/accounts\/a\/connectivity\): .*not retried/,
    );
    expect((err as HttpError).cause).toBeDefined();
    expect(srv.hits).toBe(1);
  });

  it('gives up after the allowed attempts with a message in user terms', async () => {
    const srv = await loopback((req) => req.socket.resetAndDestroy());
    const { client, events } = harness(srv.url, { maxRetries: 2 });
    const err = await client
      .request({ method: 'GET', path: '/accounts/a/connectivity?start_key=abc', idempotent: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).message).toMatch(
      /^Cannot reach kazoo-test \(GET \/accounts\/a\/connectivity\): (connection reset by the server|the server closed the connection before answering) after 3 attempts$/,
    );
    expect((err as HttpError).code).toBe('HTTP');
    expect(events.map((e) => e.status)).toEqual([0, 0, 0]);
  });

  it('times out an attempt and retries it when idempotent', async () => {
    const srv = await loopback((_req, res, hit) => {
      if (hit > 1) json(res, 200, { ok: true });
      // The first request is never answered.
    });
    const { client } = harness(srv.url, { timeoutMs: 150 });
    const res = await client.request({ method: 'GET', path: '/slow', idempotent: true });
    expect(res.status).toBe(200);
    expect(srv.hits).toBe(2);
  });

  it('reports a timeout of a non-idempotent request', async () => {
    const srv = await loopback(() => undefined);
    const { client } = harness(srv.url, { timeoutMs: 100 });
    await expect(
      client.request({ method: 'PUT', path: '/slow', body: {}, idempotent: false }),
    ).rejects.toThrow(
      'Cannot reach kazoo-test (PUT /slow): no response within 100 ms (not retried: the server may already have processed it)',
    );
  });

  it('retries a refused connection even for a non-idempotent request (nothing was sent)', async () => {
    const srv = await loopback(() => undefined);
    const url = srv.url;
    await srv.close();
    open.pop();
    const { client, events } = harness(url, { maxRetries: 1 });
    const err = await client
      .request({ method: 'PUT', path: '/x', body: {}, idempotent: false })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /connection refused by http:\/\/127\.0\.0\.1:\d+ \(is the server running\?\) after 2 attempts/,
    );
    expect(events).toHaveLength(2);
  });

  it('never exceeds the concurrency limit and reuses keep-alive sockets', async () => {
    const srv = await loopback((_req, res) => {
      setTimeout(() => json(res, 200, { ok: true }), 5);
    });
    const { client } = harness(srv.url, { concurrency: 3 });
    const all = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        client.request({ method: 'GET', path: `/r/${i}`, idempotent: true }),
      ),
    );
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect(srv.hits).toBe(40);
    expect(srv.maxInFlight).toBeLessThanOrEqual(3);
    expect(srv.sockets).toBeLessThanOrEqual(3);
  });

  it('cuts a body above the size limit and marks it', async () => {
    const big = JSON.stringify({ data: 'x'.repeat(10_000) });
    const srv = await loopback((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(big);
    });
    const { client } = harness(srv.url, { maxBodyBytes: 1024 });
    const res = await client.request({ method: 'GET', path: '/big', idempotent: true });
    expect(res.status).toBe(200);
    expect(res.body).toBeUndefined();
    expect(res.text.startsWith(big.slice(0, 1024))).toBe(true);
    expect(res.text).toContain('[cut: body exceeded 1024 bytes]');
  });

  it('joins a body that arrives in pieces, even with a character split between them', async () => {
    const whole = Buffer.from(JSON.stringify({ name: '€uro trunk', n: 1 }));
    const split = whole.indexOf(Buffer.from('€')) + 1; // inside the three bytes of '€'
    const srv = await loopback((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(whole.subarray(0, split));
      setTimeout(() => res.end(whole.subarray(split)), 20);
    });
    const { client } = harness(srv.url);
    const res = await client.request({ method: 'GET', path: '/x', idempotent: true });
    expect(res.body).toEqual({ name: '€uro trunk', n: 1 });
    expect(res.text).toBe(whole.toString('utf8'));
  });

  it.each([
    ['application/json', '{"broken": ', undefined],
    ['text/plain', '{"a":1}', { a: 1 }],
    ['text/plain', 'plain words', undefined],
    ['application/json', '', undefined],
    ['application/problem+json', '{"a":2}', { a: 2 }],
  ])('content-type %s with body %j parses to %j without throwing', async (type, text, expected) => {
    const srv = await loopback((_req, res) => {
      res.writeHead(200, { 'content-type': type });
      res.end(text);
    });
    const { client } = harness(srv.url);
    const res = await client.request({ method: 'GET', path: '/x', idempotent: true });
    expect(res.body).toEqual(expected);
    expect(res.text).toBe(text);
  });

  it('never puts request headers (tokens) into errors or events', async () => {
    const token = 'eyJhbGciOiJSUzI1NiJ9.secret-token-value';
    const srv = await loopback((req) => req.socket.resetAndDestroy());
    const { client, events } = harness(srv.url, { maxRetries: 1 });
    const err = (await client
      .request({ method: 'GET', path: '/x', headers: { 'x-auth-token': token }, idempotent: true })
      .catch((e: unknown) => e)) as Error;
    expect(srv.seenHeaders[0]?.['x-auth-token']).toBe(token);
    const everything = [
      err.message,
      err.stack ?? '',
      String(err.cause),
      JSON.stringify(events),
      JSON.stringify(err),
    ].join('\n');
    expect(everything).not.toContain(token);
  });

  it('stops when the caller aborts', async () => {
    const srv = await loopback(() => undefined);
    const { client } = harness(srv.url);
    const ac = new AbortController();
    const pending = client.request({
      method: 'GET',
      path: '/x',
      idempotent: true,
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(new Error('user cancelled')), 20);
    await expect(pending).rejects.toThrow('user cancelled');
  });
});

describe('TLS', () => {
  let dir = '';
  let haveOpenssl = true;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'connops-tls-'));
    haveOpenssl = makeSelfSignedCert(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects an untrusted certificate and accepts it once ca_file names it', async (ctx) => {
    if (!haveOpenssl) ctx.skip();
    const server = createHttpsServer({
      key: readFileSync(join(dir, 'key.pem')),
      cert: readFileSync(join(dir, 'cert.pem')),
    });
    const srv = await loopback((_req, res) => json(res, 200, { ok: true }), server);
    const untrusted = harness(srv.url);
    await expect(
      untrusted.client.request({ method: 'GET', path: '/x', idempotent: true }),
    ).rejects.toThrow(/TLS certificate is not trusted .*set ca_file/);
    const trusted = harness(srv.url, { caFile: join(dir, 'cert.pem') });
    expect(
      (await trusted.client.request({ method: 'GET', path: '/x', idempotent: true })).status,
    ).toBe(200);
  });

  it('reports an unreadable ca_file as a configuration error', () => {
    expect(() => harness('https://127.0.0.1:1/v2', { caFile: join(dir, 'missing.pem') })).toThrow(
      ConnopsError,
    );
    expect(() => harness('https://127.0.0.1:1/v2', { caFile: join(dir, 'missing.pem') })).toThrow(
      /Cannot read ca_file .*missing\.pem: ENOENT/,
    );
  });
});

describe('createHttpClient with an injected MockAgent', () => {
  let agent: MockAgent;
  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
  });
  afterEach(async () => {
    agent.assertNoPendingInterceptors();
    await agent.close();
  });

  it('uses the dispatcher, sends JSON headers and leaves the dispatcher open on close', async () => {
    const pool = agent.get('https://kazoo.example.com');
    pool
      .intercept({
        path: '/v2/accounts/a/connectivity/d1',
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'if-match': '"2-x"' },
        body: '{"data":{"name":"n"}}',
      })
      .reply(200, { data: { id: 'd1', name: 'n' }, revision: '3-y' });
    const { client } = harness('https://kazoo.example.com/v2', {}, { dispatcher: agent });
    const res = await client.request({
      method: 'PATCH',
      path: '/accounts/a/connectivity/d1',
      headers: { 'if-match': '"2-x"' },
      body: { data: { name: 'n' } },
      idempotent: true,
    });
    expect(res.body).toEqual({ data: { id: 'd1', name: 'n' }, revision: '3-y' });
    await client.close();
    // The agent belongs to the test: closing the client must leave it usable.
    pool.intercept({ path: '/v2/ping', method: 'GET' }).reply(204, '');
    const again = harness('https://kazoo.example.com/v2', {}, { dispatcher: agent });
    expect(
      (await again.client.request({ method: 'GET', path: '/ping', idempotent: true })).status,
    ).toBe(204);
  });

  it('retries a socket error for an idempotent request', async () => {
    const pool = agent.get('https://kazoo.example.com');
    pool
      .intercept({ path: '/v2/x', method: 'DELETE' })
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    pool.intercept({ path: '/v2/x', method: 'DELETE' }).reply(200, { data: {} });
    const { client } = harness('https://kazoo.example.com/v2', {}, { dispatcher: agent });
    expect((await client.request({ method: 'DELETE', path: '/x', idempotent: true })).status).toBe(
      200,
    );
  });
});

describe('identity headers', () => {
  it('sends User-Agent connops/<package.json version> on every attempt, whatever the caller set', async () => {
    const pkg = JSON.parse(
      readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'),
    ) as {
      version: string;
    };
    const srv = await loopback((_req, res, hit) => json(res, hit === 1 ? 503 : 200, {}));
    const { client } = harness(srv.url);
    await client.request({ method: 'GET', path: '/a', idempotent: true });
    await client.request({
      method: 'PUT',
      path: '/b',
      body: {},
      headers: { 'user-agent': 'something-else' },
      idempotent: false,
    });
    expect(srv.seenHeaders.map((h) => h['user-agent'])).toEqual([
      `connops/${pkg.version}`,
      `connops/${pkg.version}`,
      `connops/${pkg.version}`,
    ]);
  });

  it('reports the request id from the header the target names (cf-ray for Cloudflare)', async () => {
    const srv = await loopback((_req, res) =>
      json(res, 200, {}, { 'cf-ray': '8f1e2d3c4b5a6978-SJC', 'x-request-id': 'not-this' }),
    );
    const { client, events } = harness(srv.url, { requestIdHeader: 'cf-ray' });
    await client.request({ method: 'GET', path: '/a', idempotent: true });
    expect(events.map((e) => e.requestId)).toEqual(['8f1e2d3c4b5a6978-SJC']);
  });
});
