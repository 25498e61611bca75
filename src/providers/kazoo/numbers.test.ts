import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  factFindings,
  numberOwnershipFindings,
  ROUTABLE_NUMBER_STATES,
  type AccountNumber,
  type NumberOwner,
} from './numbers.ts';

const A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1';
const B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2';
const own = (number: string, state = 'in_service'): AccountNumber => ({
  number,
  assignedTo: A,
  state,
});

describe('numberOwnershipFindings', () => {
  it('accepts DIDs the account owns in a routable state', () => {
    const listing = [...ROUTABLE_NUMBER_STATES].map((s, i) => own(`+1415555010${i}`, s));
    expect(
      numberOwnershipFindings(
        A,
        listing.map((n) => n.number),
        listing,
      ),
    ).toEqual([]);
  });

  it('says a DID is not in the number manager, with the pointer where it is declared', () => {
    expect(
      numberOwnershipFindings(
        A,
        [{ did: '+14155550100', pointer: '/spec/servers/0/DIDs/+14155550100' }],
        [],
      ),
    ).toEqual([
      {
        severity: 'error',
        code: 'DID_NOT_IN_NUMBER_MANAGER',
        did: '+14155550100',
        account: A,
        pointer: '/spec/servers/0/DIDs/+14155550100',
        message: `would never route: +14155550100 is not in the number manager for account ${A} (add it with PUT /v2/accounts/${A}/phone_numbers/%2B14155550100, or move it to the account that owns it)`,
      },
    ]);
  });

  it('names the owning account when another listing shows it, with names when given', () => {
    const [f] = numberOwnershipFindings(
      A,
      ['+14155550100'],
      [own('+14155550199')],
      [{ number: '+14155550100', assignedTo: B, state: 'in_service' }],
      new Map([
        [A, 'alpha'],
        [B, 'bravo'],
      ]),
    );
    expect(f).toMatchObject({ code: 'DID_ASSIGNED_ELSEWHERE', assignedTo: B });
    expect(f?.message).toBe(
      `would never route: +14155550100 is assigned to account bravo (${B}), not to this document's account alpha (${A}) (reference §7.6 item 3)`,
    );
  });

  it('flags an owned number in a state that does not route', () => {
    const [f] = numberOwnershipFindings(A, ['+14155550100'], [own('+14155550100', 'aging')]);
    expect(f).toMatchObject({ code: 'DID_NOT_IN_SERVICE', state: 'aging' });
    expect(f?.message).toMatch(/is in state "aging" in the number manager of account/);
  });

  it('does not take a listing row assigned to another account as ownership', () => {
    const findings = numberOwnershipFindings(
      A,
      ['+14155550100'],
      [{ number: '+14155550100', assignedTo: B, state: 'in_service' }],
    );
    expect(findings.map((f) => f.code)).toEqual(['DID_NOT_IN_NUMBER_MANAGER']);
  });

  it('property: a DID is reported exactly when the account does not own it in a routable state', () => {
    const states = [
      'in_service',
      'reserved',
      'port_in',
      'port_out',
      'aging',
      'available',
      'released',
    ];
    const num = fc.integer({ min: 0, max: 30 }).map((i) => `+1415555${String(i).padStart(4, '0')}`);
    fc.assert(
      fc.property(
        fc.array(num, { maxLength: 20 }),
        fc.array(fc.tuple(num, fc.constantFrom(...states), fc.boolean()), { maxLength: 20 }),
        (dids, rows) => {
          const listing: AccountNumber[] = rows.map(([n, state, mine]) => ({
            number: n,
            state,
            assignedTo: mine ? A : B,
          }));
          const findings = numberOwnershipFindings(A, dids, listing);
          const ok = new Map<string, boolean>();
          for (const r of listing)
            if (r.assignedTo === A) ok.set(r.number, ROUTABLE_NUMBER_STATES.has(r.state ?? ''));
          expect(findings.map((f) => f.did)).toEqual(dids.filter((d) => ok.get(d) !== true));
        },
      ),
    );
  });
});

describe('factFindings: a listing and per-number lookups judge alike', () => {
  it('the same DIDs would never route, whichever way the number manager was read', () => {
    const states = ['in_service', 'reserved', 'port_in', 'aging', 'available', 'deleted'];
    const fact = fc.record({
      where: fc.constantFrom('absent', 'unassigned', 'own', 'other'),
      state: fc.constantFrom(...states),
    });
    fc.assert(
      fc.property(fc.array(fact, { minLength: 1, maxLength: 12 }), (facts) => {
        const dids = facts.map((_, i) => `+1415555${String(1000 + i)}`);
        const listing: AccountNumber[] = [];
        const owners: NumberOwner[] = [];
        facts.forEach((f, i) => {
          const number = dids[i] as string;
          const routable = ROUTABLE_NUMBER_STATES.has(f.state);
          if (f.where === 'own') listing.push({ number, assignedTo: A, state: f.state });
          if (f.where === 'absent') owners.push({ number, known: false });
          else if (f.where === 'unassigned') owners.push({ number, known: true, routable: false });
          else
            owners.push({
              number,
              known: true,
              assignedTo: f.where === 'own' ? A : B,
              routable,
              ...(routable ? {} : { state: f.state }),
            });
        });
        const byListing = factFindings(A, dids, { kind: 'listing', numbers: listing });
        const byOwner = factFindings(A, dids, { kind: 'owners', owners });
        expect(byOwner.map((f) => f.did)).toEqual(byListing.map((f) => f.did));
        // Only the lookup can name the other owner.
        for (const f of byOwner)
          if (f.code === 'DID_ASSIGNED_ELSEWHERE') expect(f.message).toContain(B);
      }),
    );
  });
});
