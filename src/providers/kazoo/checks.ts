/**
 * Offline checks of connectivity documents that Kazoo itself does not make
 * (kazoo-api.md §7.6), plus schema validation mirroring the server. Pure.
 */
import {
  buildPointer,
  escapePointerToken,
  isObject,
  parsePointer,
  pointerMatches,
  type JsonObject,
} from '../../core/json.ts';
import { scopeOf, type CheckedDocument, type Diagnostic } from '../../core/model.ts';
import type { UniqueUse } from '../../core/target-unique.ts';
import { validateAgainst } from '../../core/schema.ts';
import { closest } from '../../core/suggest.ts';
import { coerceAndDefault, findUnknownKeys, knownKeys, schemaAt } from '../../core/schema-walk.ts';
import type { SpecProblem } from '../types.ts';
import { kazooConnectivitySchema, type KazooSchemaVersion } from './schema.ts';

/** E.164 with "+": country code 1–9, at most 15 digits (§7.6.1). */
const E164 = /^\+[1-9]\d{1,14}$/;

/** Problems with a DID key or E.164 value, or undefined when it is routable. */
export function didProblem(did: string): string | undefined {
  if (!E164.test(did)) {
    const digits = did.replace(/\D/g, '');
    const suggestion =
      digits.length === 10
        ? ` (for a NANP number: "+1${digits}")`
        : digits.length > 0
          ? ` (e.g. "+${digits}")`
          : '';
    return `"${did}" is not a +E.164 number; Kazoo routes a DID only when its key is exactly the normalised +E.164 form${suggestion}`;
  }
  if (did.startsWith('+1') && did.length !== 12) {
    return `"${did}" is not a valid NANP number: +1 must be followed by exactly 10 digits`;
  }
  return undefined;
}

/**
 * Top-level keys of `data` that crossbar reads as parameters of the request
 * itself, not as document fields: `cb_context:req_value/2` looks a key up in
 * the request data first, then the query string, then the envelope
 * (cb_context.erl@dcf86cbc:165-172, 4.3 @223893d0:157-164; reference
 * kazoo-api.md §6.1, §14). Each of these is read on every write connops sends,
 * so a spec holding one changes what the PATCH/PUT does. Not listed, because
 * they are read only where connops sends no body (listings, DELETE) or only
 * for file uploads: `paginate`, `page_size`, `end_key`, `should_soft_delete`
 * (cb_context.erl@dcf86cbc:446,460,476, crossbar_view.erl:409-410),
 * `filename`, `file_name` (api_util.erl@dcf86cbc:458,1581).
 */
export const REQUEST_CONTROL_KEYS: Readonly<Record<string, string>> = {
  verb: 'Kazoo reads "verb" from the request data as the HTTP method to use (verb tunnelling, api_util.erl@dcf86cbc:659-665, 4.3 @223893d0:580-586): "GET" would turn connops\' write into a read (200, nothing written, apply reports success), "DELETE" into a delete of the document',
  auth_token:
    'Kazoo reads "auth_token" from the request data as the credential of the request when no X-Auth-Token header is sent (api_util.erl@dcf86cbc:895, 4.3 @223893d0:820); a token in a spec is a secret in git',
  authorization:
    'Kazoo reads "authorization" from the request data as the Authorization credential when the header is absent (api_util.erl@dcf86cbc:910, 4.3 @223893d0:835); a credential in a spec is a secret in git',
  accept_charges:
    'Kazoo reads "accept_charges" from the request data and, when true, accepts any billing charge of the write without the 402 confirmation (cb_context.erl@dcf86cbc:176, 4.3 @223893d0:168)',
  pretty_print:
    'Kazoo reads "pretty_print" from the request data as a formatting switch for its answer (api_util.erl@dcf86cbc:953, 4.3 @223893d0:878); it is a request option, not a document field',
  jsonp:
    'Kazoo reads "jsonp" from the request data and wraps its answer in a JavaScript call (api_util.erl@dcf86cbc:1297, 4.3 @223893d0:1237): connops could not read the answer to its own write',
  accept:
    'Kazoo reads "accept" from the request data as an override of the Accept header (api_resource.erl@dcf86cbc:1265, 4.3 @223893d0:1234): the answer could come in another format, or as 406',
  start_key:
    'Kazoo reads "start_key" from the request data as a listing cursor and deletes it from the data before saving (api_resource.erl@dcf86cbc:201-220, 4.3 @223893d0:162-181): the field would never be stored and every plan would show it again',
};

