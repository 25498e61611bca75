/**
 * fast-check arbitraries shared by property tests.
 */
import fc from 'fast-check';
import type { JsonObject, JsonValue } from '../../src/core/json.ts';

const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null | undefined> =>
  fc.oneof(arb, fc.constant(null), fc.constant(undefined));

const port = maybe(fc.integer({ min: 1, max: 65535 }));

const host: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ ipv4: fc.ipV4(), network: fc.record({ tunnel_id: fc.uuid() }) }),
  fc.record({ ipv6: fc.ipV6(), network: fc.record({ tunnel_id: fc.uuid() }) }),
  fc.record({ ipv4: fc.ipV4(), ipv6: fc.ipV6(), network: fc.record({ tunnel_id: fc.uuid() }) }),
  fc.record(
    {
      hostname: fc.domain(),
      resolver_network: fc.record(
        {
          tunnel_id: fc.uuid().map((u) => u.toUpperCase()),
          resolver_ips: maybe(fc.array(fc.oneof(fc.ipV4(), fc.ipV6()), { maxLength: 3 })),
        },
        { requiredKeys: ['tunnel_id'] },
      ),
    },
    { requiredKeys: ['hostname', 'resolver_network'] },
  ),
);

const tls = maybe(
  fc.record({ cert_verification_mode: fc.constantFrom('verify_full', 'verify_ca', 'disabled') }),
);

/** Drops undefined-valued keys (fast-check records may carry them). */
function clean(value: Record<string, unknown>): JsonObject {
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

/** A valid Cloudflare connectivity service body (any type, any of the four host shapes). */
export function cloudflareServiceBody(name: string): fc.Arbitrary<JsonObject> {
  const httpBody = fc.record({
    type: fc.constant('http'),
    host,
    http_port: port,
    https_port: port,
    tls_settings: tls,
  });
  const tcpBody = fc.record({
    type: fc.constant('tcp'),
    host,
    tcp_port: fc.integer({ min: 1, max: 65535 }),
    app_protocol: maybe(fc.constantFrom('postgresql', 'mysql')),
    tls_settings: tls,
  });
  return fc.oneof(httpBody, tcpBody).map((b) => clean({ name, ...b }));
}

const leaf = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('5060', 'true', 'false', '1.5', 'e164'),
);
const keyed = (keys: string[]): fc.Arbitrary<Record<string, JsonValue>> =>
  fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 4 })), leaf, {
    maxKeys: 6,
  }) as fc.Arbitrary<Record<string, JsonValue>>;
/**
 * Bodies shaped like Kazoo connectivity documents (live or desired), with
 * arbitrary, often wrong-typed leaves and server-owned keys.
 */
export const kazooLikeBody = fc.record(
  {
    zz: leaf,
    name: leaf,
    _rev: leaf,
    pvt_type: leaf,
    id: leaf,
    connops_managed: leaf,
    account: keyed(['trunks', 'auth_realm', 'caller_id', 'credits']),
    servers: fc.array(
      fc.record(
        {
          options: keyed(['delay', 'enabled', 'inbound_format', 'media_handling']),
          auth: keyed(['auth_method', 'port', 'ip']),
          DIDs: fc.dictionary(
            fc.constantFrom('+15555550100', '+15555550101', '12', 'x'),
            fc.oneof(keyed(['force_outbound', 'failover']), leaf),
            { maxKeys: 4 },
          ),
          b: leaf,
        },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<JsonObject>;
