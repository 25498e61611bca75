/**
 * Number-manager facts for plan-time checks (reference/kazoo-api.md §7.6 item 3,
 * §12; INVARIANTS.md item 3): a DID in a connectivity document routes only when
 * the number manager assigns that number to the document's account, in a
 * routable state. Pure: the client reads the listing (`KazooClient.listNumbers`),
 * this module only judges it.
 */

/** One number of an account's `GET /v2/accounts/{A}/phone_numbers` listing (§12). */
export interface AccountNumber {
  /** E.164, as the number manager keys it (`+14155550100`). */
  readonly number: string;
  /** The owning account (`assigned_to`); the listing normally shows only the account's own. */
  readonly assignedTo?: string;
  /** `in_service`, `reserved`, `port_in`, … (absent when the server gave none). */
  readonly state?: string;
  /** The application using it (`trunkstore`, `callflow`); absent when none (§12). */
  readonly usedBy?: string;
}

/**
 * States in which Kazoo routes a number: `knm_number:check_number/1` accepts
 * these and answers `not_in_service` for the rest (kazoo `knm_number.erl@223893d0:424-437`).
 */
export const ROUTABLE_NUMBER_STATES: ReadonlySet<string> = new Set([
  'in_service',
  'reserved',
  'port_in',
  'port_out',
]);

/** A desired DID, with where it is declared (a JSON Pointer into the document), when known. */
export interface DesiredDid {
  readonly did: string;
  readonly pointer?: string;
}

export type NumberFindingCode =
  'DID_NOT_IN_NUMBER_MANAGER' | 'DID_ASSIGNED_ELSEWHERE' | 'DID_NOT_IN_SERVICE' | 'DID_UNASSIGNED';

/** What `identify` (§12) says of one number: whether the number manager has it, who owns it, whether it routes. */
export interface NumberOwner {
  readonly number: string;
  /** False: the number manager does not have the number (404). */
  readonly known: boolean;
  /** The owning account, when the answer names one. */
  readonly assignedTo?: string;
  /** True when Kazoo would route it (identify answered 200). */
  readonly routable?: boolean;
  /** The state of a number that does not route, when it could be read. */
  readonly state?: string;
}

/**
 * What the plan-time number check read of one account: its whole listing
 * (many numbers to check), or one `identify` per number (a few).
 */
export type NumberFacts =
  | { readonly kind: 'listing'; readonly numbers: readonly AccountNumber[] }
  | { readonly kind: 'owners'; readonly owners: readonly NumberOwner[] };

/** A desired DID that would never route, diagnostics-style (severity, code, message, pointer). */
export interface NumberFinding {
  readonly severity: 'error';
  readonly code: NumberFindingCode;
  readonly message: string;
  readonly did: string;
  /** The document's account. */
  readonly account: string;
  readonly pointer?: string;
  /** The account the number is assigned to, when another listing showed it. */
  readonly assignedTo?: string;
  /** The number's state, when it is the account's but does not route. */
  readonly state?: string;
}

function inStateMessage(
  did: string,
  state: string,
  account: string,
  names: ReadonlyMap<string, string> | undefined,
): string {
  return `would never route: ${did} is in state "${state}" in the number manager of account ${label(account, names)}; Kazoo routes only ${[...ROUTABLE_NUMBER_STATES].join(', ')} numbers`;
}

function elsewhereMessage(
  did: string,
  owner: string,
  account: string,
  names: ReadonlyMap<string, string> | undefined,
): string {
  return `would never route: ${did} is assigned to account ${label(owner, names)}, not to this document's account ${label(account, names)} (reference §7.6 item 3)`;
}

/** How to give the account the number, for a DID the number manager does not have. */
function addHint(account: string, did: string): string {
  return `(add it with PUT /v2/accounts/${account}/phone_numbers/${encodeURIComponent(did)}, or move it to the account that owns it)`;
}

function label(account: string, names: ReadonlyMap<string, string> | undefined): string {
  const name = names?.get(account);
  return name !== undefined && name !== account ? `${name} (${account})` : account;
}

/**
 * Every desired DID of `account` that the number manager does not let route:
 * not in the account's listing (named with its owner when `others` shows
 * one), or in it but in a state that does not route.
 *
 * @param account the document's account id
 * @param dids the desired DIDs (strings, or with the pointer where they are declared)
 * @param listing the account's own numbers (`KazooClient.listNumbers(account)`)
 * @param others numbers read from other accounts' listings (e.g. the target's other
 *   declared accounts), to say who owns a DID instead of only that the account does not
 * @param names account id → a name to show next to it
 * @returns one finding per offending DID occurrence, in input order
 */
