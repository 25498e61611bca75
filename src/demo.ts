/**
 * `npm run demo`: starts both emulators in-process, seeds the accounts the
 * examples use (as children of the demo reseller account), and runs
 * validate → plan → apply → plan over examples/, then shows drift detection.
 */
import { join } from 'node:path';
import { run } from './cli/main.ts';
import type { CliIO } from './cli/io.ts';
import {
  assignDocumentNumbers,
  EXAMPLE_ACCOUNTS,
  startExampleEmulators,
} from './emulator/examples.ts';
import { loadProject } from './engine/load.ts';
import { DEMO_KAZOO } from './emulator/kazoo/server.ts';

/** Demo-only secrets: the examples read trunk passwords from these variables. */
const DEMO_SECRETS = {
  ACME_TRUNK_PASSWORD: 'demo-acme-hq-password',
  ACME_STANDBY_PASSWORD: 'demo-acme-standby-password',
  GLOBEX_FAX_PASSWORD: 'demo-globex-fax-password',
  INITECH_TRUNK_PASSWORD: 'demo-initech-password',
};

/** Whether the demo may colour its output: on a terminal, unless NO_COLOR is set (no-color.org). */
export function demoColor(
  env: Readonly<Record<string, string | undefined>>,
  isTTY: boolean,
): boolean {
  return isTTY && (env['NO_COLOR'] ?? '') === '';
}

export async function runDemo(
  out: (s: string) => void = (s) => void process.stdout.write(s),
  examplesDir = join(import.meta.dirname, '..', 'examples'),
  terminal: {
    readonly isTTY?: boolean;
    readonly env?: Readonly<Record<string, string | undefined>>;
  } = {},
): Promise<number> {
  const emulators = await startExampleEmulators();
  const { kazoo, cloudflare } = emulators;
  const env = { ...(terminal.env ?? process.env), ...DEMO_SECRETS, ...emulators.env };
  const isTTY = terminal.isTTY ?? process.stdout.isTTY === true;
  const color = demoColor(env, isTTY);
  // The example numbers belong to the example accounts in the number manager,
  // as a carrier order leaves them (plan checks each DID's owner).
  const examples = await loadProject({
    configPath: join(examplesDir, 'connops.yaml'),
    env,
    cwd: examplesDir,
  });
  assignDocumentNumbers(kazoo, examples.documents);
  const io: CliIO = {
    stdout: out,
    stderr: out,
    env,
    cwd: examplesDir,
    // The commands decide colour the same way (a terminal, and NO_COLOR unset).
    stdoutIsTTY: isTTY,
    stdinIsTTY: false,
  };
  const bold = (s: string): string => (color ? `\x1b[1m${s}\x1b[0m` : s);
  const step = async (title: string, argv: string[], expect: number[]): Promise<number> => {
    out(`\n${bold(`$ connops ${argv.join(' ')}`)}   # ${title}\n`);
    const code = await run(argv, io);
    out(`(exit ${code})\n`);
    if (!expect.includes(code))
      throw new Error(
        `demo step "${argv.join(' ')}" exited ${code}, expected ${expect.join(' or ')}`,
      );
    return code;
  };
  try {
    out(`Emulators: kazoo ${kazoo.url}, cloudflare ${cloudflare.url}\n`);
    await step('check every document offline', ['validate'], [0]);
    await step('what would change (exit 2: changes pending)', ['plan', '--detailed-exitcode'], [2]);
    await step('make live state match', ['apply', '--yes'], [0]);
    await step('converged: nothing left to do', ['plan', '--detailed-exitcode'], [0]);
    // Someone edits a trunk by hand, outside git.
    const token = kazoo.issueToken(DEMO_KAZOO.accountId);
    const acme = EXAMPLE_ACCOUNTS.acme;
    const list = (await (
      await fetch(`${kazoo.url}/accounts/${acme}/connectivity`, {
        headers: { 'X-Auth-Token': token },
      })
    ).json()) as { data: string[] };
    for (const id of list.data) {
      const doc = (await (
        await fetch(`${kazoo.url}/accounts/${acme}/connectivity/${id}`, {
          headers: { 'X-Auth-Token': token },
        })
      ).json()) as { data: { name?: string } };
      if (doc.data.name !== 'acme-denver') continue;
      await fetch(`${kazoo.url}/accounts/${acme}/connectivity/${id}`, {
        method: 'PATCH',
        headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json' },
        body: JSON.stringify({ data: { account: { trunks: 2 } } }),
      });
      out('\n# Someone set account.trunks on "acme-denver" by hand in the Kazoo UI.\n');
    }
    await step('scheduled drift check (exit 2: drift)', ['drift'], [2]);
    out('\nDemo finished: validate → plan → apply → plan converged, and drift was detected.\n');
    return 0;
  } finally {
    await emulators.close();
  }
}

if (
  process.argv[1] &&
  import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop() ?? '')
) {
  runDemo().then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
