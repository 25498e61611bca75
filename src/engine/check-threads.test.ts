import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../core/config.ts';
import { PROVIDERS, targetTypes } from '../providers/registry.ts';
import { checkFilesInThreads, workerScript } from './check-threads.ts';
import { checkThreads, loadProject, THREADS_MIN_BYTES } from './load.ts';

/**
 * A repo where accounts A and B keep each to one file and account C spreads
 * over three, with mistakes of every reach: inside one file, across files of
 * one account (a DID, a SIP user, a name), a YAML error, an unreadable file,
 * a missing variable, and the examples/invalid set.
 */
const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);
const D = 'd'.repeat(32);
const doc = (account: string, name: string, dids: string[], user?: string): string =>
  [
    'kind: kazoo/connectivity',
    'target: kazoo-prod',
    `account: ${account}`,
    `name: ${name}`,
    'spec:',
    '  servers:',
    user
      ? `    - auth: { auth_method: password, auth_user: ${user}, auth_password: '\${env:PW}' }`
      : '    - auth: { auth_method: ip, ip: 192.0.2.10 }',
    `      DIDs: { ${dids.map((d) => `"${d}": {}`).join(', ')} }`,
    ...(user ? ['      options: {}'] : []),
    '',
  ].join('\n');

let dir: string;
const env = { PW: 'secret-pw-value' };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'connops-threads-'));
  cpSync(join(import.meta.dirname, '..', '..', 'examples', 'invalid'), dir, { recursive: true });
  writeFileSync(
    join(dir, 'connops.yaml'),
    [
      'targets:',
      '  kazoo-prod:',
      '    type: kazoo',
      '    url: https://kazoo.example.net:8000/v2',
      '    auth: { api_key: not-needed-for-validate }',
      'documents: ["*.yaml", "accounts/**/*.yaml"]',
      '',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'accounts'));
  const put = (name: string, text: string): void =>
    writeFileSync(join(dir, 'accounts', name), text);
  put(
    'a.yaml',
    [doc(A, 'a1', ['+14155550001'], 'alice'), doc(A, 'a2', ['+14155550001', '+14155550002'])].join(
      '---\n',
    ),
  );
  put('b.yaml', doc(B, 'b1', ['+14155550001', '+14155550003'], 'alice'));
  put('c1.yaml', doc(C, 'c1', ['+14155550010', '+14155550011'], 'carol'));
  put('c2.yaml', doc(C, 'c2', ['+14155550011'], 'carol'));
  put('c3.yaml', [doc(C, 'c1', ['+14155550012']), doc(C, 'c4', ['+1415555001x'])].join('---\n'));
  put('d-broken.yaml', 'kind: [unclosed\n');
  // Account D, in one file only, routes a DID of account A (a.yaml): a duplicate across
  // accounts that the threads see from two holders' tables.
  put('g.yaml', doc(D, 'g1', ['+14155550002']));
  put('e-secret.yaml', doc(B, 'b2', ['+14155550020'], 'bob').replace('${env:PW}', '${env:NOPE}'));
  // Over the size limit: refused with a FILE error (a sparse file, nothing is written).
  put('f-too-big.yaml', '');
  truncateSync(join(dir, 'accounts', 'f-too-big.yaml'), 17 * 1024 * 1024);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const load = (threads: number) =>
  loadProject({
    configPath: join(dir, 'connops.yaml'),
    env,
    cwd: dir,
    keepSpecs: false,
    threads,
  });

async function direct(
  options: Parameters<typeof checkFilesInThreads>[4],
  threads = 2,
): ReturnType<typeof checkFilesInThreads> {
  const configText = readFileSync(join(dir, 'connops.yaml'), 'utf8');
  const lookup = (n: string): string | undefined => env[n as keyof typeof env];
  const config = parseConfig(
    'connops.yaml',
    dir,
    configText,
    lookup,
    targetTypes(PROVIDERS),
  ).config;
  if (!config) throw new Error('test config does not parse');
  const project = await load(1);
  const files = project.files.map((f) => ({ full: join(dir, f), shown: f }));
  return checkFilesInThreads(
    { configShown: 'connops.yaml', configDir: dir, configText, env, files },
    config,
    PROVIDERS,
    threads,
    options,
  );
}

