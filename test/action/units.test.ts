/**
 * The Action's pure helpers: input parsing, argument splitting, markers, Link headers.
 */
import { describe, expect, it } from 'vitest';
import { nextLink } from '../../src/action/github.ts';
import { InputError, readInputs, splitArgs } from '../../src/action/inputs.ts';
import { parseMarker, renderMarker, sameIdentity } from '../../src/action/markers.ts';

describe('splitArgs', () => {
  it('splits on whitespace with simple quotes and no shell', () => {
    expect(splitArgs('')).toEqual([]);
    expect(splitArgs('  --shard 2/4\t--only  acme/* ')).toEqual([
      '--shard',
      '2/4',
      '--only',
      'acme/*',
    ]);
    expect(splitArgs(`--only 'acme main' --target "kazoo prod" x''`)).toEqual([
      '--only',
      'acme main',
      '--target',
      'kazoo prod',
      'x',
    ]);
    expect(splitArgs('$(rm -rf /) `id`')).toEqual(['$(rm', '-rf', '/)', '`id`']);
    expect(splitArgs("''")).toEqual(['']);
    expect(() => splitArgs('--only "acme')).toThrow(InputError);
  });
});

describe('readInputs', () => {
  const base = { INPUT_COMMAND: 'plan' };
  it('applies the defaults of action.yml and reads hyphenated names', () => {
    expect(readInputs(base)).toMatchObject({
      command: 'plan',
      config: 'connops.yaml',
      workingDirectory: '.',
      args: [],
      comment: true,
      allowPlanChange: false,
      failOnDrift: true,
      driftIssue: false,
    });
    expect(
      readInputs({
        ...base,
        'INPUT_ALLOW-PLAN-CHANGE': 'True',
        'INPUT_WORKING-DIRECTORY': ' infra ',
      }),
    ).toMatchObject({
      allowPlanChange: true,
      workingDirectory: 'infra',
    });
  });
  it('rejects bad values with the input name', () => {
    expect(() => readInputs({})).toThrow('input "command" is required');
    expect(() => readInputs({ ...base, INPUT_COMMENT: 'yes' })).toThrow(
      'input "comment" must be true or false',
    );
    expect(() => readInputs({ ...base, INPUT_ARGS: '--expect-fingerprint=abc' })).toThrow(
      'must not contain --expect-fingerprint',
    );
  });
});

describe('markers', () => {
  it('round-trips, encoding what would break the comment', () => {
    const m = renderMarker('plan', {
      config: 'my dir/connops.yaml',
      scope: 'shard:1/4',
      fingerprint: 'ab',
      sha: '12',
    });
    expect(m).toBe(
      '<!-- connops:plan config=my%20dir/connops.yaml scope=shard:1/4 fingerprint=ab sha=12 -->',
    );
    expect(renderMarker('drift', { config: 'a-->b' })).toBe(
      '<!-- connops:drift config=a%2d%2d%3eb -->',
    );
    const parsed = parseMarker(`hello\n${m}\nbody`, 'plan');
    expect(parsed).toEqual({
      config: 'my dir/connops.yaml',
      scope: 'shard:1/4',
      fingerprint: 'ab',
      sha: '12',
    });
    expect(parseMarker(m, 'drift')).toBeUndefined();
    expect(sameIdentity(parsed, { config: 'my dir/connops.yaml', scope: 'shard:1/4' })).toBe(true);
    expect(sameIdentity(parsed, { config: 'my dir/connops.yaml', scope: '' })).toBe(false);
    expect(
      sameIdentity(parseMarker('<!-- connops:plan config=c fingerprint=f -->', 'plan'), {
        config: 'c',
        scope: '',
      }),
    ).toBe(true);
  });
});

describe('nextLink', () => {
  it('finds rel="next" in a Link header', () => {
    expect(nextLink(undefined)).toBeUndefined();
    expect(
      nextLink(
        '<https://api.github.com/repositories/1/issues/7/comments?page=2>; rel="next", <https://api.github.com/repositories/1/issues/7/comments?page=5>; rel="last"',
      ),
    ).toBe('https://api.github.com/repositories/1/issues/7/comments?page=2');
    expect(nextLink('<https://x/?page=1>; rel="prev"')).toBeUndefined();
  });
});