/** Schema (after the server's coercions and defaults), unknown keys and per-document semantics. */
export function checkKazooSpec(spec: JsonObject, version: KazooSchemaVersion): SpecProblem[] {
  const schema = kazooConnectivitySchema(version);
  const problems: SpecProblem[] = [];
  // The server validates, and only when that fails coerces and fills defaults and
  // validates again (§2.3, §2.4); so the common, valid document costs one pass and
  // no copy. Valid before preparing is valid after: preparing only rewrites
  // strings where the schema wants another type, and fills valid defaults
  // (schema.test.ts checks the defaults).
  let found = validateAgainst(schema, spec);
  if (found.length > 0) found = validateAgainst(schema, coerceAndDefault(schema, spec));
  for (const p of found) {
    if (p.missing) {
      const tokens = parsePointer(p.pointer);
      const missing = tokens.pop() ?? '';
      const parent = buildPointer(tokens);
      problems.push({
        severity: 'error',
        code: 'SCHEMA',
        message: `"${missing}" is required here`,
        pointer: parent,
        atKey: tokens.length > 0,
      });
    } else {
      problems.push({
        severity: 'error',
        code: 'SCHEMA',
        message: `${label(p.pointer)} ${p.message}`,
        pointer: p.pointer,
      });
    }
  }
  for (const key of Object.keys(spec)) {
    const reason = Object.hasOwn(REQUEST_CONTROL_KEYS, key) ? REQUEST_CONTROL_KEYS[key] : undefined;
    if (reason === undefined) continue;
    problems.push({
      severity: 'error',
      code: 'REQUEST_CONTROL',
      message: `"${key}" cannot be a field of a connectivity document: ${reason}. Rename or remove it.`,
      pointer: `/${escapePointerToken(key)}`,
      atKey: true,
    });
  }
  for (const pointer of findUnknownKeys(schema, spec)) {
    if (readElsewhere(pointer)) continue;
    const tokens = parsePointer(pointer);
    // A request-control key already has its error (above).
    if (tokens.length === 1 && Object.hasOwn(REQUEST_CONTROL_KEYS, tokens[0] ?? '')) continue;
    const key = tokens[tokens.length - 1] ?? '';
    const parentSchema = schemaAt(schema, tokens.slice(0, -1));
    const guess = parentSchema ? closest(key, knownKeys(parentSchema)) : undefined;
    problems.push({
      severity: 'warning',
      code: 'UNKNOWN_FIELD',
      message: `unknown field "${key}"${guess ? ` (did you mean "${guess}"?)` : ''}: Kazoo stores it as it is, but nothing reads it`,
      pointer,
      atKey: true,
    });
  }
  problems.push(...checkServers(spec));
  return problems;
}

/**
 * Fields the schema does not list but something does read, so they are not
 * "unknown": MonsterUI's PBX Connector writes and reads them (reference §13;
 * 2600hz/monster-ui-pbxs@304ab5a app.js:240-262 creates the document with
 * billing_account_id, DIDs_Unassigned and account.credits/inbound_trunks;
 * app.js:508-527 gives each server options.international/e911_info,
 * permissions and monitor; app.js:761-767 the form writes server_type, cfg and
 * options.codecs; server_name, views/endpoint.html:48; ui_metadata on every
 * request, monster-ui@3c00cf7cb src/js/monster.js:388). Trunkstore reads
 * options.codecs at call time (kazoo ts_from_offnet.erl@dcf86cbc:408, passed on
 * as Codecs), so advice to drop it would break compatibility-mode trunks.
 */
export const READ_ELSEWHERE: readonly string[] = [
  '/billing_account_id',
  '/DIDs_Unassigned',
  '/ui_metadata',
  '/account/credits',
  // From 4.1 on the server forces it to the account's realm (§1.4); MonsterUI still writes it.
  '/account/auth_realm',
  '/account/inbound_trunks',
  '/servers/*/server_name',
  '/servers/*/server_type',
  '/servers/*/cfg',
  '/servers/*/monitor',
  '/servers/*/permissions',
  '/servers/*/options/international',
  '/servers/*/options/e911_info',
  '/servers/*/options/codecs',
];

