/**
 * Offline checks of a Cloudflare connectivity service spec that the schema
 * does not express, at least as strict as wrangler's client-side checks
 * (reference/cloudflare-api.md §8, §10): address syntax, the host shape,
 * UUID tunnel ids, TCP needing a port, fields foreign to the type, unknown and
 * server-owned keys. Pure; every problem carries a JSON Pointer into the spec.
 *
 * They are offline on purpose: no source shows the server's validation errors
 * (§5, §12.3), so catching mistakes before a write is the reliable path.
 */
import { isIP } from 'node:net';
import { buildPointer, isObject, type JsonObject, type JsonValue } from '../../core/json.ts';
import type { SpecProblem } from '../types.ts';
import {
  BODY_FIELDS,
  CERT_VERIFICATION_MODES,
  FIELD_TYPE,
  HOST_FIELDS,
  NETWORK_FIELDS,
  READ_ONLY_FIELDS,
  RESOLVER_NETWORK_FIELDS,
  UUID_PATTERN,
} from './schema.ts';

const UUID_RE = new RegExp(UUID_PATTERN, 'u');
/** Longest DNS name in text form (RFC 1035 §2.3.4; wrangler's limit, §8). */
export const MAX_HOSTNAME_LENGTH = 253;

type Problem = SpecProblem;

function error(code: string, pointer: string, message: string, atKey = false): Problem {
  return atKey
    ? { severity: 'error', code, pointer, message, atKey }
    : { severity: 'error', code, pointer, message };
}

/** True when a value counts as given (absent ≡ null for the optional fields, §10). */
function given(v: JsonValue | undefined): v is JsonValue {
  return v !== undefined && v !== null;
}

/** Runs every semantic check over one service spec. */
export function checkService(spec: JsonObject): SpecProblem[] {
  const out: Problem[] = [];
  out.push(...checkKeys(spec, BODY_FIELDS, []));
  const type = spec['type'];

  // Fields of the other variant (§2: HTTP has http(s)_port, TCP has tcp_port/app_protocol).
  // The vendor spec does not forbid them (§9.2); wrangler never sends them (§8) and the
  // runtime could not use them, so they are mistakes.
  if (type === 'http' || type === 'tcp') {
    for (const [field, owner] of Object.entries(FIELD_TYPE)) {
      if (owner !== type && given(spec[field])) {
        out.push(
          error(
            'FOREIGN_FIELD',
            buildPointer([field]),
            `"${field}" belongs to services of type "${owner}", not "${type}"; remove it`,
            true,
          ),
        );
      }
    }
  }
  // Wrangler refuses a TCP service without a port (§2, §8); the server's rule is unknown (§12.5).
  if (type === 'tcp' && !given(spec['tcp_port'])) {
    out.push(error('TCP_PORT_REQUIRED', '/tcp_port', 'a service of type "tcp" needs "tcp_port"'));
  }

  const host = spec['host'];
  if (isObject(host)) out.push(...checkHost(host));

  const tls = spec['tls_settings'];
  if (isObject(tls)) {
    out.push(...checkKeys(tls, ['cert_verification_mode'], ['tls_settings']));
    const mode = tls['cert_verification_mode'];
    // The modes live only in the spec's description, not in an enum (§2, §9.5): warn, do not block.
    if (
      typeof mode === 'string' &&
      !(CERT_VERIFICATION_MODES as readonly string[]).includes(mode)
    ) {
      out.push({
        severity: 'warning',
        code: 'CERT_VERIFICATION_MODE',
        pointer: '/tls_settings/cert_verification_mode',
        message: `"${mode}" is not one of the documented modes (${CERT_VERIFICATION_MODES.join(', ')}); the API may reject it`,
      });
    }
  }
  return out;
}

/** Unknown keys are errors: the API has nowhere to keep them (no field would ever converge). */
function checkKeys(obj: JsonObject, known: readonly string[], at: readonly string[]): Problem[] {
  const out: Problem[] = [];
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const pointer = buildPointer([...at, key]);
    if (at.length === 0 && (READ_ONLY_FIELDS as readonly string[]).includes(key)) {
      out.push(
        error(
          'READ_ONLY_FIELD',
          pointer,
          `"${key}" is set by the server and cannot be written; remove it (pin an existing service with the document's "id" instead)`,
          true,
        ),
      );
    } else {
      const where = at.length === 0 ? 'a connectivity service' : `"${at.join('.')}"`;
      out.push(error('UNKNOWN_KEY', pointer, `unknown key "${key}" in ${where}`, true));
    }
  }
  return out;
}

