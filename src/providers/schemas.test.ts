import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { AJV_OPTIONS, compileSchema } from '../core/schema.ts';
import type { JsonObject } from '../core/json.ts';
import { CLOUDFLARE_SERVICE_SCHEMA } from './cloudflare/schema.ts';
import { kazooConnectivitySchema, type KazooSchemaVersion } from './kazoo/schema.ts';

const VERSIONS: KazooSchemaVersion[] = ['4.0', '4.1', '4.3', '5'];
const schemas: Array<[string, JsonObject]> = [
  ...VERSIONS.map((v): [string, JsonObject] => [
    `kazoo/connectivity ${v}`,
    kazooConnectivitySchema(v),
  ]),
  ['cloudflare/connectivity-service', CLOUDFLARE_SERVICE_SCHEMA],
];

// Run-time compiles skip the meta-schema check (core/schema.ts); this is where it is made.
describe('provider schemas', () => {
  it.each(schemas)('%s is a valid JSON Schema and compiles', (_name, schema) => {
    const checker = new Ajv({ ...AJV_OPTIONS });
    expect(checker.validateSchema(schema), JSON.stringify(checker.errors)).toBe(true);
    expect(typeof compileSchema(schema)).toBe('function');
  });

  it('the meta-schema check catches a broken schema', () => {
    const checker = new Ajv({ ...AJV_OPTIONS });
    expect(checker.validateSchema({ type: 'object', properties: { a: { type: 'text' } } })).toBe(
      false,
    );
  });
});
