import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { readTextFile } from '../io/files.ts';
import { parseYamlFile } from './yaml.ts';

const env = (vars: Record<string, string>) => (n: string) => vars[n];

describe('parseYamlFile', () => {
  it('keeps a "+" DID key that YAML would read as an integer', () => {
    const r = parseYamlFile('f.yaml', 'DIDs:\n  +14155550100: {}\n', env({}));
    expect(r.documents[0]?.value).toEqual({ DIDs: { '+14155550100': {} } });
  });

  it('positions keys and values exactly', () => {
    const r = parseYamlFile('f.yaml', 'a:\n  b:\n    - x\n    - c: 1\n', env({}));
    const loc = r.documents[0]?.locate;
    expect(loc?.value('/a/b/1/c')).toEqual({ file: 'f.yaml', line: 4, col: 10 });
    expect(loc?.key('/a/b/1/c')).toEqual({ file: 'f.yaml', line: 4, col: 7 });
    expect(loc?.value('/a/missing')).toEqual({ file: 'f.yaml', line: 2, col: 3 }); // nearest ancestor
  });

  it('substitutes ${env:} (several per string, $$ escapes) and marks the value sensitive', () => {
    const r = parseYamlFile(
      'f.yaml',
      'p: "${env:A}-${env:B}"\nq: "$${env:A}"\n',
      env({ A: 'one', B: 'two' }),
    );
    expect(r.documents[0]?.value).toEqual({ p: 'one-two', q: '${env:A}' });
    expect(r.documents[0]?.sensitive).toEqual(['/p']);
  });

  it.each([
    ['a missing variable', 'p: ${env:NOPE}\n', 'ENV_MISSING', 1, 4],
    ['a malformed reference', 'p: ${env:1x}\n', 'ENV_SYNTAX', 1, 4],
    ['a duplicate key', 'a: 1\na: 2\n', 'DUPLICATE_KEY', 2, 1],
    ['tab indentation', 'a:\n\tb: 1\n', 'YAML_TAB', 2, 1],
    ['an unclosed quote', 'a: "oops\n', 'YAML_SYNTAX', 2, 1],
    ['a merge key', 'x: &x {a: 1}\ny:\n  <<: *x\n', 'YAML_MERGE', 3, 3],
    ['a __proto__ key', 'a:\n  __proto__: { polluted: true }\n', 'YAML_KEY', 2, 3],
    ['a __proto__ key in a flow mapping', 'a: { __proto__: 1 }\n', 'YAML_KEY', 1, 6],
    ['.inf', 'a: .inf\n', 'YAML_NUMBER', 1, 4],
    ['binary content', 'a: 1\u0000\u0001\n', 'NOT_TEXT', 1, 1],
    ['invalid UTF-8 (decoded as U+FFFD)', 'a: \uFFFD\n', 'NOT_TEXT', 1, 1],
    ['an unknown alias', 'a: *nope\n', 'YAML_SYNTAX', 1, 4],
  ])('reports %s as a diagnostic, never throwing', (_name, text, code, line, col) => {
    const r = parseYamlFile('f.yaml', text, env({}));
    expect(r.diagnostics.map((d) => [d.code, d.line, d.col])).toContainEqual([code, line, col]);
    expect(r.diagnostics.every((d) => !d.message.includes('    at '))).toBe(true);
  });

  it('stops an alias bomb without expanding it', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(10)
          .fill(`*${'abcdefghij'[i - 1]}`)
          .join(', ')}]`,
      );
    const started = process.memoryUsage().heapUsed;
    const r = parseYamlFile('bomb.yaml', levels.join('\n') + '\n', env({}));
    expect(r.diagnostics.map((d) => d.code)).toEqual(['YAML_TOO_LARGE']);
    expect(r.documents[0]?.value).toBeUndefined();
    expect(process.memoryUsage().heapUsed - started).toBeLessThan(200 * 1024 * 1024);
  });

  it('reads several documents per file, each positioned', () => {
    const r = parseYamlFile('f.yaml', 'a: 1\n---\nb: 2\n', env({}));
    expect(r.documents.map((d) => [d.value, d.start.line])).toEqual([
      [{ a: 1 }, 1],
      [{ b: 2 }, 3],
    ]);
  });

  it('notes numbers written like strings (leading + or 0) so messages can suggest quotes', () => {
    const r = parseYamlFile('f.yaml', 'n: +14155550100\nm: 0123\nk: 123\n', env({}));
    expect([...(r.documents[0]?.numberLike ?? [])]).toEqual(['/n', '/m']);
  });
});

describe('readTextFile', () => {
  it('refuses a 50 MB file with a clear reason instead of reading it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'connops-'));
    try {
      const file = join(dir, 'huge.yaml');
      await writeFile(file, '');
      await truncate(file, 50 * 1024 * 1024);
      const r = await readTextFile(file);
      expect(r).toEqual({ ok: false, reason: expect.stringContaining('50.0 MiB') });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('values kept from a parse', () => {
  // A value cut from the file text must not keep the whole text alive (src/core/detach.ts).
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heapAfterGc = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };

  it.each([
    ['the fast path', true],
    ['the yaml library', false],
  ])('from %s hold only their own characters, not the file', (_label, fast) => {
    const padding = 16 * 1024 * 1024;
    const before = heapAfterGc();
    const kept = ((): string => {
      const text = `kind: kazoo/connectivity\nname: a-name-of-twenty-five\n# ${'x'.repeat(padding)}\n`;
      const value = parseYamlFile('f.yaml', text, env({}), { fast }).documents[0]?.value;
      return (value as { name: string }).name;
    })();
    const grown = heapAfterGc() - before;
    expect(kept).toBe('a-name-of-twenty-five');
    expect(grown).toBeLessThan(padding / 4);
  });
});

