/**
 * Invariant 1 (INVARIANTS.md: no apply leaves a declared number unrouted, at
 * any instant) over generated change sets: documents appear, disappear (a
 * rename is one of each), and DIDs move between them, swap, and are added or
 * dropped. Each set is planned by the real planner and applied by the real
 * `applyPlan` against an in-memory Kazoo store that applies each write as
 * Crossbar does (PATCH = merge, arrays replaced, §1.7) and fails some writes.
 * After every single write, every number that was routed before and is still
 * declared must be in at least one document; with no failures the end state
 * is the desired one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isObject, type JsonObject, type JsonValue } from '../core/json.ts';
import type { Config, DesiredDocument, TargetConfig } from '../core/model.ts';
import { buildPlan } from '../core/plan.ts';
import { kazooConnectivity } from '../providers/kazoo/provider.ts';
import type { LiveObject, Provider, ProviderSession } from '../providers/types.ts';
import { applyPlan } from './apply.ts';
import { SessionPool } from './sessions.ts';

const A = '3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9';
const DOCS = ['d0', 'd1', 'd2', 'd3', 'd4'];
const NUMBERS = Array.from({ length: 8 }, (_, i) => `+1415555${String(4000 + i)}`);
const target: TargetConfig = {
  name: 't',
  type: 'kazoo',
  auth: {},
  concurrency: 4,
  timeout_ms: 1000,
  source: { file: 'c', line: 1, col: 1 },
};
const config: Config = {
  file: 'connops.yaml',
  dir: '.',
  targets: { t: target },
  documents: [],
  policy: { prune: true, max_deletes: 100, max_changes: 100 },
};

/** RFC 7386 merge, as Crossbar's PATCH (reference/kazoo-api.md §1.7). */
function merge(base: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(base) ? { ...base } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = merge(out[k], v);
  }
  return out;
}

const spec = (name: string, dids: readonly string[]): JsonObject => ({
  name,
  servers: [
    {
      name: `pbx-${name}`,
      auth: { auth_method: 'ip', ip: `198.51.100.${DOCS.indexOf(name) + 1}` },
      DIDs: Object.fromEntries(dids.map((d) => [d, {}])),
      options: {},
    },
  ],
});

/** Owner per number: a document index, or -1 for none. */
const owners = fc.array(fc.integer({ min: -1, max: DOCS.length - 1 }), {
  minLength: NUMBERS.length,
  maxLength: NUMBERS.length,
});