function readElsewhere(pointer: string): boolean {
  return READ_ELSEWHERE.some((p) => pointerMatches(p, pointer));
}

function label(pointer: string): string {
  const last = parsePointer(pointer).pop();
  return last === undefined ? 'the spec' : `"${last}"`;
}

function checkServers(spec: JsonObject): SpecProblem[] {
  const out: SpecProblem[] = [];
  const servers = spec['servers'];
  if (!Array.isArray(servers)) return out;
  servers.forEach((server, i) => {
    if (!isObject(server)) return;
    const base = `/servers/${i}`;
    const auth = server['auth'];
    if (isObject(auth)) {
      const method =
        typeof auth['auth_method'] === 'string' ? auth['auth_method'].toLowerCase() : 'password';
      if (method === 'password') {
        for (const field of ['auth_user', 'auth_password']) {
          if (typeof auth[field] !== 'string' || auth[field] === '') {
            out.push({
              severity: 'error',
              code: 'PASSWORD_AUTH',
              message: `a password-auth server needs auth.${field}`,
              pointer: `${base}/auth`,
              atKey: true,
            });
          }
        }
        if (!isObject(server['options'])) {
          // §7.3: the sip_credentials view reads options.inbound_format and throws
          // without `options`, dropping every server of the document from registration.
          out.push({
            severity: 'error',
            code: 'PASSWORD_AUTH',
            message:
              'a password-auth server needs `options` (even `options: {}`): without it none of the servers in this document can register',
            pointer: base,
            atKey: false,
          });
        }
      } else if (method === 'ip' && (typeof auth['ip'] !== 'string' || auth['ip'] === '')) {
        out.push({
          severity: 'error',
          code: 'IP_AUTH',
          message: 'an IP-auth server needs auth.ip (the address calls come from and go to)',
          pointer: `${base}/auth`,
          atKey: true,
        });
      }
    }
    const dids = server['DIDs'];
    if (isObject(dids)) {
      for (const did in dids) {
        const opts = dids[did];
        const problem = didProblem(did);
        // Pointers are built only when needed: estates carry hundreds of thousands of DIDs.
        if (!problem && !(isObject(opts) && opts['failover'] !== undefined)) continue;
        const pointer = `${base}/DIDs/${escapePointerToken(did)}`;
        if (problem)
          out.push({
            severity: 'error',
            code: 'DID_FORMAT',
            message: problem,
            pointer,
            atKey: true,
          });
        checkFailover(opts, pointer, out);
      }
    }
    checkFailover(server['options'], `${base}/options`, out);
  });
  return out;
}

/** `failover.e164` (on a DID or on server options) is dialled as a number: it must be +E.164. */
function checkFailover(holder: unknown, pointer: string, out: SpecProblem[]): void {
  const e164 =
    isObject(holder) && isObject(holder['failover']) ? holder['failover']['e164'] : undefined;
  if (typeof e164 === 'string' && !E164.test(e164)) {
    out.push({
      severity: 'error',
      code: 'DID_FORMAT',
      message: `failover.e164 "${e164}" is not a +E.164 number`,
      pointer: `${pointer}/failover/e164`,
    });
  }
}

/** What the account-wide checks need of one server: its DIDs and, for password auth, its SIP user. */
interface ServerFacts {
  readonly dids: string[];
  readonly user: string | null;
}

/** Per server, in order (so indexes still name servers): its DIDs and SIP user. */
export function kazooFacts(spec: JsonObject): ServerFacts[] {
  const servers = spec['servers'];
  if (!Array.isArray(servers)) return [];
  return servers.map((server): ServerFacts => {
    if (!isObject(server)) return { dids: [], user: null };
    const auth = server['auth'];
    const password =
      isObject(auth) &&
      typeof auth['auth_user'] === 'string' &&
      String(auth['auth_method'] ?? 'password').toLowerCase() === 'password';
    return {
      dids: isObject(server['DIDs']) ? Object.keys(server['DIDs']) : [],
      user: password ? (auth['auth_user'] as string) : null,
    };
  });
}

