/**
 * README's "try it by hand" works exactly as written: its two shell blocks are
 * read from README.md and run in-process, the emulator command as the first
 * terminal, every connops command after `cd examples` as the second (ports 0
 * instead of 8000/8001, so parallel test runs do not collide; the URLs are
 * then the ones the emulator printed).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIO } from '../src/cli/io.ts';
import { run } from '../src/cli/main.ts';

const root = join(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The ```sh blocks of the "To try it by hand" paragraph, as lists of lines. */
function byHandBlocks(): string[][] {
  const part = readme.slice(readme.indexOf('To try it by hand'));
  const blocks = [...part.matchAll(/```sh\n([\s\S]*?)```/g)].slice(0, 2);
  return blocks.map((m) =>
    (m[1] ?? '')
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l !== ''),
  );
}

const argvOf = (line: string): string[] => line.split(/\s+/).slice(3); // drop "npx tsx …/dev.ts"

describe('README: try it by hand', () => {
  it('uses the shipped seed, and every command it shows succeeds', async () => {
    const [terminal1, terminal2] = byHandBlocks();
    expect(terminal1).toHaveLength(1);
    const emulatorLine = terminal1?.[0] ?? '';
    expect(emulatorLine).toContain('--seed examples/emulator-seed.yaml');

    let stop: () => void = () => {};
    const stopped = new Promise<void>((r) => (stop = r));
    const emuIO = memoryIO({ cwd: root, waitForInterrupt: () => stopped });
    const argv = argvOf(emulatorLine).map((a) => (a === '8000' || a === '8001' ? '0' : a));
    const emulator = run(argv, emuIO);
    try {
      for (let i = 0; i < 200 && !emuIO.out.includes('Emulators running'); i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(emuIO.out, emuIO.err).toContain('Emulators running');
      const kazooUrl = /kazoo: (\S+)/.exec(emuIO.out)?.[1] ?? '';
      const cloudflareUrl = /cloudflare: (\S+)/.exec(emuIO.out)?.[1] ?? '';

      let cwd = root;
      const env: Record<string, string> = {};
      const results: [string, number, string][] = [];
      for (const line of terminal2 ?? []) {
        if (line.startsWith('cd ')) cwd = join(cwd, line.slice(3));
        else if (line.startsWith('export ')) {
          for (const pair of line.slice(7).split(/\s+/)) {
            const [name, ...value] = pair.split('=');
            env[name as string] = value.join('=');
          }
        } else if (line.startsWith('npx tsx ')) {
          env['KAZOO_URL'] = kazooUrl;
          env['CLOUDFLARE_URL'] = cloudflareUrl;
          const io = memoryIO({ cwd, env });
          results.push([line, await run(argvOf(line), io), io.err]);
        } else throw new Error(`the test does not know how to run: ${line}`);
      }
      expect(results.map(([l]) => argvOf(l)[0])).toEqual(['validate', 'plan', 'apply', 'plan']);
      for (const [line, code, err] of results) expect(code, `${line}\n${err}`).toBe(0);
      // The demo credentials the README exports are what the emulator printed.
      expect(emuIO.out).toContain(`kazoo api key: ${env['KAZOO_API_KEY']}`);
      expect(emuIO.out).toContain(`cloudflare api token: ${env['CLOUDFLARE_API_TOKEN']}`);
    } finally {
      stop();
      await emulator;
    }
  });
});
