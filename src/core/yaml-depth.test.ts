/**
 * Nesting depth is bounded on both parser paths (issue 23 item 7): a few KB
 * of `[` once overflowed the fast path's stack ("internal error: Maximum call
 * stack size exceeded"); now every shape of nesting past MAX_NESTING_DEPTH is
 * one positioned YAML_TOO_DEEP error, and exactly MAX_NESTING_DEPTH levels read.
 */
import { describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH, type JsonValue } from './json.ts';
import { parseYamlFile } from './yaml.ts';

const env = (vars: Record<string, string>) => (n: string) => vars[n];

describe('nesting depth (bounded on both parser paths)', () => {
  /** `depth` nested collections of one shape, the innermost holding 1; and where the 101st opens. */
  const shapes: Record<string, (depth: number) => { text: string; deepOffset: number }> = {
    'flow sequences': (n) => ({
      text: `${'['.repeat(n)}1${']'.repeat(n)}\n`,
      deepOffset: MAX_NESTING_DEPTH,
    }),
    'flow mappings': (n) => ({
      text: `${'{a: '.repeat(n)}1${'}'.repeat(n)}\n`,
      deepOffset: MAX_NESTING_DEPTH * 4,
    }),
    'block mappings': (n) => {
      const lines = Array.from({ length: n }, (_, i) => `${' '.repeat(i)}a:`);
      // The mapping at level k starts at line k (its first key).
      const deepOffset =
        lines.slice(0, MAX_NESTING_DEPTH).join('\n').length + 1 + MAX_NESTING_DEPTH;
      return { text: `${lines.join('\n')} 1\n`, deepOffset };
    },
    'block sequences': (n) => ({
      text: `${'- '.repeat(n)}1\n`,
      deepOffset: MAX_NESTING_DEPTH * 2,
    }),
    'flow in block': (n) => ({
      text: `spec:\n  servers: ${'['.repeat(n - 2)}1${']'.repeat(n - 2)}\n`,
      deepOffset: 17 + MAX_NESTING_DEPTH - 2,
    }),
  };

  const depthOf = (v: JsonValue | undefined): number =>
    v !== null && typeof v === 'object'
      ? 1 + Math.max(0, ...Object.values(v).map((x) => depthOf(x)))
      : 0;

  for (const [name, make] of Object.entries(shapes))
    for (const fast of [true, false]) {
      const path = fast ? 'fast path first' : 'library only';
      it(`${name} (${path}): ${MAX_NESTING_DEPTH} levels are read`, () => {
        const r = parseYamlFile('f.yaml', make(MAX_NESTING_DEPTH).text, env({}), { fast });
        expect(r.diagnostics).toEqual([]);
        expect(depthOf(r.documents[0]?.value)).toBe(MAX_NESTING_DEPTH);
      });
      it.each([MAX_NESTING_DEPTH + 1, 3000])(
        `${name} (${path}): %i levels are one positioned error at the level past the limit`,
        (n) => {
          const { text, deepOffset } = make(n);
          const r = parseYamlFile('f.yaml', text, env({}), { fast });
          expect(r.diagnostics.map((d) => d.code)).toEqual(['YAML_TOO_DEEP']);
          const d = r.diagnostics[0];
          const before = text.slice(0, deepOffset).split('\n');
          expect({ line: d?.line, col: d?.col }).toEqual({
            line: before.length,
            col: (before[before.length - 1]?.length ?? 0) + 1,
          });
          expect(d?.message).toMatch(/deeper than 100 levels/);
          expect(r.documents[0]?.value).toBeUndefined();
        },
      );
    }

  it('counts levels reached through aliases', () => {
    const lines = ['a0: &a0 [1]'];
    for (let i = 1; i <= MAX_NESTING_DEPTH; i++) lines.push(`a${i}: &a${i} [*a${i - 1}]`);
    const r = parseYamlFile('f.yaml', `${lines.join('\n')}\n`, env({}));
    expect(r.diagnostics.map((d) => d.code)).toEqual(['YAML_TOO_DEEP']);
  });
});
