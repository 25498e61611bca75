import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CheckedDocument, Diagnostic } from './model.ts';
import type { Provider } from '../providers/types.ts';
import {
  decodeValue,
  encodeValue,
  findTargetDuplicates,
  uniqueTableOf,
  type UniqueUse,
} from './target-unique.ts';

describe('encodeValue', () => {
  it.each([
    ['+14155550100', 14155550100],
    ['14155550100', -14155550100],
    ['+999999999999999', 999999999999999],
    ['+0123', NaN],
    ['', NaN],
    ['+', NaN],
    ['+1234567890123456', NaN],
    ['+1-415', NaN],
  ])('%j', (s, n) => {
    expect(encodeValue(s)).toBe(n);
    if (!Number.isNaN(n)) expect(decodeValue(n)).toBe(s);
  });

  it('is one-to-one on the values it encodes', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\+?[0-9]{0,16}$/), (s) => {
        const n = encodeValue(s);
        if (!Number.isNaN(n)) expect(decodeValue(n)).toBe(s);
      }),
    );
  });
});

/** A provider whose documents' facts are their values per part. */
const fake = {
  kind: 'k/x',
  uniqueInTarget: (facts: unknown) => facts as string[][],
  duplicateInTarget: (value: string, first: UniqueUse, again: UniqueUse): Diagnostic => ({
    severity: 'error',
    code: 'DUP',
    message: `${value} first at ${first.doc.key.name}#${first.part}`,
    file: again.doc.key.name,
    line: again.part + 1,
    col: 1,
  }),
} as unknown as Provider;
const providers = new Map([['k/x', fake]]);

function docOf(i: number, account: string, target: string, parts: string[][]): CheckedDocument {
  const source = { file: `d${i}`, line: 1, col: 1 };
  return {
    key: { target, account, kind: 'k/x', name: `d${i}` },
    source,
    index: 0,
    locate: { value: () => source, key: () => source },
    facts: parts,
  };
}

describe('findTargetDuplicates', () => {
  it('reports each account after the first once, at its first use, naming the target-wide first use', () => {
    const docs = [
      docOf(0, 'b', 't', [['+1200'], ['x1']]),
      docOf(1, 'a', 't', [['+1200', 'x1']]),
      docOf(2, 'a', 't', [['+1200']]), // a second use inside account a: checkAll's, not ours
      docOf(3, 'c', 'u', [['+1200']]), // another target
      docOf(4, 'c', 't', [[], ['+1200']]),
    ];
    const table = uniqueTableOf(
      docs.map((doc, order) => ({ order, doc })),
      providers,
    );
    const got = findTargetDuplicates([table], providers).map(
      (d) => `${d.file}#${d.line - 1} ${d.message}`,
    );
    expect(got.sort()).toEqual([
      'd1#0 +1200 first at d0#0',
      'd1#0 x1 first at d0#1',
      'd4#1 +1200 first at d0#0',
    ]);
  });

  it('any split of whole accounts into tables gives the same diagnostics as one table', () => {
    const value = fc.constantFrom('+1200', '+1201', '+1202', '1200', 'x', '+44207');
    const docArb = fc.record({
      account: fc.constantFrom('a', 'b', 'c', 'd'),
      target: fc.constantFrom('t', 'u'),
      parts: fc.array(fc.uniqueArray(value, { maxLength: 3 }), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(
        fc.array(docArb, { maxLength: 12 }),
        fc.func(fc.integer({ min: 0, max: 2 })),
        (specs, holderOf) => {
          const docs = specs.map((s, i) => ({
            order: i,
            doc: docOf(i, s.account, s.target, s.parts),
          }));
          const one = findTargetDuplicates([uniqueTableOf(docs, providers)], providers);
          const holders = [0, 1, 2].map((h) =>
            uniqueTableOf(
              docs.filter((d) => holderOf(d.doc.key.account) === h),
              providers,
            ),
          );
          const split = findTargetDuplicates(holders, providers);
          const text = (l: Diagnostic[]) => l.map((d) => `${d.file}:${d.line} ${d.message}`).sort();
          expect(text(split)).toEqual(text(one));
        },
      ),
    );
  });
});