/** The four host shapes of §2/§11 plus the syntax of each address. */
function checkHost(host: JsonObject): Problem[] {
  const out: Problem[] = [...checkKeys(host, HOST_FIELDS, ['host'])];
  const has = (k: string): boolean => given(host[k]);
  const ipForm = has('ipv4') || has('ipv6') || has('network');
  const nameForm = has('hostname') || has('resolver_network');

  if (ipForm && nameForm) {
    // Wrangler rejects IP plus hostname (§2); the spec has no shape with both.
    out.push(
      error(
        'HOST_SHAPE',
        '/host',
        'host mixes the IP form (ipv4/ipv6 with network) and the hostname form (hostname with resolver_network); use one',
      ),
    );
  } else if (!ipForm && !nameForm) {
    out.push(
      error(
        'HOST_SHAPE',
        '/host',
        'host needs ipv4 and/or ipv6 with network, or hostname with resolver_network',
      ),
    );
  } else if (ipForm) {
    if (!has('ipv4') && !has('ipv6')) {
      out.push(
        error('HOST_SHAPE', '/host', 'host has "network" but no address: add "ipv4" and/or "ipv6"'),
      );
    }
    if (!has('network')) {
      out.push(
        error('HOST_SHAPE', '/host/network', 'an IP host needs "network" with the "tunnel_id"'),
      );
    }
  } else {
    if (!has('hostname')) {
      out.push(
        error('HOST_SHAPE', '/host/hostname', 'host has "resolver_network" but no "hostname"'),
      );
    }
    if (!has('resolver_network')) {
      out.push(
        error(
          'HOST_SHAPE',
          '/host/resolver_network',
          'a hostname host needs "resolver_network" with the "tunnel_id"',
        ),
      );
    }
  }

  const ipv4 = host['ipv4'];
  if (typeof ipv4 === 'string' && isIP(ipv4) !== 4) {
    out.push(error('IP_ADDRESS', '/host/ipv4', `"${ipv4}" is not a valid IPv4 address`));
  }
  const ipv6 = host['ipv6'];
  if (typeof ipv6 === 'string' && isIP(ipv6) !== 6) {
    out.push(error('IP_ADDRESS', '/host/ipv6', `"${ipv6}" is not a valid IPv6 address`));
  }
  const hostname = host['hostname'];
  if (typeof hostname === 'string') {
    const why = hostnameProblem(hostname);
    if (why)
      out.push(
        error('HOSTNAME', '/host/hostname', `"${hostname}" is not a valid hostname: ${why}`),
      );
  }

  const network = host['network'];
  if (isObject(network)) {
    out.push(...checkKeys(network, NETWORK_FIELDS, ['host', 'network']));
    out.push(...checkTunnel(network, 'network'));
  }
  const resolver = host['resolver_network'];
  if (isObject(resolver)) {
    out.push(...checkKeys(resolver, RESOLVER_NETWORK_FIELDS, ['host', 'resolver_network']));
    out.push(...checkTunnel(resolver, 'resolver_network'));
    const ips = resolver['resolver_ips'];
    if (Array.isArray(ips)) {
      ips.forEach((ip, i) => {
        if (typeof ip === 'string' && isIP(ip) === 0) {
          out.push(
            error(
              'IP_ADDRESS',
              buildPointer(['host', 'resolver_network', 'resolver_ips', i]),
              `resolver "${ip}" is not a valid IP address`,
            ),
          );
        }
      });
    }
  }
  return out;
}

function checkTunnel(net: JsonObject, key: string): Problem[] {
  const id = net['tunnel_id'];
  if (typeof id === 'string' && !UUID_RE.test(id)) {
    return [
      error(
        'TUNNEL_ID',
        buildPointer(['host', key, 'tunnel_id']),
        `"${id}" is not a UUID; "tunnel_id" is the Cloudflare Tunnel's id`,
      ),
    ];
  }
  return [];
}

/**
 * Why a hostname is unusable, or undefined when it is fine. Wrangler's rules
 * (§8): no scheme, path, port or whitespace, not an IP, at most 253 characters;
 * plus the empty-label check every resolver would fail on.
 */
export function hostnameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (/\s/u.test(name)) return 'it contains whitespace';
  if (/^[a-z][a-z0-9+.-]*:\/\//iu.test(name)) return 'remove the scheme (e.g. "https://")';
  if (isIP(name) !== 0) return 'it is an IP address; use "ipv4"/"ipv6" with "network" instead';
  if (name.includes('/')) return 'remove the path';
  if (name.includes(':')) return 'remove the port; ports go in http_port/https_port/tcp_port';
  if (name.length > MAX_HOSTNAME_LENGTH)
    return `it is longer than ${MAX_HOSTNAME_LENGTH} characters`;
  if (
    name
      .replace(/\.$/u, '')
      .split('.')
      .some((label) => label === '')
  )
    return 'it has an empty label ("..")';
  return undefined;
}
