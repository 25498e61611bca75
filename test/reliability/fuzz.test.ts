/**
 * Hostile input, bounded: mutated and random YAML through the loader, and a
 * misbehaving API server under plan and apply. The loader must never throw and
 * must place every diagnostic inside the file; the CLI must never crash, hang
 * or print a stack, must exit 1 with a message, and must NEVER write (PUT, POST,
 * PATCH, DELETE) on the strength of live data it could not understand.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.ts';
import { memoryIO } from '../../src/cli/io.ts';
import { httpOverrides } from '../../src/engine/project.ts';
import {
  renderDiagnosticsGithub,
  renderDiagnosticsJson,
  renderDiagnosticsText,
} from '../../src/core/render-diagnostics.ts';
import { MAX_NESTING_DEPTH, type JsonValue } from '../../src/core/json.ts';
import { parseFastYaml } from '../../src/core/yaml-fast.ts';
import { MAX_NODES_PER_DOCUMENT, parseYamlFile } from '../../src/core/yaml.ts';
import { loadProject, type FileSource } from '../../src/engine/load.ts';
import { ACCOUNTS, EXAMPLES_DIR, stackLines } from '../helpers/world.ts';

const counts: string[] = [];
afterAll(() => console.log(`[reliability] fuzz:\n  ${counts.join('\n  ')}`));

// ---------------------------------------------------------------- the loader

let exampleFiles: Record<string, string> = {};
let exampleConfig = '';

beforeAll(async () => {
  exampleConfig = await readFile(join(EXAMPLES_DIR, 'connops.yaml'), 'utf8');
  const dir = join(EXAMPLES_DIR, 'connectivity');
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (e.isFile())
      exampleFiles[relative(EXAMPLES_DIR, join(e.parentPath, e.name))] = await readFile(
        join(e.parentPath, e.name),
        'utf8',
      );
  const invalid = join(EXAMPLES_DIR, 'invalid');
  for (const name of await readdir(invalid))
    if (name !== 'connops.yaml')
      exampleFiles[`connectivity/invalid/${name}`] = await readFile(join(invalid, name), 'utf8');
  exampleFiles = Object.fromEntries(Object.entries(exampleFiles).sort());
});

const ROOT = '/fuzz';
const ENV: Record<string, string> = {
  KAZOO_URL: 'http://127.0.0.1:9/v2',
  KAZOO_API_KEY: 'k'.repeat(64),
  CLOUDFLARE_URL: 'http://127.0.0.1:9/client/v4',
  CLOUDFLARE_API_TOKEN: 'fuzz-token-value',
  ACME_TRUNK_PASSWORD: 'fuzz-pw-1',
  ACME_STANDBY_PASSWORD: 'fuzz-pw-2',
  GLOBEX_FAX_PASSWORD: 'fuzz-pw-3',
};

function memorySource(files: Record<string, string>): FileSource {
  return {
    label: 'fuzz',
    async list(_dir, _globs) {
      return Object.keys(files)
        .filter((f) => f !== 'connops.yaml')
        .sort();
    },
    async read(path) {
      const rel = relative(ROOT, path);
      const text = files[rel];
      return text === undefined ? { ok: false, reason: 'no such file' } : { ok: true, text };
    },
  };
}

type Mutation =
  | { op: 'flip'; at: number; byte: number }
  | { op: 'deleteLine'; at: number }
  | { op: 'duplicateLine'; at: number }
  | { op: 'indent'; at: number; by: number }
  | { op: 'retype'; at: number; value: string }
  | { op: 'insert'; at: number; text: string }
  | { op: 'truncate'; at: number };

const SCALARS = [
  '[]',
  '{}',
  'null',
  '~',
  '123',
  '-1.5e308',
  'true',
  '"x"',
  "'",
  '"',
  '&a [*a]',
  '*nope',
  '!!binary aGk=',
  '${env:MISSING}',
  '${env:',
  '- ',
  ': :',
  '\t',
  '{ a: [ }',
  '| \n  x',
  '<<: *a',
  '\u0000',
  '\uFEFF',
  '🙂',
  '9'.repeat(400),
];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant('flip' as const),
    at: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ op: fc.constant('deleteLine' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicateLine' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('indent' as const),
    at: fc.nat(),
    by: fc.integer({ min: -4, max: 4 }),
  }),
  fc.record({
    op: fc.constant('retype' as const),
    at: fc.nat(),
    value: fc.constantFrom(...SCALARS),
  }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.string({ maxLength: 12 }),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(text: string, m: Mutation): string {
  const lines = text.split('\n');
  const li = lines.length === 0 ? 0 : m.at % lines.length;
  const line = lines[li] ?? '';
  switch (m.op) {
    case 'flip': {
      const buf = Buffer.from(text, 'utf8');
      if (buf.length === 0) return text;
      buf[m.at % buf.length] = m.byte;
      return buf.toString('utf8');
    }
    case 'deleteLine':
      lines.splice(li, 1);
      return lines.join('\n');
    case 'duplicateLine':
      lines.splice(li, 0, line);
      return lines.join('\n');
    case 'indent':
      lines[li] =
        m.by >= 0 ? ' '.repeat(m.by) + line : line.replace(new RegExp(`^ {0,${-m.by}}`), '');
      return lines.join('\n');
    case 'retype': {
      const colon = line.indexOf(': ');
      lines[li] = colon >= 0 ? `${line.slice(0, colon + 2)}${m.value}` : `${line}${m.value}`;
      return lines.join('\n');
    }
    case 'insert': {
      const at = text.length === 0 ? 0 : m.at % (text.length + 1);
      return text.slice(0, at) + m.text + text.slice(at);
    }
    case 'truncate':
      return text.slice(0, text.length === 0 ? 0 : m.at % text.length);
  }
}

/** Loads a project from memory and checks every property the loader promises. */
async function checkLoad(files: Record<string, string>): Promise<number> {
  const project = await loadProject({
    configPath: join(ROOT, 'connops.yaml'),
    env: ENV,
    cwd: ROOT,
    source: memorySource(files),
  });
  for (const d of project.diagnostics) {
    const text = files[d.file];
    expect(text, `diagnostic names a file that was not read: ${d.file}`).toBeDefined();
    const lines = (text ?? '').split('\n');
    expect(d.line, `${d.file}:${d.line}:${d.col} ${d.message}`).toBeGreaterThanOrEqual(1);
    expect(d.line, `${d.file}:${d.line}:${d.col} ${d.message}`).toBeLessThanOrEqual(lines.length);
    expect(d.col, `${d.file}:${d.line}:${d.col} ${d.message}`).toBeGreaterThanOrEqual(1);
    expect(d.col, `${d.file}:${d.line}:${d.col} ${d.message}`).toBeLessThanOrEqual(
      (lines[d.line - 1] ?? '').length + 1,
    );
    expect(d.message.length).toBeGreaterThan(0);
  }
  const stats = { files: project.files.length, documents: project.documents.length };
  const rendered =
    renderDiagnosticsText(project.diagnostics, stats) +
    renderDiagnosticsJson(project.diagnostics, stats) +
    renderDiagnosticsGithub(project.diagnostics);
  expect(stackLines(rendered)).toEqual([]);
  return project.diagnostics.length;
}

