/**
 * The loopback HTTP plumbing both emulators share: read the request, ask the
 * FaultInjector what to do, wait, then reset / answer with an injected status /
 * run the handler, and optionally drop the connection half-way through the
 * response. Handlers return plain response values so the fault layer can cut
 * them (a drop needs the full Content-Length to make the truncation visible).
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultDecision, FaultInjector } from './faults.ts';

export interface EmulatorRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** Raw body text ('' when none). */
  readonly body: string;
}

export interface EmulatorResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Body text; '' or absent sends no body. */
  readonly body?: string;
}

export interface EmulatorServerOptions {
  readonly faults: FaultInjector;
  readonly handle: (req: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>;
  /** Renders an injected status (429/5xx) in the API's own error format. */
  readonly faultResponse: (
    status: number,
    retryAfterS: number | null,
    req: EmulatorRequest,
  ) => EmulatorResponse;
  /** Called once per request received, before anything else (for counting). */
  readonly onRequest?: (req: EmulatorRequest) => void;
  /** Largest accepted body; bigger ones get 413. */
  readonly maxBodyBytes?: number;
  /**
   * Answers a request whose body passed `maxBodyBytes` (its `body` is cut):
   * an API's own 413, after whatever it checks first. Default: a bare 413.
   */
  readonly tooLarge?: (req: EmulatorRequest) => EmulatorResponse;
}

/** Largest request body the emulators accept by default. */
export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;

/** Serialises a JSON response with the headers an API server would send. */
export function jsonResponse(
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

function send(res: ServerResponse, response: EmulatorResponse): void {
  const body = Buffer.from(response.body ?? '', 'utf8');
  res.statusCode = response.status;
  for (const [k, v] of Object.entries(response.headers ?? {})) res.setHeader(k, v);
  res.setHeader('content-length', String(body.length));
  res.end(body);
}

/**
 * Sends the headers with the full Content-Length and about half the body, then
 * destroys the socket: the client sees a truncated body / "other side closed".
 */
function sendTruncated(res: ServerResponse, response: EmulatorResponse): void {
  const body = Buffer.from(response.body ?? '', 'utf8');
  if (body.length < 2) {
    // Nothing worth half-sending: cut the connection before the response.
    res.socket?.destroy();
    return;
  }
  res.statusCode = response.status;
  for (const [k, v] of Object.entries(response.headers ?? {})) res.setHeader(k, v);
  res.setHeader('content-length', String(body.length));
  res.flushHeaders();
  res.write(body.subarray(0, Math.floor(body.length / 2)), () => {
    res.socket?.destroy();
  });
}

/** A node:http server that runs every request through the fault injector. */
export function createEmulatorServer(options: EmulatorServerOptions): Server {
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBody) tooBig = true;
      else chunks.push(chunk);
    });
    req.on('error', () => res.socket?.destroy());
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://emulator.invalid');
      const request: EmulatorRequest = {
        method: (req.method ?? 'GET').toUpperCase(),
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      options.onRequest?.(request);
      const decision = options.faults.decide(request.method, request.path);
      void respond(request, decision, tooBig, res, options).catch((err: unknown) => {
        if (res.headersSent) {
          res.socket?.destroy();
          return;
        }
        send(res, jsonResponse(500, { status: 'error', error: '500', message: String(err) }));
      });
    });
  });
}

async function respond(
  request: EmulatorRequest,
  decision: FaultDecision,
  tooBig: boolean,
  res: ServerResponse,
  options: EmulatorServerOptions,
): Promise<void> {
  if (decision.delayMs > 0) await sleep(decision.delayMs);
  const { action } = decision;
  if (action.kind === 'reset') {
    res.socket?.destroy();
    return;
  }
  if (action.kind === 'status') {
    const injected = options.faultResponse(action.status, action.retryAfterS, request);
    const headers: Record<string, string> = { ...injected.headers };
    if (action.retryAfterS !== null) headers['retry-after'] = String(action.retryAfterS);
    send(res, { ...injected, headers });
    return;
  }
  const response = tooBig
    ? (options.tooLarge?.(request) ?? { status: 413, body: '' })
    : await options.handle(request);
  if (action.kind === 'drop') sendTruncated(res, response);
  else if (action.kind === 'cut') {
    // send() sets Content-Length from the body it is given, so the cut body arrives whole.
    const body = response.body ?? '';
    send(res, { ...response, body: body.slice(0, body.length >> 1) });
  } else send(res, response);
}

/** Starts listening; resolves with the bound port. */
export async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Stops the server, ending keep-alive sockets so close() does not hang. */
export async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
  });
  server.closeAllConnections();
  await closed;
}

/** Refuses anything but a loopback address: the emulators must never be exposed. */
export function assertLoopback(host: string): void {
  if (!['127.0.0.1', '::1', 'localhost'].includes(host) && !/^127\.\d+\.\d+\.\d+$/.test(host)) {
    throw new Error(
      `Cannot start an emulator on "${host}": only loopback addresses (127.0.0.1, ::1) are allowed`,
    );
  }
}