/** Account-wide checks: each DID once (§7.6.2), each SIP auth_user once (§7.6.5). */
export function checkKazooAll(docs: readonly CheckedDocument[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  // First use of each DID / SIP user, per (target, account). Positions are looked up
  // only for duplicates: locating costs a walk of the document's tree, and nearly
  // every value is unique.
  const didsByScope = new Map<string, Map<string, FirstUse>>();
  const users = new Map<string, FirstUse>();
  for (const doc of docs) {
    const scope = scopeOf(doc.key);
    let dids = didsByScope.get(scope);
    if (!dids) didsByScope.set(scope, (dids = new Map()));
    const servers = doc.facts as readonly ServerFacts[];
    servers.forEach((server, i) => {
      // One record per server, shared by its DIDs (the DID itself is the map's key).
      const use: FirstUse = { doc, server: i };
      for (const did of server.dids) {
        const first = dids.get(did);
        if (first) {
          const pointer = didPointer(i, did);
          const p = doc.locate.key(pointer);
          out.push({
            severity: 'error',
            code: 'DUPLICATE_DID',
            message: `DID ${did} is already routed by ${describeFirst(first, did)}; a DID may appear in only one place per target (Kazoo would route it to one of them, in an order you do not choose: kazoo-api.md §7.6)`,
            file: p.file,
            line: p.line,
            col: p.col,
            pointer,
          });
        } else {
          dids.set(did, use);
        }
      }
      if (server.user !== null) {
        const k = `${scope}/${server.user.toLowerCase()}`;
        const pointer = `/spec/servers/${i}/auth/auth_user`;
        const first = users.get(k);
        if (first) {
          const p = doc.locate.value(pointer);
          out.push({
            severity: 'error',
            code: 'DUPLICATE_AUTH_USER',
            message: `SIP user "${server.user}" is already used by ${describeFirst(first)}; registrations would collide (kazoo-api.md §7.3)`,
            file: p.file,
            line: p.line,
            col: p.col,
            pointer,
          });
        } else users.set(k, use);
      }
    });
  }
  return out;
}

/** Per server, its DIDs: the values unique in a whole target (core/target-unique.ts). */
export function kazooUniqueInTarget(facts: unknown): readonly (readonly string[])[] {
  return (facts as readonly ServerFacts[]).map((s) => s.dids);
}

/**
 * A DID in documents of two accounts of one target (INVARIANTS.md 2): the number
 * manager assigns a number to one account, and trunkstore looks the DID up in
 * that account's documents only, so the other document never routes it
 * (kazoo-api.md §7.1 step 1, §7.6 item 3).
 */
export function kazooDuplicateInTarget(
  did: string,
  first: UniqueUse,
  again: UniqueUse,
): Diagnostic {
  const pointer = didPointer(again.part, did);
  const p = again.doc.locate.key(pointer);
  return {
    severity: 'error',
    code: 'DUPLICATE_DID',
    message: `DID ${did} is already routed by ${describeFirst({ doc: first.doc, server: first.part }, did)} in account ${first.doc.key.account}; a DID may appear in only one document per target, across all of its accounts (the number manager assigns it to one account, so only one of them can route it: kazoo-api.md §7.1, §7.6)`,
    file: p.file,
    line: p.line,
    col: p.col,
    pointer,
  };
}

/** The document and server where a DID or a SIP user was first used. */
interface FirstUse {
  readonly doc: CheckedDocument;
  readonly server: number;
}

function didPointer(server: number, did: string): string {
  return `/spec/servers/${server}/DIDs/${escapePointerToken(did)}`;
}

/** Where `first` used the DID `did` (its key), or without `did` its SIP user (the auth_user value). */
function describeFirst(first: FirstUse, did?: string): string {
  const p =
    did !== undefined
      ? first.doc.locate.key(didPointer(first.server, did))
      : first.doc.locate.value(`/spec/servers/${first.server}/auth/auth_user`);
  return `"${first.doc.key.name}" servers[${first.server}] (${p.file}:${p.line}:${p.col})`;
}

export { closest };