describe('checking files in threads', () => {
  it('finds the worker script beside the module (the TypeScript source under tests)', () => {
    const script = workerScript();
    expect(script?.eval).toBe(true);
    expect(String(script?.entry)).toMatch(/check-worker\.ts/);
  });

  it('gives exactly the diagnostics, count and secrets of one thread, whoever checks what', async () => {
    const one = await load(1);
    expect(one.threads).toBe(1);
    // Every kind of mistake is in the repo (so the comparison means something).
    const codes = new Set(one.diagnostics.map((d) => d.code));
    for (const c of [
      'DUPLICATE_DID',
      'DUPLICATE_AUTH_USER',
      'DUPLICATE_IDENTITY',
      'DID_FORMAT',
      'YAML_SYNTAX',
      'FILE',
      'ENV_MISSING',
    ])
      expect([...codes], c).toContain(c);
    // A duplicate across files of account C names the first use by file:line:col.
    expect(
      one.diagnostics.find((d) => d.code === 'DUPLICATE_DID' && d.file === 'accounts/c2.yaml')
        ?.message,
    ).toMatch(/accounts\/c1\.yaml:\d+:\d+/);

    const two = await load(2);
    expect(two.diagnostics).toEqual(one.diagnostics);
    expect(two.documentCount).toBe(one.documentCount);
    expect(new Set(two.secrets)).toEqual(new Set(one.secrets));
    expect(two.threadProblems).toEqual([]);
  });

  it('a worker that checks every batch (one file per batch) gives the same result', async () => {
    const one = await load(1);
    const worker = await direct({ filesPerBatch: 1, mainBatches: 0 });
    expect(worker.problems).toEqual([]);
    expect(worker.threads).toBe(1); // the worker alone
    expect(worker.state.diagnostics).toEqual(
      one.diagnostics.filter((d) => d.file !== 'connops.yaml'),
    );
    expect(worker.state.count).toBe(one.documentCount);
  });

  it('two workers: one that has answered and exited is not reported as failed while the other still works', async () => {
    const one = await load(1);
    const real = workerScript();
    if (!real?.eval) throw new Error('expected the source worker under tests');
    // Of the two workers (consecutive thread ids), the odd one answers step 2
    // half a second late, so the other's exit comes first.
    const prelude = [
      "const wt = require('node:worker_threads');",
      'if (wt.threadId % 2 === 1) {',
      '  const post = wt.parentPort.postMessage.bind(wt.parentPort);',
      '  const close = wt.parentPort.close.bind(wt.parentPort);',
      "  wt.parentPort.postMessage = (m) => (m.type === 'across' ? setTimeout(() => post(m), 500) : post(m));",
      '  wt.parentPort.close = () => setTimeout(close, 600);',
      '}',
    ].join('\n');
    const script = { entry: `${prelude}\n${String(real.entry)}`, eval: true };
    const r = await direct({ filesPerBatch: 1, mainBatches: 0, script }, 3);
    expect(r.problems).toEqual([]);
    expect(r.state.diagnostics).toEqual(one.diagnostics.filter((d) => d.file !== 'connops.yaml'));
    expect(r.state.count).toBe(one.documentCount);
  });

  it('documents of one account on both threads are checked together, with positions from the worker', async () => {
    const one = await load(1);
    // One file per batch; this thread takes the first three (a, b, c1) before the
    // worker has started, the worker the rest (c2 and c3 of account C among them).
    const r = await direct({ filesPerBatch: 1, mainBatches: 3 });
    expect(r.problems).toEqual([]);
    expect(r.threads).toBe(2);
    const across = r.state.diagnostics.filter((d) => /^accounts\/c[23]/.test(d.file));
    expect(across.map((d) => d.code)).toEqual(
      expect.arrayContaining(['DUPLICATE_AUTH_USER', 'DUPLICATE_DID', 'DUPLICATE_IDENTITY']),
    );
    expect(r.state.diagnostics).toEqual(one.diagnostics.filter((d) => d.file !== 'connops.yaml'));
  });

  it('a DID in two accounts whose documents are on different threads is still found (INVARIANTS.md 2)', async () => {
    const one = await load(1);
    const project = await load(1);
    // One file per batch; this thread takes the batches up to accounts/a.yaml (account A,
    // all in that file), the worker the rest, accounts/g.yaml (account D, all in that file,
    // the same DID) among them: neither account is spread, so no thread sees both.
    const mainBatches = project.files.indexOf('accounts/a.yaml') + 1;
    expect(mainBatches).toBeGreaterThan(0);
    expect(project.files.indexOf('accounts/g.yaml')).toBeGreaterThanOrEqual(mainBatches);
    const r = await direct({ filesPerBatch: 1, mainBatches });
    expect(r.problems).toEqual([]);
    expect(r.threads).toBe(2);
    const across = r.state.diagnostics.filter(
      (d) => d.code === 'DUPLICATE_DID' && d.file === 'accounts/g.yaml',
    );
    expect(across).toHaveLength(1);
    expect(across[0]?.message).toMatch(
      new RegExp(
        `DID \\+14155550002 is already routed by "a2" servers\\[0\\] \\(accounts/a\\.yaml:\\d+:\\d+\\) in account ${A}`,
      ),
    );
    expect(r.state.diagnostics).toEqual(one.diagnostics.filter((d) => d.file !== 'connops.yaml'));
  });

  it('a worker that cannot start costs only time: this thread checks everything', async () => {
    const one = await load(1);
    const script = { entry: pathToFileURL(join(dir, 'no-such-worker.js')), eval: false };
    const r = await direct({ filesPerBatch: 1, mainBatches: 0, script });
    expect(r.problems.join('\n')).toMatch(/worker thread (failed|could not start|stopped)/);
    expect(r.threads).toBe(1);
    expect(r.state.diagnostics).toEqual(one.diagnostics.filter((d) => d.file !== 'connops.yaml'));
  });

  it('a worker that fails after its batches: this thread reads them again and checks them', async () => {
    const one = await load(1);
    const real = workerScript();
    if (!real?.eval) throw new Error('expected the source worker under tests');
    // The real worker, but it dies on the request of step 2 instead of answering it.
    const prelude = [
      "const { parentPort } = require('node:worker_threads');",
      'const once = parentPort.once.bind(parentPort);',
      "parentPort.once = (event) => once(event, () => { throw new Error('boom in step 2'); });",
    ].join('\n');
    const script = { entry: `${prelude}\n${String(real.entry)}`, eval: true };
    const r = await direct({ filesPerBatch: 1, mainBatches: 0, script });
    expect(r.problems.join('\n')).toMatch(/boom in step 2/);
    expect(r.state.diagnostics).toEqual(one.diagnostics.filter((d) => d.file !== 'connops.yaml'));
    expect(r.state.count).toBe(one.documentCount);
  });
  it('a bug on this thread stops the workers too: the process exits instead of hanging', async () => {
    // A child process (this test runner would not show a hang): this thread's provider
    // throws on every spec, while the worker, with the real ones, waits for step 2.
    const script = join(dir, 'bug.mts');
    const src = (f: string): string =>
      JSON.stringify(pathToFileURL(join(import.meta.dirname, '..', f)).href);
    writeFileSync(
      script,
      [
        `import { checkFilesInThreads } from ${src('engine/check-threads.ts')};`,
        `import { parseConfig } from ${src('core/config.ts')};`,
        `import { PROVIDERS, targetTypes } from ${src('providers/registry.ts')};`,
        "import { readFileSync } from 'node:fs';",
        `const dir = ${JSON.stringify(dir)};`,
        "const configText = readFileSync(dir + '/connops.yaml', 'utf8');",
        "const config = parseConfig('connops.yaml', dir, configText, () => 'x', targetTypes(PROVIDERS)).config;",
        "const broken = new Map([...PROVIDERS].map(([k, p]) => [k, { ...p, checkSpec: () => { throw new Error('bug in a check'); } }]));",
        "const files = ['a.yaml', 'b.yaml', 'c1.yaml', 'c2.yaml'].map((f) => ({ full: dir + '/accounts/' + f, shown: f }));",
        "await checkFilesInThreads({ configShown: 'connops.yaml', configDir: dir, configText, env: {}, files }, config, broken, 2, { filesPerBatch: 1, mainBatches: 1 })",
        "  .catch((err) => console.log('rejected:', err.message));",
      ].join('\n'),
    );
    const root = join(import.meta.dirname, '..', '..');
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', script],
        { cwd: root, timeout: 20_000 },
        (error, stdout) => resolve({ code: error ? (error.killed ? null : 1) : 0, out: stdout }),
      );
    });
    expect(out).toContain('rejected: bug in a check');
    expect(code, 'the process was killed after 20 s: a worker kept it alive').toBe(0);
  });
});

