import { describe, expect, it } from 'vitest';
import { PROVIDERS } from '../providers/registry.ts';
import { buildDesiredState, type SourceFile } from './documents.ts';
import type { Config } from './model.ts';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);
const config: Config = {
  file: 'connops.yaml',
  dir: '.',
  targets: {
    k: {
      name: 'k',
      type: 'kazoo',
      auth: {},
      concurrency: 4,
      timeout_ms: 1000,
      source: { file: 'connops.yaml', line: 1, col: 1 },
    },
    k2: {
      name: 'k2',
      type: 'kazoo',
      auth: {},
      concurrency: 4,
      timeout_ms: 1000,
      source: { file: 'connops.yaml', line: 8, col: 1 },
    },
  },
  documents: ['*.yaml'],
  policy: { prune: false, max_deletes: 0, max_changes: 100 },
};

/** One connectivity document: an IP server with these DIDs, or a password server for `user`. */
function doc(account: string, name: string, server: string): string {
  return `kind: kazoo/connectivity\ntarget: k\naccount: '${account}'\nname: ${name}\nspec:\n  servers:\n${server}`;
}
const ipServer = (dids: string[]): string =>
  `    - auth: { auth_method: IP, ip: 192.0.2.1 }\n      DIDs:\n${dids.map((d) => `        '${d}': {}\n`).join('')}`;
const pwServer = (user: string, method = 'password'): string =>
  `    - auth: { auth_method: ${method}, auth_user: ${user}, auth_password: secret-pw }\n      options: {}\n`;

function check(files: Record<string, string>, keepSpecs = true) {
  const list: SourceFile[] = Object.entries(files).map(([path, text]) => ({ path, text }));
  return buildDesiredState(list, config, PROVIDERS, () => undefined, { keepSpecs });
}
const codes = (r: ReturnType<typeof check>) =>
  r.diagnostics.map((d) => `${d.file}:${d.line}:${d.col} ${d.code}`);

describe('checks across documents', () => {
  it.each([
    [
      'a DID routed twice in one account (at the second key, naming the first)',
      {
        'a.yaml': doc(A, 'one', ipServer(['+14155550100', '+14155550101'])),
        'b.yaml': doc(A, 'two', ipServer(['+14155550102', '+14155550101'])),
      },
      ['b.yaml:10:9 DUPLICATE_DID'],
    ],
    [
      'the same DID in two accounts of one target (INVARIANTS.md 2)',
      {
        'a.yaml': doc(A, 'one', ipServer(['+14155550100'])),
        'b.yaml': doc(B, 'two', ipServer(['+14155550100'])),
      },
      ['b.yaml:9:9 DUPLICATE_DID'],
    ],
    [
      'the same DID on two targets',
      {
        'a.yaml': doc(A, 'one', ipServer(['+14155550100'])),
        'b.yaml': doc(A, 'two', ipServer(['+14155550100'])).replace('target: k', 'target: k2'),
      },
      [],
    ],
    [
      'one DID in three accounts, twice in the second: one error per extra use',
      {
        'a.yaml': doc(A, 'one', ipServer(['+14155550100'])),
        'b.yaml': doc(B, 'two', ipServer(['+14155550101', '+14155550100'])),
        'c.yaml': doc(B, 'three', ipServer(['+14155550100'])),
        'd.yaml': doc(C, 'four', ipServer(['+14155550100'])),
      },
      ['b.yaml:10:9 DUPLICATE_DID', 'c.yaml:9:9 DUPLICATE_DID', 'd.yaml:9:9 DUPLICATE_DID'],
    ],
    [
      'a SIP user twice in one account, in any case',
      {
        'a.yaml': doc(A, 'one', pwServer('pbx')),
        'b.yaml': doc(A, 'two', pwServer('PBX')),
      },
      ['b.yaml:7:49 DUPLICATE_AUTH_USER'],
    ],
    [
      'an auth_user on an IP server',
      {
        'a.yaml': doc(A, 'one', pwServer('pbx')),
        'b.yaml': doc(A, 'two', pwServer('pbx', 'IP').replace('auth_password', 'ip: 192.0.2.9, x')),
      },
      [],
    ],
    [
      'one name declared twice',
      {
        'a.yaml': doc(A, 'one', ipServer(['+14155550100'])),
        'b.yaml': doc(A, 'one', ipServer(['+14155550101'])),
      },
      ['b.yaml:4:7 DUPLICATE_IDENTITY'],
    ],
  ])('%s', (_label, files, want) => {
    const kept = check(files);
    expect(codes(kept).filter((c) => !c.endsWith('UNKNOWN_FIELD'))).toEqual(want);
    // Without specs kept, the same diagnostics and count, and no documents held.
    const dropped = check(files, false);
    expect(dropped.diagnostics).toEqual(kept.diagnostics);
    expect(dropped.count).toBe(kept.count);
    expect(dropped.documents).toEqual([]);
    expect(kept.documents).toHaveLength(kept.count);
  });

  it('names where the first use is', () => {
    const r = check({
      'a.yaml': doc(A, 'one', ipServer(['+14155550100'])),
      'b.yaml': doc(A, 'two', ipServer(['+14155550100'])),
    });
    expect(r.diagnostics[0]?.message).toContain('"one" servers[0] (a.yaml:9:9)');
  });

  it('names both places of a DID in two accounts of one target, and the first account', () => {
    const r = check({
      'a.yaml': doc(A, 'one', ipServer(['+14155550100'])),
      'b.yaml': doc(B, 'two', ipServer(['+14155550199', '+14155550100'])),
    });
    expect(r.diagnostics).toHaveLength(1);
    const d = r.diagnostics[0];
    expect(`${d?.file}:${d?.line}:${d?.col}`).toBe('b.yaml:10:9');
    expect(d?.message).toContain(`"one" servers[0] (a.yaml:9:9) in account ${A}`);
    expect(d?.message).toContain('only one document per target, across all of its accounts');
  });
});