describe('the loader under hostile YAML', () => {
  it('mutated example documents: never throws, every diagnostic inside its file', async () => {
    const names = Object.keys(exampleFiles);
    let diagnostics = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...names),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        async (name, muts) => {
          runs++;
          const text = muts.reduce(mutate, exampleFiles[name] ?? '');
          diagnostics += await checkLoad({ 'connops.yaml': exampleConfig, [name]: text });
        },
      ),
      { numRuns: 400, seed: 90210 },
    );
    counts.push(`mutated documents: ${runs} cases, ${diagnostics} diagnostics checked`);
  });

  it('mutated configs: never throws, every diagnostic inside its file', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 6 }), async (muts) => {
        runs++;
        const config = muts.reduce(mutate, exampleConfig);
        await checkLoad({
          'connops.yaml': config,
          'connectivity/acme/main.yaml': exampleFiles['connectivity/acme/main.yaml'] ?? '',
        });
      }),
      { numRuns: 300, seed: 4242 },
    );
    counts.push(`mutated configs: ${runs} cases`);
  });

  it('random documents of any shape: never throws, every diagnostic inside its file', async () => {
    const doc = fc.record(
      {
        kind: fc.oneof(
          fc.constantFrom('kazoo/connectivity', 'cloudflare/connectivity-service'),
          fc.jsonValue(),
        ),
        target: fc.oneof(fc.constantFrom('kazoo-prod', 'cf'), fc.jsonValue()),
        account: fc.oneof(fc.constant(ACCOUNTS.acme), fc.jsonValue()),
        name: fc.oneof(fc.string({ maxLength: 20 }), fc.jsonValue()),
        id: fc.jsonValue(),
        ignore: fc.jsonValue(),
        spec: fc.jsonValue({ maxDepth: 4 }),
      },
      { requiredKeys: [] },
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(doc, fc.jsonValue()), { maxLength: 4 }), async (docs) => {
        runs++;
        const text = docs.map((d) => stringify(d)).join('---\n');
        await checkLoad({ 'connops.yaml': exampleConfig, 'connectivity/x.yaml': text });
      }),
      { numRuns: 300, seed: 777 },
    );
    counts.push(`random documents: ${runs} cases`);
  });
});

