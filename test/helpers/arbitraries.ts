/**
 * fast-check arbitraries shared by property tests.
 */
import fc from 'fast-check';
import type { JsonObject } from '../../src/core/json.ts';

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
