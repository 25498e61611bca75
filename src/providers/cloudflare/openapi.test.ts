/**
 * The bodies connops writes, checked against Cloudflare's OpenAPI read at test
 * time from ../shared/cloudflare-schemas/ (never copied into the project), with
 * OpenAPI 3.0's `nullable` (ajv implements it: null joins the type, the other
 * keywords still apply). Each variant is checked directly: the spec's
 * `ServiceConfig` oneOf and host oneOf are defective (reference/cloudflare-api.md
 * §9.1, §9.2), so only single-stack hosts are used here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/json.ts';
import { cloudflareConnectivityService as provider } from './provider.ts';

const FILE = join(
  import.meta.dirname,
  '../../../../shared/cloudflare-schemas/connectivity-directory-services.openapi.json',
);
const HAVE = existsSync(FILE);
const T = '0191dce4-9ab4-7fce-b660-8e5dec5172da';
const ipHost = { ipv4: '10.0.0.1', network: { tunnel_id: T } };
const n = (b: JsonObject): JsonObject => provider.normalize(b, {} as never);

describe.skipIf(!HAVE)(
  `update bodies against the OpenAPI (${HAVE ? FILE : `SKIPPED: ${FILE} is missing`})`,
  () => {
    const doc = HAVE ? (JSON.parse(readFileSync(FILE, 'utf8')) as JsonObject) : {};
    // strict: false for the OpenAPI-only keywords (example, readOnly, discriminator, x-*).
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema(doc, 'openapi');
    const variant = (type: string) =>
      ajv.getSchema(
        `openapi#/components/schemas/${type === 'tcp' ? 'infra_TcpServiceConfig' : 'infra_HttpServiceConfig'}`,
      );

    it.each([
      [
        'drop http_port and tls_settings',
        {
          name: 'w',
          type: 'http',
          host: ipHost,
          http_port: 8080,
          tls_settings: { cert_verification_mode: 'disabled' },
        },
        { name: 'w', type: 'http', host: ipHost },
      ],
      [
        'drop tcp_port and app_protocol',
        { name: 'd', type: 'tcp', host: ipHost, tcp_port: 5432, app_protocol: 'postgresql' },
        { name: 'd', type: 'tcp', host: ipHost },
      ],
      [
        'change type http → tcp',
        { name: 's', type: 'http', host: ipHost, http_port: 8080, https_port: 8443 },
        { name: 's', type: 'tcp', host: ipHost, tcp_port: 22 },
      ],
      [
        'change type tcp → http',
        { name: 's', type: 'tcp', host: ipHost, tcp_port: 22, app_protocol: 'mysql' },
        { name: 's', type: 'http', host: ipHost },
      ],
    ] as const)('%s: the PUT body is valid as written', (_label, live, desired) => {
      const { body } = provider.buildUpdate(n(live), n(desired), desired);
      const validate = variant(desired.type);
      expect(validate).toBeDefined();
      const ok = validate?.(body);
      expect([body, ok ? [] : validate?.errors]).toEqual([body, []]);
    });

    it('null is valid for the ports and invalid for app_protocol and tls_settings (why REMOVAL_FORM differs)', () => {
      const tcp = variant('tcp');
      const http = variant('http');
      const base = { name: 'x', host: ipHost };
      expect(tcp?.({ ...base, type: 'tcp', tcp_port: null })).toBe(true);
      expect(http?.({ ...base, type: 'http', http_port: null, https_port: null })).toBe(true);
      expect(tcp?.({ ...base, type: 'tcp', app_protocol: null })).toBe(false);
      expect(http?.({ ...base, type: 'http', tls_settings: null })).toBe(false);
    });
  },
);
