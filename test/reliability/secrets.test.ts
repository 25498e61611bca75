/**
 * Secrets never leave connops: known values are planted (the Kazoo api key,
 * trunk passwords through `${env:…}`, the Cloudflare token, the tokens the
 * emulator issues) and every output channel is scanned for them, raw and
 * encoded: stdout and stderr of every command and format, saved plans, the
 * audit log, error messages (bad credentials, 412, 5xx) and drift output.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpOverrides } from '../../src/engine/project.ts';
import type { FaultDecision } from '../../src/emulator/faults.ts';
import {
  ACCOUNTS,
  API_KEY,
  CF_TOKEN,
  PASSWORDS,
  readTreeFiles,
  stackLines,
  startWorld,
  type World,
} from '../helpers/world.ts';

const WRONG_KEY = 'badc0ffe'.repeat(8);
const WRONG_CF_TOKEN = 'rel-wrong-cf-token-Jk29Xs81Qw';

/** Every form in which a secret could slip out. */
function forms(secret: string): string[] {
  return [
    secret,
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
    encodeURIComponent(secret),
    JSON.stringify(secret).slice(1, -1),
    Buffer.from(secret).toString('hex'),
  ];
}

const outputs: { channel: string; text: string }[] = [];
/** Tokens the emulator issued to connops, captured from the requests it sent. */
const seenTokens = new Set<string>();
let world: World;

beforeAll(async () => {
  world = await startWorld();
  // Capture X-Auth-Token headers on the way out, to scan for issued tokens later.
  const agent: Dispatcher = new Agent().compose((dispatch) => (opts, handler) => {
    const h = opts.headers as Record<string, string> | undefined;
    const t = h?.['x-auth-token'];
    if (typeof t === 'string') seenTokens.add(t);
    return dispatch(opts, handler);
  });
  httpOverrides.deps = { dispatcher: agent, sleep: async () => {} };
  // Secrets placed where a diagnostic would echo the value back (an enum, an E.164 number).
  await writeFile(
    join(world.dir, 'connectivity/globex/leak.yaml'),
    [
      'kind: kazoo/connectivity',
      'target: kazoo-prod',
      `account: ${ACCOUNTS.globex}`,
      'name: globex-leak',
      'spec:',
      '  servers:',
      '    - auth: { auth_method: ip, ip: 192.0.2.99 }',
      '      options:',
      '        inbound_format: "${env:GLOBEX_FAX_PASSWORD}"',
      '        failover: { e164: "${env:INITECH_TRUNK_PASSWORD}" }',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  httpOverrides.deps = {};
  await world.close();
});

async function capture(channel: string, argv: string[], env?: Record<string, string>) {
  const saved = { ...world.env };
  if (env) Object.assign(world.env, env);
  try {
    const r = await world.cli(argv);
    outputs.push({ channel: `${channel} stdout`, text: r.out });
    outputs.push({ channel: `${channel} stderr`, text: r.err });
    expect(stackLines(r.out + r.err), channel).toEqual([]);
    return r;
  } finally {
    for (const k of Object.keys(world.env)) delete world.env[k];
    Object.assign(world.env, saved);
  }
}

describe('no secret in any output', () => {
  it('runs every channel', async () => {
    for (const f of ['text', 'json', 'github'])
      expect((await capture(`validate ${f}`, ['validate', '--format', f])).code).toBe(3);
    // The diagnostics did quote the values, masked (so this scan has teeth).
    expect(outputs.find((o) => o.channel === 'validate text stdout')?.text).toMatch(
      /leak\.yaml.*\*\*\*/,
    );
    await writeFile(join(world.dir, 'connectivity/globex/leak.yaml'), '# fixed\n');
    for (const f of ['text', 'markdown', 'json'])
      expect((await capture(`plan ${f}`, ['plan', '--format', f])).code).toBe(0);
    expect((await capture('plan --out', ['plan', '--out', 'p.json'])).code).toBe(0);
    const apply = await capture('apply', ['apply', 'p.json', '--yes', '--log-file', 'audit.log']);
    expect(apply.code, apply.err).toBe(0);

    // Hand edit (a password changed outside git) → drift in every format.
    const list = (await world.kazooApi('GET', `/accounts/${ACCOUNTS.acme}/connectivity`)).json as {
      data: string[];
    };
    for (const id of list.data)
      await world.kazooApi('PATCH', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`, {
        data: { account: { trunks: 3 } },
      });
    for (const f of ['text', 'markdown', 'json'])
      expect((await capture(`drift ${f}`, ['drift', '--format', f])).code).toBe(2);

    // Failures: wrong Kazoo key, wrong Cloudflare token.
    expect((await capture('bad kazoo key', ['plan'], { KAZOO_API_KEY: WRONG_KEY })).code).toBe(1);
    expect(
      (await capture('bad cf token', ['plan'], { CLOUDFLARE_API_TOKEN: WRONG_CF_TOKEN })).code,
    ).toBe(1);

    // 5xx on every write, then a 412 race, with the audit log on.
    world.faults({ script: [{ method: 'PATCH', action: 'status', status: 500, times: 20 }] });
    const failing = await capture('apply 500s', ['apply', '--yes', '--log-file', 'audit.log']);
    expect(failing.code).toBe(1);
    world.faults({});
    const injector = world.kazoo.faults;
    const decide = injector.decide.bind(injector);
    let raced = 0;
    injector.decide = (method: string, path: string): FaultDecision => {
      if (method === 'PATCH' && raced === 0) {
        raced += 1;
        const id = path.split('/').pop() ?? '';
        void world.kazooApi('PATCH', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`, {
          data: { account: { trunks: 4 } },
        });
        return { delayMs: 200, action: { kind: 'none' } };
      }
      return decide(method, path);
    };
    const race = await capture('apply 412', ['apply', '--yes', '--log-file', 'audit.log']);
    injector.decide = decide;
    expect(race.code).toBe(1);
    expect(race.out).toContain('changed it since the plan');

    for (const [path, text] of await readTreeFiles(world.dir))
      outputs.push({ channel: `file ${path.slice(world.dir.length + 1)}`, text });
    expect(outputs.some((o) => o.channel === 'file audit.log')).toBe(true);
    expect(outputs.some((o) => o.channel === 'file p.json')).toBe(true);
  });

  it('finds none of the planted secrets, in any encoding', () => {
    expect(seenTokens.size).toBeGreaterThan(0);
    const secrets: Record<string, string> = {
      api_key: API_KEY,
      wrong_api_key: WRONG_KEY,
      cloudflare_token: CF_TOKEN,
      wrong_cloudflare_token: WRONG_CF_TOKEN,
      ...PASSWORDS,
    };
    [...seenTokens].forEach((t, i) => (secrets[`issued token ${i + 1}`] = t));
    const leaks: string[] = [];
    for (const [name, value] of Object.entries(secrets))
      for (const form of forms(value))
        for (const o of outputs) if (o.text.includes(form)) leaks.push(`${name} in ${o.channel}`);
    expect(leaks).toEqual([]);
    console.log(
      `[reliability] secrets scan: ${Object.keys(secrets).length} secrets × ${forms('x').length} encodings over ${outputs.length} outputs: no leak`,
    );
  });
});
