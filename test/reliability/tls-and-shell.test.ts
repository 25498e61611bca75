/**
 * TLS end to end (verification on by default; `ca_file` trusts a private CA),
 * and a guard against shell interpolation creeping into src/.
 * The client-level TLS cases live in src/io/http.test.ts; this one drives the CLI.
 */
import { makeSelfSignedCert } from '../helpers/tls.ts';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackLines, startWorld, useFastRetries, type World } from '../helpers/world.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe('TLS through the CLI', () => {
  let certDir = '';
  let openssl = true;
  let world: World;
  let proxy: Server;
  let received = 0;
  let url = '';

  beforeAll(async () => {
    useFastRetries();
    certDir = mkdtempSync(join(tmpdir(), 'connops-tls-'));
    openssl = makeSelfSignedCert(certDir);
    if (!openssl) return;
    world = await startWorld();
    // An HTTPS front for the Kazoo emulator, counting every request that got through TLS.
    proxy = createServer(
      {
        key: readFileSync(join(certDir, 'key.pem')),
        cert: readFileSync(join(certDir, 'cert.pem')),
      },
      (req, res) => {
        received += 1;
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks);
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(req.headers))
            if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
          void fetch(new URL(req.url ?? '/', world.kazoo.url.replace(/\/v2$/, '')), {
            method: req.method ?? 'GET',
            headers,
            ...(body.length > 0 ? { body } : {}),
          }).then(async (r) => {
            res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? '' });
            res.end(Buffer.from(await r.arrayBuffer()));
          });
        });
      },
    );
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(proxy.address() as AddressInfo).port}/v2`;
    // Only the Kazoo documents, reached over TLS.
    rmSync(join(world.dir, 'connectivity/cloudflare'), { recursive: true });
  });

  afterAll(async () => {
    if (proxy) await new Promise<void>((r) => proxy.close(() => r()));
    await world?.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  function config(caFile?: string): void {
    const path = join(world.dir, 'connops.yaml');
    const text = readFileSync(path, 'utf8').replace(
      /url: (\$\{env:KAZOO_URL\}|https:\S+)\n(\s+ca_file: .*\n)?/,
      `url: ${url}\n${caFile ? `    ca_file: ${caFile}\n` : ''}`,
    );
    writeFileSync(path, text);
  }

  it('refuses a self-signed certificate by default: a clear error, nothing sent', async (ctx) => {
    if (!openssl) ctx.skip('openssl is not installed: cannot make a test certificate');
    config();
    received = 0;
    const r = await world.cli(['apply', '--yes']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /TLS certificate is not trusted \(.+\); set ca_file to trust a private CA/,
    );
    expect(stackLines(r.out + r.err)).toEqual([]);
    expect(received).toBe(0); // not one request (let alone a body) got through
  });

  it('trusts it once ca_file names the certificate, and applies', async (ctx) => {
    if (!openssl) ctx.skip('openssl is not installed: cannot make a test certificate');
    config(join(certDir, 'cert.pem'));
    received = 0;
    const r = await world.cli(['apply', '--yes']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(received).toBeGreaterThan(0);
    expect((await world.cli(['plan', '--detailed-exitcode'])).code).toBe(0);
  });
});

describe('no shell interpolation', () => {
  /** Files allowed to run processes, and why. Each must pass arguments as an array, never a shell string. */
  const ALLOWED: Record<string, string> = {};
  const PATTERNS = [
    /(?<![.\w])exec(Sync)?\s*\(/, // exec() / execSync() imported bare
    /\b(child_process|childProcess|cp)\.exec(Sync)?\s*\(/,
    /\bshell\s*:\s*true\b/,
    /import\s*\{[^}]*\bexec(Sync)?\b[^}]*\}\s*from\s*['"](node:)?child_process['"]/,
  ];
  const flagged = (line: string): boolean => PATTERNS.some((p) => p.test(line));

  it('the patterns catch what they should, and not RegExp#exec', () => {
    expect(flagged("import { exec } from 'node:child_process';")).toBe(true);
    expect(flagged('execSync(`git ${args}`)')).toBe(true);
    expect(flagged('child_process.exec(cmd)')).toBe(true);
    expect(flagged('spawn(cmd, args, { shell: true })')).toBe(true);
    expect(flagged('const m = /x/.exec(text);')).toBe(false);
    expect(flagged("execFile('git', ['log'])")).toBe(false);
  });

  it('src/ never uses exec(), execSync() or shell: true', () => {
    const found: string[] = [];
    const src = join(ROOT, 'src');
    let files = 0;
    for (const e of readdirSync(src, { recursive: true, withFileTypes: true })) {
      if (!e.isFile() || !/\.[cm]?[jt]s$/.test(e.name)) continue;
      const path = join(e.parentPath, e.name);
      const rel = relative(ROOT, path);
      if (ALLOWED[rel] !== undefined) continue;
      files++;
      readFileSync(path, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (flagged(line)) found.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(files).toBeGreaterThan(50);
    expect(found).toEqual([]);
  });
});