describe('an unquoted ${env:} inside a flow collection', () => {
  const text = [
    'targets:',
    '  kazoo-prod:',
    '    type: kazoo',
    '    auth: { api_key: ${env:KAZOO_API_KEY} }   # or { username, password }',
    '    concurrency: 8',
    '  cf:',
    '    auth: { token: ${env:CF_TOKEN} }',
    "documents: ['connectivity/**/*.yaml']",
    '',
  ].join('\n');

  it('is one error per reference, at the reference, showing the quoted form', () => {
    const r = parseYamlFile('c.yaml', text, env({ KAZOO_API_KEY: 'k', CF_TOKEN: 't' }));
    expect(r.diagnostics.map((d) => [d.code, d.line, d.col])).toEqual([
      ['YAML_ENV_FLOW', 4, 22],
      ['YAML_ENV_FLOW', 7, 20],
    ]);
    expect(r.diagnostics[0]?.message).toContain('write "${env:KAZOO_API_KEY}"');
    expect(r.diagnostics[0]?.message).toContain('must be quoted');
  });

  it('still reports a separate mistake that quoting would not fix', () => {
    const r = parseYamlFile('c.yaml', `${text}policy: "unclosed\n`, env({}));
    expect(r.diagnostics.map((d) => d.code)).toEqual([
      'YAML_ENV_FLOW',
      'YAML_ENV_FLOW',
      'YAML_SYNTAX',
    ]);
    expect(r.diagnostics[2]?.line).toBeGreaterThanOrEqual(9);
  });

  it('is not suspected when the reference is quoted or outside a flow collection', () => {
    const ok = 'a: { k: "${env:A}" }\nb: ${env:A}\nc: [x, y]\nd: "{ ${env:A} }"\n';
    const r = parseYamlFile('c.yaml', ok, env({ A: 'v' }));
    expect(r.diagnostics).toEqual([]);
    expect(r.documents[0]?.value).toEqual({ a: { k: 'v' }, b: 'v', c: ['x', 'y'], d: '{ v }' });
  });
});

describe('parseYamlFile with reread (the text is not kept for positions)', () => {
  const text = "a: 1\nspec:\n  servers:\n    - DIDs:\n        '+14155550100': {}\n";
  const env = (): undefined => undefined;

  it('locates through the text read again, and reads it only when a position is asked for', () => {
    let reads = 0;
    const parsed = parseYamlFile('f.yaml', text, env, {
      reread: () => {
        reads++;
        return text;
      },
    });
    const doc = parsed.documents[0];
    expect(reads).toBe(0);
    expect(doc?.locate.key('/spec/servers/0/DIDs/+14155550100')).toEqual({
      file: 'f.yaml',
      line: 5,
      col: 9,
    });
    expect(reads).toBe(1);
  });

  it('a file that changed since (another length) is not used: the document start instead', () => {
    const parsed = parseYamlFile('f.yaml', text, env, { reread: () => `# edited\n${text}` });
    expect(parsed.documents[0]?.locate.key('/spec/servers/0/DIDs/+14155550100')).toEqual({
      file: 'f.yaml',
      line: 1,
      col: 1,
    });
  });

  it('a file that cannot be read again gives the document start', () => {
    const parsed = parseYamlFile('f.yaml', text, env, { reread: () => undefined });
    expect(parsed.documents[0]?.locate.value('/spec')).toEqual({ file: 'f.yaml', line: 1, col: 1 });
  });
});