describe('how many threads', () => {
  const big = (n: number): string[] =>
    Array.from({ length: n }, (_, i) => join(dir, `big-${i}.yaml`));

  it('one thread for a small repo; CONNOPS_THREADS decides when set', () => {
    const small = [join(dir, 'duplicate-did.yaml'), join(dir, 'tabs.yaml')];
    expect(checkThreads(small, {}, 'connops.yaml', [])).toBe(1);
    expect(checkThreads(small, { CONNOPS_THREADS: '3' }, 'connops.yaml', [])).toBe(3);
    expect(checkThreads(small, { CONNOPS_THREADS: '1' }, 'connops.yaml', [])).toBe(1);
  });

  it('a repo over the size threshold gets more than one thread where there are cores', () => {
    const paths = big(2);
    for (const p of paths) writeFileSync(p, `# ${'x'.repeat(THREADS_MIN_BYTES / 2)}\n`);
    try {
      const n = checkThreads(paths, {}, 'connops.yaml', []);
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBe(Math.min(availableParallelism(), 4));
    } finally {
      for (const p of paths) rmSync(p);
    }
  });

  it('a bad CONNOPS_THREADS is a warning naming the variable, and the default is used', () => {
    const diagnostics: Parameters<typeof checkThreads>[3] = [];
    expect(
      checkThreads(
        [join(dir, 'tabs.yaml')],
        { CONNOPS_THREADS: 'lots' },
        'connops.yaml',
        diagnostics,
      ),
    ).toBe(1);
    expect(diagnostics).toEqual([
      expect.objectContaining({
        severity: 'warning',
        code: 'CONNOPS_THREADS',
        file: 'connops.yaml',
      }),
    ]);
    expect(diagnostics[0]?.message).toMatch(/whole number from 1 to 16/);
  });
});