const scenario = fc.record({
  liveDocs: fc.array(fc.boolean(), { minLength: DOCS.length, maxLength: DOCS.length }),
  desiredDocs: fc.array(fc.boolean(), { minLength: DOCS.length, maxLength: DOCS.length }),
  liveOwners: owners,
  desiredOwners: owners,
  /** Which writes fail (by their order of arrival). */
  failing: fc.array(fc.boolean(), { minLength: 24, maxLength: 24 }),
  /** Microtask yields per write, so concurrent writes of a wave land in many orders. */
  yields: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 24, maxLength: 24 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function didsOf(body: JsonValue | undefined): string[] {
  const servers = isObject(body) && Array.isArray(body['servers']) ? body['servers'] : [];
  return servers.flatMap((s) => (isObject(s) && isObject(s['DIDs']) ? Object.keys(s['DIDs']) : []));
}

async function run(s: Scenario, withFailures: boolean) {
  const store = new Map<string, { rev: number; body: JsonObject }>();
  const owned = (owners: readonly number[], doc: number, present: readonly boolean[]) =>
    NUMBERS.filter((_, n) => owners[n] === doc && present[doc]);
  DOCS.forEach((name, i) => {
    if (s.liveDocs[i])
      store.set(`id-${name}`, {
        rev: 1,
        body: { ...spec(name, owned(s.liveOwners, i, s.liveDocs)), connops_managed: true },
      });
  });
  const routedBefore = new Set([...store.values()].flatMap((d) => didsOf(d.body)));
  const declared = new Set(DOCS.flatMap((_, i) => owned(s.desiredOwners, i, s.desiredDocs)));
  const mustStay = [...routedBefore].filter((d) => declared.has(d));
  const violations: string[] = [];
  let writes = 0;
  const write = async (effect: () => void): Promise<void> => {
    const n = writes++;
    for (let y = 0; y < (s.yields[n % s.yields.length] ?? 0); y++) await Promise.resolve();
    if (withFailures && s.failing[n % s.failing.length]) throw new Error('injected failure');
    effect();
    const routed = new Set([...store.values()].flatMap((d) => didsOf(d.body)));
    for (const d of mustStay) if (!routed.has(d)) violations.push(`${d} after write ${n}`);
  };
  const session: ProviderSession = {
    list: async () => [],
    get: async (_a, id) => {
      const d = store.get(id);
      return d ? { id, revision: `${d.rev}-x`, body: d.body } : undefined;
    },
    create: async (_a, body, id) => {
      const key = typeof id === 'function' ? id(0) : (id ?? `new-${String(body['name'])}`);
      await write(() => store.set(key, { rev: 1, body }));
      return { id: key, revision: '1-x', body };
    },
    update: async (_a, live, request) => {
      let out: LiveObject | undefined;
      await write(() => {
        const d = store.get(live.id);
        if (!d || `${d.rev}-x` !== live.revision) throw new Error('conflict');
        const body = merge(d.body, request.body ?? {}) as JsonObject;
        store.set(live.id, { rev: d.rev + 1, body });
        out = { id: live.id, revision: `${d.rev + 1}-x`, body };
      });
      return out as LiveObject;
    },
    delete: async (_a, live) => {
      await write(() => store.delete(live.id));
    },
    close: async () => {},
  };
  const provider: Provider = { ...kazooConnectivity, connect: () => session };
  const providers = new Map([[provider.kind, provider]]);
  const documents: DesiredDocument[] = DOCS.flatMap((name, i) =>
    s.desiredDocs[i]
      ? [
          {
            key: { target: 't', account: A, kind: provider.kind, name },
            spec: spec(name, owned(s.desiredOwners, i, s.desiredDocs)),
            ignore: [],
            sensitive: [],
            source: { file: 'f.yaml', line: 1, col: 1 },
          },
        ]
      : [],
  );
  const objects: LiveObject[] = [...store].map(([id, d]) => ({
    id,
    revision: `${d.rev}-x`,
    body: d.body,
  }));
  const plan = buildPlan({
    documents,
    live: [{ target: 't', kind: provider.kind, account: A, objects }],
    targets: { t: target },
    providers,
    prune: true,
    meta: { generated_at: 'now' },
  });
  const results = await applyPlan(plan, {
    providers,
    pool: new SessionPool({}) as SessionPool,
    config,
    now: () => new Date(0),
    parallel: 8,
  });
  return { plan, results, store, violations };
}

describe('claim before release, over generated change sets', () => {
  it('no declared number is in zero documents after any write, even when writes fail', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { violations, plan } = await run(s, true);
        expect(plan.problems).toEqual([]);
        expect(violations).toEqual([]);
      }),
      { numRuns: 300, seed: 25 },
    );
  });

  it('without failures the apply ends in the desired state', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        // An account no document declares is never pruned (SPEC.md §4).
        fc.pre(s.desiredDocs.some(Boolean));
        const { violations, store, results } = await run(s, false);
        expect(violations).toEqual([]);
        expect(results.filter((r) => r.status !== 'ok')).toEqual([]);
        const live = new Map(
          [...store.values()].map((d) => [String(d.body['name']), didsOf(d.body).sort()]),
        );
        const want = new Map(
          DOCS.flatMap((name, i) =>
            s.desiredDocs[i]
              ? [[name, NUMBERS.filter((_, n) => s.desiredOwners[n] === i).sort()] as const]
              : [],
          ),
        );
        expect(live).toEqual(want);
      }),
      { numRuns: 300, seed: 26 },
    );
  });
});
