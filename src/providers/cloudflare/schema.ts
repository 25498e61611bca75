/**
 * Our JSON Schema for the body of a Cloudflare connectivity directory service
 * (`infra_ServiceConfig`, reference/cloudflare-api.md §2). Written by us from
 * the facts in that note; the vendor's OpenAPI excerpt is not used.
 *
 * Two defects of the vendor's spec are avoided on purpose (§9):
 * - Its host is a plain `oneOf` of four open shapes, so a dual-stack host
 *   `{ipv4, ipv6, network}` matches three branches and is rejected. Here the
 *   host is one closed object whose shape rule is two mutually exclusive
 *   branches (IP form, hostname form), so dual-stack is accepted.
 * - Its HTTP/TCP variants only differ under a `discriminator`. Here `type` is a
 *   plain enum and fields foreign to the type are left to `checks.ts`, which
 *   names them precisely.
 *
 * What the schema checks: types, required keys, enums, port ranges and the
 * UUID form of `tunnel_id`. Unknown keys are not rejected here (no
 * `additionalProperties: false`) because `checks.ts` reports them with a
 * better message and a position on the key. Address syntax (IPv4/IPv6,
 * hostnames) is in `checks.ts` too, with node:net rather than regexes.
 */
import type { JsonObject } from '../../core/json.ts';

/** Lower- or upper-case canonical UUID text (any version; the API's `format: uuid`, §2). */
export const UUID_PATTERN =
  '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/** Service types (§2 `infra_ServiceType`). */
export const SERVICE_TYPES = ['http', 'tcp'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** `app_protocol` values of the TCP variant (§2). */
export const APP_PROTOCOLS = ['postgresql', 'mysql'] as const;

/** The three modes the spec's description lists; the spec has no enum (§2, §9.5), so others only warn. */
export const CERT_VERIFICATION_MODES = ['verify_full', 'verify_ca', 'disabled'] as const;

/** Fields the server owns (readOnly, §2); never sent, never diffed (§10). */
export const READ_ONLY_FIELDS = ['service_id', 'created_at', 'updated_at'] as const;

/** Optional body fields (all nullable, §2) and the type each belongs to. */
export const OPTIONAL_FIELDS = [
  'http_port',
  'https_port',
  'tcp_port',
  'app_protocol',
  'tls_settings',
] as const;
export type OptionalField = (typeof OPTIONAL_FIELDS)[number];

/** Which type each type-specific field belongs to (§2: HTTP variant vs TCP variant). */
export const FIELD_TYPE: Readonly<Record<string, ServiceType>> = {
  http_port: 'http',
  https_port: 'http',
  tcp_port: 'tcp',
  app_protocol: 'tcp',
};

/** Every key a service body may carry (writable ones). */
export const BODY_FIELDS = ['name', 'type', 'host', ...OPTIONAL_FIELDS] as const;

/** Keys of `host` and of its two network objects. */
export const HOST_FIELDS = ['ipv4', 'ipv6', 'hostname', 'network', 'resolver_network'] as const;
export const NETWORK_FIELDS = ['tunnel_id'] as const;
export const RESOLVER_NETWORK_FIELDS = ['tunnel_id', 'resolver_ips'] as const;

// The spec gives ports `minimum: 1` and format int32 but no maximum; 65535 is
// the TCP/UDP port range (§2 "65535 is INFER").
const port: JsonObject = { type: ['integer', 'null'], minimum: 1, maximum: 65535 };

const tunnelId: JsonObject = { type: 'string', pattern: UUID_PATTERN };

const network: JsonObject = {
  type: 'object',
  properties: { tunnel_id: tunnelId },
  required: ['tunnel_id'],
};

const resolverNetwork: JsonObject = {
  type: 'object',
  properties: {
    tunnel_id: tunnelId,
    // Nullable in the SDK type; [] and absent mean the same (§4, §9 terraform #6868).
    resolver_ips: { type: ['array', 'null'], items: { type: 'string' } },
  },
  required: ['tunnel_id'],
};

function shape(keys: readonly string[]): JsonObject {
  const properties: JsonObject = {};
  for (const k of HOST_FIELDS) properties[k] = keys.includes(k);
  return { required: [...keys], properties };
}

/**
 * The host: exactly one of the four shapes of §2/§11 (IPv4, IPv6, dual-stack,
 * hostname). Unlike the vendor's open shapes, each branch forbids the keys of
 * the others, so no value is valid under two branches and `oneOf` accepts a
 * dual-stack host (the vendor spec's defect, §9.1).
 */
const host: JsonObject = {
  type: 'object',
  properties: {
    ipv4: { type: 'string' },
    ipv6: { type: 'string' },
    hostname: { type: 'string' },
    network,
    resolver_network: resolverNetwork,
  },
  // Each branch names all five keys (true = allowed, false = forbidden): ajv's
  // strictRequired wants every required key defined beside its `required`.
  oneOf: [
    shape(['ipv4', 'network']),
    shape(['ipv6', 'network']),
    shape(['ipv4', 'ipv6', 'network']),
    shape(['hostname', 'resolver_network']),
  ],
};

/** The service body schema (what connops validates a document's `spec` against). */
export const CLOUDFLARE_SERVICE_SCHEMA: JsonObject = {
  $id: 'connops:cloudflare/connectivity-service',
  type: 'object',
  properties: {
    // No length or pattern in the spec (§2); an empty name can not be an identity.
    name: { type: 'string', minLength: 1 },
    type: { type: 'string', enum: [...SERVICE_TYPES] },
    host,
    http_port: port,
    https_port: port,
    tcp_port: port,
    app_protocol: { type: ['string', 'null'], enum: [...APP_PROTOCOLS, null] },
    tls_settings: {
      type: ['object', 'null'],
      properties: { cert_verification_mode: { type: 'string' } },
      required: ['cert_verification_mode'],
    },
  },
  required: ['name', 'type', 'host'],
};
