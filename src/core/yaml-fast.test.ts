/**
 * The fast path must either decline a file or give exactly what the `yaml`
 * library path gives: values, document starts, sensitive pointers and
 * number-like pointers. Checked on every example, on generated documents and on
 * mutated files.
 */
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseFastYaml } from './yaml-fast.ts';
import { MAX_NODES_PER_DOCUMENT, parseYamlFile } from './yaml.ts';

const ENV: Record<string, string> = { A: 'alpha', PW: 's3cret-pw' };
/** Every variable is set (to a value derived from its name) except NOPE. */
const env = (n: string): string | undefined =>
  n === 'NOPE' ? undefined : (ENV[n] ?? `value-of-${n}`);

function view(file: ReturnType<typeof parseYamlFile>) {
  return {
    diagnostics: file.diagnostics,
    documents: file.documents.map((d) => ({
      value: d.value,
      start: d.start,
      sensitive: d.sensitive,
      numberLike: [...d.numberLike].sort(),
    })),
  };
}

/** Returns whether the fast path took the file, after checking it agrees with the library. */
function agree(text: string): boolean {
  const slow = view(parseYamlFile('f.yaml', text, env, { fast: false }));
  const fast = parseFastYaml(text, env, MAX_NODES_PER_DOCUMENT);
  if (!fast) return false;
  expect(slow.diagnostics, `the library reports problems the fast path accepted:\n${text}`).toEqual(
    [],
  );
  expect(view(parseYamlFile('f.yaml', text, env)), text).toEqual(slow);
  return true;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.yaml'))
    .map((e) => join(e.parentPath, e.name));
}

const examples = join(import.meta.dirname, '..', '..', 'examples');

describe('yaml fast path', () => {
  it.each(yamlFiles(examples).filter((f) => !f.includes('invalid')))(
    'takes and agrees on %s',
    (file) => {
      expect(agree(readFileSync(file, 'utf8'))).toBe(true);
    },
  );

  it.each(yamlFiles(join(examples, 'invalid')))('declines or agrees on %s', (file) => {
    agree(readFileSync(file, 'utf8'));
  });

  it.each([
    [
      'plain scalars of every core-schema type',
      'a: ~\nb: null\nc: true\nd: False\ne: 012\nf: +14155550100\ng: 1.5\nh: 1e3\ni: .5\nj: yes\nk: 1_000\nl: "012"\nm: x#y\nn: 0.10\n',
      true,
    ],
    ['quoted keys and escapes', '"+1415": {}\n\'it\'\'s\': "tab\\there \\u00e9 \\"q\\""\n', true],
    ['env references', 'p: ${env:PW}\nq: "x-${env:A}"\nr: $${env:A}\n', true],
    ['flow collections', "a: { b: [1, 'two', { c: null }], d: {} }\ne: []\n", true],
    ['compact sequences', 'a:\n- x\n- y: 1\n  z: 2\n-\n  - nested\n', true],
    [
      'documents with comments and separators',
      '# head\n---\na: 1 # note\n---   # second\nb:\n  # inside\n  c: 2\n',
      true,
    ],
    ['a scalar document', 'just text\n', true],
    ['an anchor', 'a: &x 1\nb: *x\n', false],
    ['a block scalar', 'a: |\n  text\n', false],
    ['a multi-line plain scalar', 'a: one\n  two\n', false],
    ['a duplicate key', 'a: 1\na: 2\n', false],
    ['a missing variable', 'a: ${env:NOPE}\n', false],
    ['a negative number', 'a: -1\n', false],
    ['CRLF line ends', 'a: 1\r\n', false],
    ['an empty trailing document', 'a: 1\n---\n', false],
    ['a trailing flow comma', 'a: [1, 2, ]\n', false],
  ])('%s', (_name, text, taken) => {
    expect(agree(text)).toBe(taken);
  });

  const key = fc.oneof(
    fc.constantFrom(
      'a',
      'name',
      '+14155550100',
      'true',
      'null',
      '1',
      '012',
      'a b',
      'a:b',
      "it's",
      'é',
      'x-y',
      'DIDs',
    ),
    fc.string({ minLength: 1, maxLength: 8 }),
  );
  const scalar = fc.oneof(
    fc.constantFrom(
      '',
      ' x',
      'x ',
      'a: b',
      '#',
      'a #b',
      'yes',
      'null',
      '~',
      '012',
      '+1',
      '1.5',
      '1e3',
      '.5',
      'true',
      "'",
      '"',
      '\\',
      '${env:A}',
      '$${env:A}',
      'sip:a@b',
      '- x',
      '[x]',
      '{x}',
      'tab\tx',
      'line\nbreak',
    ),
    fc.string({ maxLength: 12 }),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
  );
  const value = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('arr'), tie('obj')),
    arr: fc.array(tie('node'), { maxLength: 4 }),
    obj: fc.dictionary(key, tie('node'), { maxKeys: 4 }),
  })).node;

  it('agrees with the library on generated documents in several styles', () => {
    let taken = 0;
    let runs = 0;
    fc.assert(
      fc.property(
        fc.dictionary(key, value, { minKeys: 1, maxKeys: 5 }),
        fc.constantFrom(undefined, 0, 1, 2),
        fc.boolean(),
        (doc, flowLevel, single) => {
          runs++;
          const text = stringify(doc, {
            ...(flowLevel !== undefined ? { flowLevel } : {}),
            singleQuote: single,
            lineWidth: 0,
          });
          if (agree(text)) taken++;
        },
      ),
      { numRuns: 600, seed: 42 },
    );
    expect(runs).toBe(600);
    // Most generated files are inside the subset, so the comparison is not vacuous.
    expect(taken).toBeGreaterThan(100);
  });

  it('declines or agrees on mutated example files', () => {
    const sources = yamlFiles(examples).map((f) => readFileSync(f, 'utf8'));
    let taken = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...sources),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom('del', 'dup', 'indent', 'dedent', 'char')), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.string({ maxLength: 2 }),
        (text, edits, ch) => {
          const lines = text.split('\n');
          for (const [n, kind] of edits) {
            const i = n % lines.length;
            const line = lines[i] ?? '';
            if (kind === 'del') lines.splice(i, 1);
            else if (kind === 'dup') lines.splice(i, 0, line);
            else if (kind === 'indent') lines[i] = ` ${line}`;
            else if (kind === 'dedent') lines[i] = line.replace(/^ /, '');
            else
              lines[i] =
                line.slice(0, n % (line.length + 1)) + ch + line.slice(n % (line.length + 1));
          }
          if (agree(lines.join('\n'))) taken++;
        },
      ),
      { numRuns: 600, seed: 7 },
    );
    expect(taken).toBeGreaterThan(50);
  });
});