describe('a scoped plan checks every file in threads and keeps only the planned accounts', () => {
  const loadPlanned = (threads: number, planned?: (t: string, a: string) => boolean) =>
    loadProject({
      configPath: join(dir, 'connops.yaml'),
      env,
      cwd: dir,
      threads,
      ...(planned ? { planned } : {}),
    });

  it('the same diagnostics as one thread over everything, and the specs of account C only', async () => {
    const all = await loadPlanned(1);
    const scoped = await loadPlanned(2, (_t, a) => a === C);
    expect(scoped.threads).toBe(2);
    expect(scoped.diagnostics).toEqual(all.diagnostics);
    // Offline checks across accounts still ran: account D routes a DID of account A.
    expect(
      scoped.diagnostics.some((d) => d.file.endsWith('g.yaml') && d.severity === 'error'),
    ).toBe(true);
    expect(scoped.documents.map((d) => d.key.name).sort()).toEqual(
      all.documents
        .filter((d) => d.key.account === C)
        .map((d) => d.key.name)
        .sort(),
    );
    expect(scoped.documents.map((d) => d.spec)).toEqual(
      all.documents.filter((d) => d.key.account === C).map((d) => d.spec),
    );
    expect([...scoped.declared].sort()).toEqual([...all.declared].sort());
    expect(scoped.documentCount).toBe(all.documentCount);
  });

  it('without a planned set a plan keeps every spec in one thread (so reads can overlap it)', async () => {
    const p = await loadPlanned(2);
    expect(p.threads).toBe(1);
    expect(p.documents).toHaveLength(p.documentCount);
  });
});