// ------------------------------------------- the fast parser against yaml

/**
 * The fast path (src/core/yaml-fast.ts) against the `yaml` library on the
 * edges: deep nesting on both sides of MAX_NESTING_DEPTH in block, flow and
 * mixed styles, long lines (long scalars, long one-line flow sequences) and
 * many keys (past the MANY_KEYS switch of objectFor). Either the fast path
 * declines, or it gives exactly the library's value; past the limit both give
 * one YAML_TOO_DEEP error and no stack overflow.
 */
describe('the fast parser against the yaml library', () => {
  const noEnv = (): string | undefined => undefined;
  const depthOf = (v: JsonValue | undefined): number => {
    let max = 0;
    const stack: Array<[JsonValue | undefined, number]> = [[v, 0]];
    while (stack.length > 0) {
      const [x, d] = stack.pop() as [JsonValue | undefined, number];
      if (x === null || typeof x !== 'object') continue;
      max = Math.max(max, d + 1);
      for (const c of Object.values(x)) stack.push([c, d + 1]);
    }
    return max;
  };
  const word = fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/);
  const leaf = fc.oneof(
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    word,
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }),
  );
  /** A chain of `depth` collections (map or sequence at each level, with leaf siblings). */
  const nested = fc
    .record({
      depth: fc.oneof(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: MAX_NESTING_DEPTH - 3, max: MAX_NESTING_DEPTH + 3 }),
        fc.integer({ min: 101, max: 400 }),
      ),
      kinds: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
      siblings: fc.array(fc.tuple(word, leaf), { maxLength: 3 }),
      inner: leaf,
    })
    .map(({ depth, kinds, siblings, inner }) => {
      let v: JsonValue = inner;
      for (let i = depth - 1; i >= 0; i--) {
        if (kinds[i % kinds.length]) {
          const o: Record<string, JsonValue> = { k: v };
          for (const [k, x] of siblings) if (k !== 'k') o[k] = x;
          v = o;
        } else v = [v, ...siblings.map(([, x]) => x)];
      }
      return { depth, value: v };
    });
  const style = fc.constantFrom(undefined, 0, 1, 3, 50);

  function compare(text: string, depth: number): 'fast' | 'library' {
    const slow = parseYamlFile('f.yaml', text, noEnv, { fast: false });
    const both = parseYamlFile('f.yaml', text, noEnv);
    const fast = parseFastYaml(text, noEnv, MAX_NODES_PER_DOCUMENT);
    if (depth > MAX_NESTING_DEPTH) {
      expect(fast, 'the fast path must decline what is too deep').toBeUndefined();
      for (const r of [slow, both]) {
        expect(r.diagnostics.map((d) => d.code)).toEqual(['YAML_TOO_DEEP']);
        expect(r.documents[0]?.value).toBeUndefined();
      }
      return 'library';
    }
    expect(slow.diagnostics).toEqual([]);
    expect(depthOf(slow.documents[0]?.value)).toBe(depth);
    expect(both.documents.map((d) => d.value)).toEqual(slow.documents.map((d) => d.value));
    if (!fast) return 'library';
    expect(fast.map((d) => d.value)).toEqual(slow.documents.map((d) => d.value));
    return 'fast';
  }

  it('nesting on both sides of the limit, block, flow and mixed', () => {
    const took = { fast: 0, library: 0, deep: 0 };
    fc.assert(
      fc.property(nested, style, ({ depth, value }, flowLevel) => {
        const text = stringify(value, {
          ...(flowLevel !== undefined ? { flowLevel } : {}),
          lineWidth: 0,
        });
        took[compare(text, depth)]++;
        if (depth > MAX_NESTING_DEPTH) took.deep++;
      }),
      { numRuns: 300, seed: 2301 },
    );
    // Both paths and both sides of the limit were exercised.
    expect(took.fast).toBeGreaterThan(50);
    expect(took.deep).toBeGreaterThan(50);
    counts.push(
      `fast vs yaml, nesting: 300 cases (${took.fast} taken by the fast path, ${took.deep} too deep)`,
    );
  }, 120_000);

  it('long lines and many keys', () => {
    let fastTook = 0;
    const doc = fc.oneof(
      // One long scalar (plain or quoted) of up to 100 000 characters.
      fc
        .tuple(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom('plain', 'quoted'))
        .map(([n, q]) => {
          const s =
            'ab c'
              .repeat(Math.ceil(n / 4))
              .slice(0, n)
              .trim() || 'x';
          return `key: ${q === 'quoted' ? JSON.stringify(s) : s}\n`;
        }),
      // A long one-line flow sequence.
      fc
        .array(fc.oneof(fc.integer(), word), { minLength: 1, maxLength: 3000 })
        .map((items) => `list: [${items.join(', ')}]\n`),
      // Many keys, block or flow, around and well past MANY_KEYS.
      fc
        .tuple(fc.integer({ min: 1, max: 3000 }), fc.boolean(), fc.boolean())
        .map(([n, flow, did]) => {
          const keys = Array.from({ length: n }, (_, i) =>
            did ? `'+1415555${String(i).padStart(4, '0')}'` : `k${i}`,
          );
          return flow
            ? `m: {${keys.map((k, i) => `${k}: ${i}`).join(', ')}}\n`
            : `m:\n${keys.map((k) => `  ${k}: {}`).join('\n')}\n`;
        }),
    );
    fc.assert(
      fc.property(doc, (text) => {
        const slow = parseYamlFile('f.yaml', text, noEnv, { fast: false });
        expect(slow.diagnostics).toEqual([]);
        const fast = parseFastYaml(text, noEnv, MAX_NODES_PER_DOCUMENT);
        if (fast) {
          fastTook++;
          expect(fast.map((d) => d.value)).toEqual(slow.documents.map((d) => d.value));
          const a = fast[0]?.value as Record<string, JsonValue>;
          const b = slow.documents[0]?.value as Record<string, JsonValue>;
          expect(Object.keys(a)).toEqual(Object.keys(b));
        }
      }),
      { numRuns: 80, seed: 2302 },
    );
    expect(fastTook).toBeGreaterThan(40);
    counts.push(
      `fast vs yaml, long lines and many keys: 80 cases (${fastTook} taken by the fast path)`,
    );
  }, 120_000);
});