describe('yaml fast path: empty maps', () => {
  it('reads every `{}` as one frozen object, so a change in place throws instead of spreading', () => {
    const [doc] =
      parseFastYaml("DIDs:\n  '+14155550100': {}\n  '+14155550101': {}\n", () => undefined, 100) ??
      [];
    const dids = (doc?.value as Record<string, Record<string, unknown>>)['DIDs'] ?? {};
    const [a, b] = Object.values(dids);
    expect(a).toEqual({});
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(() => {
      (a as Record<string, unknown>)['failover'] = {};
    }).toThrow(TypeError);
  });
});

describe('yaml fast path: large mappings', () => {
  it('builds a DID-sized mapping as an ordinary object: same keys in the same order, same prototype, writable', () => {
    const keys = [
      ...Array.from({ length: 40 }, (_, i) => `'+1415555${String(1000 + i)}'`),
      "'7'", // an integer-like key: JavaScript lists it first, in either layout
      'plain_key',
    ];
    const text = `DIDs:\n${keys.map((k, i) => `  ${k}: ${i % 3 === 0 ? '{}' : `{ n: ${i} }`}`).join('\n')}\n`;
    expect(agree(text)).toBe(true);
    const fast = parseFastYaml(text, env, MAX_NODES_PER_DOCUMENT)?.[0]?.value as Record<
      string,
      Record<string, unknown>
    >;
    const slow = parseYamlFile('f.yaml', text, env, { fast: false }).documents[0]
      ?.value as typeof fast;
    const dids = fast['DIDs'] as Record<string, unknown>;
    expect(Object.keys(dids)).toEqual(Object.keys(slow['DIDs'] as object));
    expect(Object.keys(dids)[0]).toBe('7');
    expect(Object.getPrototypeOf(dids)).toBe(Object.prototype);
    expect(Object.hasOwn(dids, 'first') || Object.hasOwn(dids, 'second')).toBe(false);
    dids['+14155559999'] = {};
    expect(Object.keys(dids).at(-1)).toBe('+14155559999');
  });
});