export function numberOwnershipFindings(
  account: string,
  dids: Iterable<string | DesiredDid>,
  listing: Iterable<AccountNumber>,
  others: Iterable<AccountNumber> = [],
  names?: ReadonlyMap<string, string>,
): NumberFinding[] {
  const own = new Map<string, AccountNumber>();
  for (const n of listing) {
    // A listing row assigned elsewhere (should not happen) is not ownership.
    if (n.assignedTo === undefined || n.assignedTo === account) own.set(n.number, n);
  }
  const elsewhere = new Map<string, string>();
  for (const n of others) {
    if (n.assignedTo !== undefined && n.assignedTo !== account && !own.has(n.number))
      elsewhere.set(n.number, n.assignedTo);
  }
  const findings: NumberFinding[] = [];
  for (const entry of dids) {
    const { did, pointer } = typeof entry === 'string' ? { did: entry, pointer: undefined } : entry;
    const at = pointer !== undefined ? { pointer } : {};
    const mine = own.get(did);
    if (mine !== undefined) {
      const state = mine.state;
      if (state === undefined || ROUTABLE_NUMBER_STATES.has(state)) continue;
      findings.push({
        severity: 'error',
        code: 'DID_NOT_IN_SERVICE',
        did,
        account,
        state,
        ...at,
        message: inStateMessage(did, state, account, names),
      });
      continue;
    }
    const owner = elsewhere.get(did);
    if (owner !== undefined) {
      findings.push({
        severity: 'error',
        code: 'DID_ASSIGNED_ELSEWHERE',
        did,
        account,
        assignedTo: owner,
        ...at,
        message: elsewhereMessage(did, owner, account, names),
      });
      continue;
    }
    findings.push({
      severity: 'error',
      code: 'DID_NOT_IN_NUMBER_MANAGER',
      did,
      account,
      ...at,
      message: `would never route: ${did} is not in the number manager for account ${label(account, names)} ${addHint(account, did)}`,
    });
  }
  return findings;
}

/**
 * `numberOwnershipFindings` for numbers looked up one by one (`identify`):
 * the same findings, and the owner named when the number is another account's.
 */
export function ownerFindings(
  account: string,
  dids: Iterable<string | DesiredDid>,
  owners: Iterable<NumberOwner>,
  names?: ReadonlyMap<string, string>,
): NumberFinding[] {
  const byNumber = new Map<string, NumberOwner>();
  for (const o of owners) byNumber.set(o.number, o);
  const findings: NumberFinding[] = [];
  for (const entry of dids) {
    const { did, pointer } = typeof entry === 'string' ? { did: entry, pointer: undefined } : entry;
    const at = pointer !== undefined ? { pointer } : {};
    const o = byNumber.get(did);
    const base = { severity: 'error' as const, did, account, ...at };
    if (!o || !o.known) {
      findings.push({
        ...base,
        code: 'DID_NOT_IN_NUMBER_MANAGER',
        message: `would never route: ${did} is not in the number manager ${addHint(account, did)}`,
      });
    } else if (o.assignedTo === undefined) {
      findings.push({
        ...base,
        code: 'DID_UNASSIGNED',
        message: `would never route: ${did} is in the number manager but assigned to no account; assign it to account ${label(account, names)}`,
      });
    } else if (o.assignedTo !== account) {
      findings.push({
        ...base,
        code: 'DID_ASSIGNED_ELSEWHERE',
        assignedTo: o.assignedTo,
        message: elsewhereMessage(did, o.assignedTo, account, names),
      });
    } else if (o.routable !== true) {
      const state = o.state ?? 'not in service';
      findings.push({
        ...base,
        code: 'DID_NOT_IN_SERVICE',
        state,
        message: inStateMessage(did, state, account, names),
      });
    }
  }
  return findings;
}

/** The findings for what `readAccountFacts` read, whichever way it read it. */
export function factFindings(
  account: string,
  dids: Iterable<string | DesiredDid>,
  facts: NumberFacts,
): NumberFinding[] {
  return facts.kind === 'listing'
    ? numberOwnershipFindings(account, dids, facts.numbers)
    : ownerFindings(account, dids, facts.owners);
}
