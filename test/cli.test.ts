/**
 * The CLI driver offline: validate's formats, colour rules, the emulator command.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIO } from '../src/cli/io.ts';
import { run } from '../src/cli/main.ts';

const invalid = join(import.meta.dirname, '..', 'examples', 'invalid');

describe('connops validate', () => {
  it('prints every problem as file:line:col: severity: message (pointer), exit 3', async () => {
    const io = memoryIO({ cwd: invalid });
    expect(await run(['validate'], io)).toBe(3);
    expect(io.out).toContain(
      'wrong-types.yaml:10:18: error: "enabled" must be a boolean (/spec/servers/0/options/enabled)\n',
    );
    expect(io.out).toMatch(/\n\d+ errors, 2 warnings, 1 notice \(\d+ documents in 17 files\)\n$/);
  });

  it('--format json is machine-readable', async () => {
    const io = memoryIO({ cwd: invalid });
    expect(await run(['validate', '--format', 'json'], io)).toBe(3);
    const r = JSON.parse(io.out) as {
      valid: boolean;
      diagnostics: { file: string; line: number; col: number; code: string }[];
    };
    expect(r.valid).toBe(false);
    expect(r.diagnostics).toContainEqual(
      expect.objectContaining({ file: 'tabs.yaml', line: 7, col: 1, code: 'YAML_TAB' }),
    );
  });

  it('--format github prints workflow annotations with escaped properties', async () => {
    const io = memoryIO({ cwd: invalid });
    expect(await run(['validate', '--format', 'github'], io)).toBe(3);
    expect(io.out).toContain(
      '::error file=did-not-e164.yaml,line=10,col=9,title=connops DID_FORMAT::"4155550100" is not a +E.164 number',
    );
    expect(io.out).toContain('::warning file=unknown-field.yaml,line=10,col=9,');
  });

  it('exits 0 on a clean project and 3 when the config is missing', async () => {
    const env = {
      ACME_TRUNK_PASSWORD: 'x1234',
      ACME_STANDBY_PASSWORD: 'x1234',
      GLOBEX_FAX_PASSWORD: 'x1234',
      INITECH_TRUNK_PASSWORD: 'x1234',
      KAZOO_URL: 'http://127.0.0.1:1/v2',
      KAZOO_API_KEY: 'k',
      CLOUDFLARE_URL: 'http://127.0.0.1:1/client/v4',
      CLOUDFLARE_API_TOKEN: 'tttttt',
    };
    expect(await run(['validate'], memoryIO({ cwd: join(invalid, '..'), env }))).toBe(0);
    const io = memoryIO({ cwd: invalid });
    expect(await run(['validate', '--config', 'nope.yaml'], io)).toBe(3);
    expect(io.out).toContain('nope.yaml:1:1: error: cannot read the config: file not found');
  });

  it.each([
    ['--format xml', ['validate', '--format', 'xml']],
    ['an unknown flag', ['validate', '--bogus']],
    ['an unknown command', ['frobnicate']],
    ['a bad shard', ['plan', '--shard', '5/4']],
  ])('usage error (%s) exits 64 with help', async (_name, argv) => {
    const io = memoryIO({ cwd: invalid });
    expect(await run(argv, io)).toBe(64);
    expect(io.err).toContain('Usage: connops');
  });
});

describe('colour', () => {
  it.each([
    ['a terminal', { stdoutIsTTY: true }, [], true],
    ['a pipe', { stdoutIsTTY: false }, [], false],
    ['NO_COLOR', { stdoutIsTTY: true, env: { NO_COLOR: '1' } }, [], false],
    ['--no-color', { stdoutIsTTY: true }, ['--no-color'], false],
  ] as const)('on %s: colour %s', async (_name, opts, flags, coloured) => {
    // The emulator command is offline-safe to start; plan output colour is checked through the text renderer.
    const { renderPlanText } = await import('../src/core/render-plan.ts');
    const { createContext } = await import('../src/cli/context.ts');
    const io = memoryIO({ ...opts });
    const ctx = createContext(io, Object.fromEntries(flags.map((f) => [f.slice(2), true])), []);
    expect(ctx.color).toBe(coloured);
    const plan = {
      format_version: '1',
      changes: [],
      problems: [],
      unmanaged: 0,
      summary: { create: 0, update: 0, delete: 0, noop: 0 },
      fingerprint: 'f',
      meta: { generated_at: 'x' },
    };
    expect(renderPlanText(plan, { color: ctx.color }).includes('\x1b[')).toBe(coloured);
  });
});

describe('connops emulator', () => {
  it('prints one base URL per line and the demo credentials, then stops on interrupt', async () => {
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const io = memoryIO({ waitForInterrupt: () => stopped });
    const running = run(
      ['emulator', '--kazoo-port', '0', '--cloudflare-port', '0', '--api-key', 'k'.repeat(64)],
      io,
    );
    for (let i = 0; i < 100 && !io.out.includes('press Ctrl-C'); i++)
      await new Promise((r) => setTimeout(r, 20));
    const kazoo = /^kazoo: (http:\/\/127\.0\.0\.1:\d+\/v2)$/m.exec(io.out)?.[1];
    expect(kazoo).toBeDefined();
    expect(io.out).toMatch(/^cloudflare: http:\/\/127\.0\.0\.1:\d+\/client\/v4$/m);
    expect(io.out).toContain(`kazoo api key: ${'k'.repeat(64)}`);
    const auth = await fetch(`${kazoo}/api_auth`, {
      method: 'PUT',
      body: JSON.stringify({ data: { api_key: 'k'.repeat(64) } }),
    });
    expect(auth.status).toBe(201);
    stop();
    expect(await running).toBe(0);
  });

  it('rejects a bad fault flag as a usage error', async () => {
    const io = memoryIO({ waitForInterrupt: () => Promise.resolve() });
    expect(await run(['emulator', '--rate-429', '2'], io)).toBe(64);
  });
});
