/**
 * The edges of input (issue 23): nesting far past MAX_NESTING_DEPTH is a
 * positioned error with exit 3 for validate and plan, never "internal error";
 * a document nested exactly to the limit goes through every later stage
 * (schema walk, normalisation, diff, the text/markdown/JSON renderers and an
 * apply against the emulators) without a stack overflow.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH } from '../../src/core/json.ts';
import { ACCOUNTS, stackLines, startWorld, useFastRetries, type World } from '../helpers/world.ts';

let world: World;

beforeAll(async () => {
  world = await startWorld();
  useFastRetries();
});

afterAll(async () => {
  await world.close();
});

const head = (name: string) =>
  [
    'kind: kazoo/connectivity',
    'target: kazoo-prod',
    `account: ${ACCOUNTS.initech}`,
    `name: ${name}`,
    'spec:',
    '  account:',
  ].join('\n');

describe('nesting depth at the CLI', () => {
  it('3,000 nested [ or { (a 6 KB file): validate and plan exit 3 with a positioned error', async () => {
    for (const [open, close] of [
      ['[', ']'],
      ['{a: ', '}'],
    ] as const) {
      const file = 'connectivity/initech/deep.yaml';
      // The document, spec and account mappings are levels 1-3; the brackets start at column 15.
      await writeFile(
        join(world.dir, file),
        `${head('deep')}\n    x: ${open.repeat(3000)}1${close.repeat(3000)}\n`,
      );
      for (const argv of [['validate'], ['plan'], ['validate', '--format', 'json']]) {
        const r = await world.cli(argv);
        expect(r.code, `${argv.join(' ')}: ${r.out}${r.err}`).toBe(3);
        expect(r.out + r.err).not.toMatch(/internal error|Maximum call stack/);
        expect(stackLines(r.out + r.err)).toEqual([]);
        if (argv.length === 1)
          expect(r.out + r.err).toContain(
            `${file}:7:${8 + (MAX_NESTING_DEPTH - 3) * open.length}: error: nesting is deeper than ${MAX_NESTING_DEPTH} levels`,
          );
      }
    }
  });

  it('a document nested exactly to the limit goes through plan and apply', async () => {
    // Levels 1-3 are the document, spec and account; 97 more here make 100.
    const n = MAX_NESTING_DEPTH - 3;
    await writeFile(
      join(world.dir, 'connectivity/initech/deep.yaml'),
      `${head('deep-ok')}\n    x: ${'{a: '.repeat(n - 1)}[1]${'}'.repeat(n - 1)}\n`,
    );
    const v = await world.cli(['validate']);
    expect(v.code, v.out + v.err).toBe(0);
    for (const f of ['text', 'markdown', 'json']) {
      const r = await world.cli(['plan', '--format', f]);
      expect(r.code, r.out + r.err).toBe(0);
      expect(r.out).toContain('deep-ok');
    }
    const a = await world.cli(['apply', '--yes']);
    expect(a.code, a.out + a.err).toBe(0);
    const again = await world.cli(['plan', '--detailed-exitcode']);
    expect(again.code, again.out).toBe(0);
  });
});

describe('plain http to a host that is not loopback (INVARIANTS.md 16)', () => {
  const legacy = (extra: string) =>
    [
      'targets:',
      '  legacy:',
      '    type: kazoo',
      '    url: http://kazoo.legacy.example.net:8000/v2',
      ...(extra ? [`    ${extra}`] : []),
      '    auth:',
      '      api_key: ${env:KAZOO_API_KEY}',
    ].join('\n');

  it('is refused by validate and plan, positioned at the url; insecure_http: true warns on every run', async () => {
    const path = join(world.dir, 'connops.yaml');
    const original = await readFile(path, 'utf8');
    await writeFile(join(world.dir, 'connectivity/initech/deep.yaml'), '# none\n');
    try {
      await writeFile(path, original.replace('targets:', legacy('')));
      for (const argv of [['validate'], ['plan']]) {
        const r = await world.cli(argv);
        expect(r.code, r.out + r.err).toBe(3);
        expect(r.out + r.err).toContain(
          'connops.yaml:6:10: error: `url` of target "legacy" is plain http to kazoo.legacy.example.net',
        );
      }
      // The target is declared but no document uses it, so plan talks only to the emulators.
      await writeFile(path, original.replace('targets:', legacy('insecure_http: true')));
      for (const argv of [['validate'], ['plan'], ['plan']]) {
        const r = await world.cli(argv);
        expect(r.code, r.out + r.err).toBe(0);
        expect(r.out + r.err).toContain(
          'connops.yaml:6:10: warning: target "legacy" sends its credentials to kazoo.legacy.example.net over plain http',
        );
      }
    } finally {
      await writeFile(path, original);
    }
  });
});