// ------------------------------------------------------- a misbehaving server

interface Reply {
  status: number;
  contentType: string;
  body: string;
}

let server: Server;
let baseUrl = '';
const methods: string[] = [];
let listing: Reply;
let cfListing: Reply;
let cfProject = '';
let docReply: Reply;
let special: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
let project = '';

const DOC_ID = 'c0ffee00c0ffee00c0ffee00c0ffee00';

function send(res: ServerResponse, r: Reply): void {
  res.writeHead(r.status, { 'content-type': r.contentType, 'x-request-id': 'fuzz' });
  res.end(r.body);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      methods.push(`${req.method ?? '?'} ${path}`);
      if (special) return special(req, res);
      if (path.endsWith('/api_auth'))
        return send(res, {
          status: 201,
          contentType: 'application/json',
          body: JSON.stringify({
            auth_token: 'fuzz-issued-token',
            data: { account_id: ACCOUNTS.acme },
          }),
        });
      if (path.endsWith('/directory/services')) return send(res, cfListing);
      if (path.endsWith('/connectivity')) return send(res, listing);
      return send(res, docReply);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`;
  project = await mkdtemp(join(tmpdir(), 'connops-fuzz-'));
  await writeFile(
    join(project, 'connops.yaml'),
    stringify({
      targets: {
        k: {
          type: 'kazoo',
          url: baseUrl,
          schema: '4.3',
          auth: { api_key: '${env:KAZOO_API_KEY}' },
          timeout_ms: 300,
          concurrency: 4,
          // This stand-in server has no number manager (the setting's use case).
          check_numbers: false,
        },
      },
      documents: ['docs/*.yaml'],
    }),
  );
  await mkdir(join(project, 'docs'), { recursive: true });
  await writeFile(
    join(project, 'docs', 'a.yaml'),
    stringify({
      kind: 'kazoo/connectivity',
      target: 'k',
      account: ACCOUNTS.acme,
      name: 'fuzzed',
      spec: { servers: [{ name: 's', auth: { auth_method: 'ip', ip: '192.0.2.1' } }] },
    }),
  );
  cfProject = await mkdtemp(join(tmpdir(), 'connops-fuzz-cf-'));
  await writeFile(
    join(cfProject, 'connops.yaml'),
    stringify({
      targets: {
        cf: {
          type: 'cloudflare',
          url: baseUrl.replace('/v2', '/client/v4'),
          account_id: '023e105f4ecef8ad9ca31a8372d0c353',
          auth: { token: '${env:CLOUDFLARE_API_TOKEN}' },
          timeout_ms: 300,
        },
      },
      documents: ['*.yaml'],
    }),
  );
  await writeFile(
    join(cfProject, 'svc.yaml'),
    stringify({
      kind: 'cloudflare/connectivity-service',
      target: 'cf',
      name: 'fuzzed',
      spec: {
        type: 'tcp',
        host: { ipv4: '10.0.0.1', network: { tunnel_id: '0c2ef2a4-7b1d-4f3e-9a52-6d8b1e0f4c11' } },
        tcp_port: 5432,
      },
    }),
  );
  httpOverrides.deps = { sleep: async () => {} };
});

afterAll(async () => {
  httpOverrides.deps = {};
  await new Promise<void>((r) => server.close(() => r()));
  await rm(project, { recursive: true, force: true });
  await rm(cfProject, { recursive: true, force: true });
});

const ERROR_STATUS = fc.constantFrom(200, 201, 204, 400, 403, 409, 418, 429, 500, 502, 503, 504);
const CONTENT_TYPE = fc.constantFrom('application/json', 'text/html', 'text/plain', '');

/** A listing body that is not a listing connops can understand. */
const badListingBody: fc.Arbitrary<string> = fc.oneof(
  fc.constant('<html><body><h1>502 Bad Gateway</h1></body></html>'),
  fc.constant(''),
  fc.constant('{"data": ["' + DOC_ID), // truncated JSON
  fc
    .jsonValue()
    .map((v) => JSON.stringify({ data: v }))
    .filter((t) => {
      const d = (JSON.parse(t) as { data: unknown }).data;
      return !Array.isArray(d);
    }),
  fc // an array with ids of the wrong type
    .array(fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.object()), {
      minLength: 1,
      maxLength: 3,
    })
    .map((ids) => JSON.stringify({ data: ids })),
  fc
    .jsonValue()
    .map((v) => JSON.stringify(v))
    .filter((t) => !/"data"/.test(t)),
  fc.string({ maxLength: 40 }).filter((s) => !s.trim().startsWith('{')),
);

/** A document body connops cannot use. */
const badDocBody: fc.Arbitrary<string> = fc.oneof(
  fc.constant('<html>oops</html>'),
  fc.constant('{"data": {"name": "fuzzed", "servers": ['), // truncated
  fc
    .jsonValue()
    .map((v) => JSON.stringify({ data: v, revision: '1-a' }))
    .filter((t) => {
      const d = (JSON.parse(t) as { data: unknown }).data;
      return typeof d !== 'object' || d === null || Array.isArray(d);
    }),
  fc
    .jsonValue()
    .map((v) => JSON.stringify(v))
    .filter((t) => !/"data"/.test(t)),
  fc.constant(''),
);

function checkRun(
  r: { code: number; out: string; err: string },
  wrote: string[],
  what: string,
): void {
  expect(wrote, what).toEqual([]);
  expect(r.code, `${what}\n${r.out}${r.err}`).toBe(1);
  expect(r.err, what).toMatch(/^connops: /m);
  expect(r.err, what).not.toContain('internal error');
  expect(stackLines(r.out + r.err), what).toEqual([]);
}

async function cli(
  argv: string[],
  cwd: string = project,
): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIO({
    env: { KAZOO_API_KEY: 'f'.repeat(64), CLOUDFLARE_API_TOKEN: 'fuzz-cf-token', NO_COLOR: '1' },
    cwd,
  });
  const code = await run(argv, io);
  return { code, out: io.out, err: io.err };
}

function writes(): string[] {
  return methods.filter((m) => /^(PUT|POST|PATCH|DELETE) /.test(m) && !m.endsWith('/api_auth'));
}

describe('plan and apply against a misbehaving server', () => {
  it('a listing it cannot understand: exit 1, a message, no write', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({ status: ERROR_STATUS, contentType: CONTENT_TYPE, body: badListingBody }),
        fc.constantFrom('plan', 'apply'),
        async (reply, command) => {
          runs++;
          listing = reply;
          docReply = { status: 500, contentType: 'text/plain', body: 'x' };
          methods.length = 0;
          const r = await cli(command === 'plan' ? ['plan'] : ['apply', '--yes']);
          checkRun(r, writes(), `${command} with listing ${JSON.stringify(reply)}`);
        },
      ),
      { numRuns: 250, seed: 31337 },
    );
    counts.push(`bad listings (plan/apply): ${runs} cases, 0 writes`);
  }, 60_000);

  it('documents it cannot understand behind a good listing: exit 1, a message, no write', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          status: ERROR_STATUS, // never 404: a listed id that is gone is a legitimate answer
          contentType: CONTENT_TYPE,
          body: badDocBody,
        }),
        fc.constantFrom('plan', 'apply'),
        async (reply, command) => {
          runs++;
          listing = {
            status: 200,
            contentType: 'application/json',
            body: JSON.stringify({ data: [DOC_ID] }),
          };
          docReply = reply;
          methods.length = 0;
          const r = await cli(command === 'plan' ? ['plan'] : ['apply', '--yes']);
          checkRun(r, writes(), `${command} with document ${JSON.stringify(reply)}`);
        },
      ),
      { numRuns: 200, seed: 5150 },
    );
    counts.push(`bad documents (plan/apply): ${runs} cases, 0 writes`);
  }, 60_000);

  it('a Cloudflare listing it cannot understand: exit 1, a message, no write', async () => {
    const body = fc.oneof(
      fc
        .jsonValue()
        .filter((v) => !Array.isArray(v))
        .map((v) => JSON.stringify({ success: true, errors: [], messages: [], result: v })),
      fc.constant(JSON.stringify({ success: true, errors: [], messages: [] })),
      fc.constant('{"success": true, "result": ['),
      fc.constant('<html>Cloudflare</html>'),
      fc
        .jsonValue()
        .map((v) => JSON.stringify(v))
        .filter((t) => !t.includes('"result"')),
      fc
        .array(fc.oneof(fc.integer(), fc.string(), fc.object()), { minLength: 1, maxLength: 3 })
        .map((items) => JSON.stringify({ success: true, errors: [], messages: [], result: items })),
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({ status: ERROR_STATUS, contentType: CONTENT_TYPE, body }),
        fc.constantFrom('plan', 'apply'),
        async (reply, command) => {
          runs++;
          cfListing = reply;
          methods.length = 0;
          const r = await cli(command === 'plan' ? ['plan'] : ['apply', '--yes'], cfProject);
          checkRun(r, writes(), `${command} with Cloudflare listing ${JSON.stringify(reply)}`);
        },
      ),
      { numRuns: 150, seed: 2718 },
    );
    counts.push(`bad Cloudflare listings (plan/apply): ${runs} cases, 0 writes`);
  }, 60_000);

  it('a document without a revision is never written (no If-Match possible)', async () => {
    listing = {
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ data: [DOC_ID] }),
    };
    docReply = {
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ data: { id: DOC_ID, name: 'fuzzed', servers: [] } }),
    };
    methods.length = 0;
    const r = await cli(['apply', '--yes']);
    checkRun(r, writes(), 'revisionless document');
    expect(r.out).toMatch(/revision is unknown/);
  });

  it('a body above the size cap is cut, reported, and nothing is written', async () => {
    const big = Buffer.alloc(33 * 1024 * 1024, 0x20);
    special = (req, res) => {
      if ((req.url ?? '').includes('/api_auth'))
        return send(res, {
          status: 201,
          contentType: 'application/json',
          body: JSON.stringify({ auth_token: 't', data: {} }),
        });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data": [');
      res.end(big);
    };
    methods.length = 0;
    try {
      const r = await cli(['apply', '--yes']);
      checkRun(r, writes(), 'huge body');
      expect(r.err).toMatch(/unexpected answer/);
    } finally {
      special = undefined;
    }
    counts.push('huge body (33 MiB > 32 MiB cap): exit 1, 0 writes');
  });

  it('a body that trickles in slower than the timeout: exit 1 after bounded retries, nothing written', async () => {
    const open: ServerResponse[] = [];
    special = (req, res) => {
      if ((req.url ?? '').includes('/api_auth'))
        return send(res, {
          status: 201,
          contentType: 'application/json',
          body: JSON.stringify({ auth_token: 't', data: {} }),
        });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data": [');
      open.push(res); // never finished
    };
    methods.length = 0;
    const started = Date.now();
    try {
      const r = await cli(['apply', '--yes']);
      checkRun(r, writes(), 'slow body');
      expect(r.err).toMatch(/no response within 300 ms after 5 attempts/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      special = undefined;
      for (const res of open) res.destroy();
    }
    counts.push('slow body beyond timeout_ms: exit 1 after 5 attempts, 0 writes');
  }, 20_000);
});
