/**
 * No secret in any output, in any encoding (INVARIANTS.md 15): secrets drawn
 * from all of printable ASCII plus CR, LF, tab, `%`, quotes and backslashes
 * go in through `${env:…}` (a trunk password, values a diagnostic quotes back)
 * and as the Kazoo api key, and the real CLI runs in-process against the
 * emulators in every format: validate text/json/github, plan
 * text/markdown/json and `--out`, apply with the audit log, drift, an auth
 * failure, all with CONNOPS_DEBUG=1. Every output is scanned for the secret
 * raw, JSON-escaped, workflow-command escaped, Markdown-escaped, URL- and
 * form-encoded and base64. The encodings here are written out independently
 * of src/core/escape.ts, so the test does not trust the code it checks.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpOverrides } from '../../src/engine/project.ts';
import { MIN_SECRET_LENGTH } from '../../src/io/redact.ts';
import { ACCOUNTS, stackLines, startWorld, type World } from '../helpers/world.ts';

/** Printable ASCII and the characters every escaping treats specially. */
const ALPHABET = [
  ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)),
  '\r',
  '\n',
  '\t',
  '%',
  '"',
  "'",
  '\\',
  '%0A',
  '\r\n',
];

/** The forms a leak could take, written independently of the code under test. */
function leakForms(secret: string): Map<string, string> {
  const json = JSON.stringify(secret).slice(1, -1);
  const data = (s: string) =>
    s.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
  const prop = (s: string) => data(s).replaceAll(':', '%3A').replaceAll(',', '%2C');
  const md = (s: string) => s.replace(/[|<>`]/g, (c) => `&#${c.charCodeAt(0)};`);
  return new Map([
    ['raw', secret],
    ['json', json],
    ['json in json', JSON.stringify(json).slice(1, -1)],
    ['annotation', data(secret)],
    ['annotation property', prop(secret)],
    ['annotation of json', data(json)],
    ['markdown', md(secret)],
    ['markdown cell', md(secret).replaceAll('\n', ' ')],
    ['url', encodeURIComponent(secret)],
    ['form', new URLSearchParams({ v: secret }).toString().slice(2)],
    ['base64', Buffer.from(secret).toString('base64')],
    ['base64url', Buffer.from(secret).toString('base64url')],
  ]);
}

let world: World;
let run = 0;

beforeAll(async () => {
  world = await startWorld();
  httpOverrides.deps = { sleep: async () => {} };
});

afterAll(async () => {
  httpOverrides.deps = {};
  await world.close();
});

/**
 * A secret: random characters from ALPHABET around a tag unique to the run,
 * so that finding it (in any form) in output can only mean a leak, never an
 * accident of ordinary text.
 */
const secretArb = (tag: string) =>
  fc
    .tuple(
      fc.array(fc.constantFrom(...ALPHABET), { maxLength: 12 }),
      fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 12 }),
    )
    .map(([l, r]) => `${l.join('')}${tag}${r.join('')}`);

interface Output {
  readonly channel: string;
  readonly text: string;
}

async function cli(
  outputs: Output[],
  channel: string,
  argv: string[],
  env: Record<string, string>,
): Promise<number> {
  const saved = { ...world.env };
  Object.assign(world.env, env, { CONNOPS_DEBUG: '1' });
  try {
    const r = await world.cli(argv);
    outputs.push({ channel: `${channel} stdout`, text: r.out });
    outputs.push({ channel: `${channel} stderr`, text: r.err });
    expect(stackLines(r.out + r.err), `${channel}: ${r.err}`).toEqual([]);
    return r.code;
  } finally {
    for (const k of Object.keys(world.env)) delete world.env[k];
    Object.assign(world.env, saved);
  }
}

function leaks(secrets: Record<string, string>, outputs: readonly Output[]): string[] {
  const found: string[] = [];
  for (const [name, secret] of Object.entries(secrets))
    for (const [form, text] of leakForms(secret))
      for (const o of outputs)
        if (o.text.includes(text)) found.push(`${name} (${form}) in ${o.channel}`);
  return found;
}

const LEAK_DOC = (account: string) =>
  [
    'kind: kazoo/connectivity',
    'target: kazoo-prod',
    `account: ${account}`,
    'name: globex-leak',
    'spec:',
    '  servers:',
    '    - auth: { auth_method: ip, ip: 192.0.2.99 }',
    '      options:',
    '        inbound_format: "${env:LEAKY_ENUM}"',
    '        failover: { e164: "${env:LEAKY_E164}" }',
    '',
  ].join('\n');

describe('no secret in any output, in any encoding (property)', () => {
  it('masks generated secrets in every channel and format', async () => {
    const leakPath = join(world.dir, 'connectivity/globex/leak.yaml');
    const stats = { runs: 0, outputs: 0, masked: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1e6 }).chain((n) => {
          const tag = `Tg${n.toString(36)}Q`;
          return fc.record({
            password: secretArb(`${tag}p`),
            enumValue: secretArb(`${tag}e`),
            e164: secretArb(`${tag}n`),
            apiKey: secretArb(`${tag}k`),
          });
        }),
        async (s) => {
          run += 1;
          for (const v of Object.values(s))
            expect(v.length).toBeGreaterThanOrEqual(MIN_SECRET_LENGTH);
          const outputs: Output[] = [];
          const env = {
            ACME_TRUNK_PASSWORD: s.password,
            LEAKY_ENUM: s.enumValue,
            LEAKY_E164: s.e164,
          };
          await writeFile(leakPath, LEAK_DOC(ACCOUNTS.globex));
          for (const f of ['text', 'json', 'github'])
            await cli(outputs, `validate ${f}`, ['validate', '--format', f], env);
          for (const f of ['text', 'markdown', 'json'])
            await cli(outputs, `invalid plan ${f}`, ['plan', '--format', f], env);
          await rm(leakPath, { force: true });
          for (const f of ['text', 'markdown', 'json'])
            await cli(outputs, `plan ${f}`, ['plan', '--format', f], env);
          const log = `audit-${run}.log`;
          await cli(outputs, 'plan --out', ['plan', '--out', `p-${run}.json`], env);
          await cli(outputs, 'apply', ['apply', '--yes', '--log-file', log], env);
          for (const f of ['text', 'markdown', 'json'])
            await cli(outputs, `drift ${f}`, ['drift', '--format', f], env);
          await cli(outputs, 'bad api key', ['plan'], { ...env, KAZOO_API_KEY: s.apiKey });
          for (const file of [log, `p-${run}.json`]) {
            const text = await readFile(join(world.dir, file), 'utf8').catch(() => '');
            outputs.push({ channel: `file ${file}`, text });
            await rm(join(world.dir, file), { force: true });
          }
          stats.runs += 1;
          stats.outputs += outputs.length;
          stats.masked += outputs.filter((o) => o.text.includes('***')).length;
          expect(leaks(s, outputs)).toEqual([]);
        },
      ),
      { numRuns: 12, seed: 2323, endOnFailure: true },
    );
    // The scan has teeth: masks did appear where the values were quoted.
    expect(stats.masked).toBeGreaterThanOrEqual(stats.runs * 6);
    console.log(
      `[reliability] secret encodings: ${stats.runs} runs × 4 generated secrets × ${leakForms('x').size} forms over ${stats.outputs} outputs: no leak`,
    );
  }, 240_000);
});
