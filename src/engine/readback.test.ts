import { describe, expect, it } from 'vitest';
import { ApiError, HttpError } from '../core/errors.ts';
import type { JsonObject } from '../core/json.ts';
import type { TargetConfig } from '../core/model.ts';
import type { PlanChange } from '../core/plan.ts';
import { PROVIDERS } from '../providers/registry.ts';
import type { LiveObject, ProviderSession } from '../providers/types.ts';
import { outcomeMayBeLost, readBack } from './readback.ts';

const provider = PROVIDERS.get('kazoo/connectivity')!;
const target = { name: 't', type: 'kazoo', schema: '4.3' } as unknown as TargetConfig;
const key = { target: 't', account: 'a'.repeat(32), kind: 'kazoo/connectivity', name: 'n' };
const body = (trunks: number): JsonObject => ({ name: 'n', account: { trunks }, servers: [] });

function session(objects: LiveObject[], fail = false): ProviderSession {
  const never = async (): Promise<never> => {
    throw new Error('not used');
  };
  return {
    list: async () => (fail ? never() : objects),
    get: async (_a, id) => (fail ? never() : objects.find((o) => o.id === id)),
    create: never,
    update: never,
    delete: never,
    close: async () => {},
  };
}

function change(action: PlanChange['action'], extra: Partial<PlanChange> = {}): PlanChange {
  return {
    key,
    action,
    reason: '',
    ops: [],
    claims: [],
    releases: [],
    dependsOn: [],
    after: provider.normalize(body(5), target),
    ...extra,
  };
}

const ctx = (objects: LiveObject[], fail = false) => ({
  session: session(objects, fail),
  provider,
  target,
  ignore: [],
  identities: provider.identities ?? {},
});

describe('outcomeMayBeLost', () => {
  it.each([
    ['a transport failure', new HttpError('PATCH', '/x', 'reset'), true],
    ['an unreadable 200', new ApiError('API', 'x', { status: 200, apiMessage: '' }), true],
    [
      'a 412 (the revision guard refused it)',
      new ApiError('CONFLICT', 'x', { status: 412, apiMessage: '' }),
      false,
    ],
    ['a 502 from a proxy', new ApiError('API', 'x', { status: 502, apiMessage: '' }), true],
    ['a 400 validation error', new ApiError('API', 'x', { status: 400, apiMessage: '' }), false],
    ['a 401', new ApiError('AUTH', 'x', { status: 401, apiMessage: '' }), false],
    ['a plain bug', new Error('x'), false],
  ])('%s → %s', (_, err, expected) => {
    expect(outcomeMayBeLost(err)).toBe(expected);
  });
});

describe('readBack', () => {
  const live = { id: 'd1', revision: '1-a' };
  it('update: the planned body is there → applied', async () => {
    const r = await readBack(
      change('update', { live }),
      ctx([{ id: 'd1', revision: '2-b', body: body(5) }]),
    );
    expect(r).toEqual({ applied: true, id: 'd1' });
  });
  it('update: the planned revision is still there → not applied', async () => {
    const r = await readBack(
      change('update', { live, revision: '1-a' }),
      ctx([{ id: 'd1', revision: '1-a', body: body(2) }]),
    );
    expect(r.applied).toBe(false);
  });
  it('update: neither → unknown, never failed', async () => {
    const r = await readBack(
      change('update', { live, revision: '1-a' }),
      ctx([{ id: 'd1', revision: '3-c', body: body(9) }]),
    );
    expect(r.applied).toBe('unknown');
  });
  it('update: the read fails too → unknown', async () => {
    const r = await readBack(change('update', { live }), ctx([], true));
    expect(r.applied).toBe('unknown');
  });
  it('delete: gone → applied; still there → not applied', async () => {
    expect((await readBack(change('delete', { live }), ctx([]))).applied).toBe(true);
    expect(
      (
        await readBack(
          change('delete', { live }),
          ctx([{ id: 'd1', revision: '1-a', body: body(2) }]),
        )
      ).applied,
    ).toBe(false);
  });
  it('create: one object of that name holding the plan → applied with its id; none → not applied; two → unknown', async () => {
    expect(await readBack(change('create'), ctx([{ id: 'n1', body: body(5) }]))).toEqual({
      applied: true,
      id: 'n1',
    });
    expect((await readBack(change('create'), ctx([]))).applied).toBe(false);
    const two = [
      { id: 'n1', body: body(5) },
      { id: 'n2', body: body(5) },
    ];
    expect((await readBack(change('create'), ctx(two))).applied).toBe('unknown');
  });
});
