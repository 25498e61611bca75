/**
 * The CLI as shipped (bin/connops.js importing ../dist/cli.js), bundled into a
 * temp folder so tests of the process neither need nor touch the committed
 * dist/, and spawned as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_OPTIONS } from '../../scripts/bundle-options.mjs';

const ROOT = join(import.meta.dirname, '..', '..');

/** Bundles the CLI into a new temp folder and returns that folder. */
export async function buildBin(): Promise<string> {
  const binDir = await mkdtemp(join(tmpdir(), 'connops-bin-'));
  await mkdir(join(binDir, 'bin'));
  await copyFile(join(ROOT, 'bin/connops.js'), join(binDir, 'bin/connops.js'));
  await build({
    ...BUNDLE_OPTIONS,
    entryPoints: { cli: join(ROOT, 'src/cli/entry.ts') },
    outdir: join(binDir, 'dist'),
  });
  return binDir;
}

export interface SpawnedCli {
  readonly child: ChildProcess;
  /** Everything it printed so far (stdout and stderr interleaved). */
  output(): string;
  readonly done: Promise<{ code: number | null; signal: string | null; output: string }>;
}

/** Runs `connops ARGS` from `binDir` in `cwd` with exactly `env` (plus PATH). */
export function spawnCli(
  binDir: string,
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>>,
): SpawnedCli {
  const child = spawn(process.execPath, [join(binDir, 'bin/connops.js'), ...args], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const done = new Promise<{ code: number | null; signal: string | null; output: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, output })),
  );
  return { child, output: () => output, done };
}
