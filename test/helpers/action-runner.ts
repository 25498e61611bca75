/**
 * Runs the bundled Action (dist/action.js) the way the runner does: a child
 * process with INPUT_* and GITHUB_* variables, an event payload file, and
 * GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, against the in-process emulators
 * and a fake GitHub API on loopback.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main.ts';
import { memoryIO } from '../../src/cli/io.ts';
import {
  assignDocumentNumbers,
  EXAMPLE_ACCOUNTS,
  startExampleEmulators,
} from '../../src/emulator/examples.ts';
import { loadProject } from '../../src/engine/load.ts';
import { DEMO_CLOUDFLARE } from '../../src/emulator/cloudflare/server.ts';
import { DEMO_KAZOO, type KazooEmulator } from '../../src/emulator/kazoo/server.ts';
import { startFakeGitHub, type FakeGitHub } from './fake-github.ts';
import { kazooIdOf } from './world.ts';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const DIST_ACTION = join(REPO_ROOT, 'dist', 'action.js');
export const LOCAL_ACTION = join(
  REPO_ROOT,
  'node_modules',
  '@github',
  'local-action',
  'bin',
  'local-action.js',
);

export const ACCOUNTS = EXAMPLE_ACCOUNTS;

export const GITHUB_TOKEN = 'ghs_actionTestToken0123456789abcdefXYZ';
export const SECRETS = {
  ACME_TRUNK_PASSWORD: 'act-acme-hq-Secret-1',
  ACME_STANDBY_PASSWORD: 'act-acme-standby-Secret-2',
  GLOBEX_FAX_PASSWORD: 'act-globex-fax-Secret-3',
  INITECH_TRUNK_PASSWORD: 'act-initech-Secret-4',
};
/** Every value that must never appear in logs, summaries, outputs or GitHub request bodies. */
export const ALL_SECRETS = [
  ...Object.values(SECRETS),
  DEMO_KAZOO.apiKey,
  DEMO_CLOUDFLARE.token,
  GITHUB_TOKEN,
];

export interface ActionResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly summary: string;
  readonly outputsText: string;
  readonly outputs: Record<string, string>;
}

export interface ActionWorld {
  readonly workspace: string;
  /** The workspace is a git repository; this commit (everything as copied) is the PRs' base. */
  readonly baseSha: string;
  /** Commits the workspace as it is now; returns the commit id. */
  commit(message: string): Promise<string>;
  /** Runs git in the workspace (branches, merges); returns its stdout. */
  git(...args: string[]): Promise<string>;
  /** The project directory inside the workspace (working-directory "infra"). */
  readonly project: string;
  readonly kazoo: KazooEmulator;
  readonly github: FakeGitHub;
  /** Secrets and URLs the workflow would pass with `env:`. */
  readonly secretEnv: Record<string, string>;
  /** Every result so far (for the no-secret sweep). */
  readonly results: ActionResult[];
  runAction(options: RunOptions): Promise<ActionResult>;
  /** The CLI in-process in the project (to converge or inspect state). */
  cli(argv: string[]): Promise<{ code: number; out: string; err: string }>;
  kazooApi(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }>;
  kazooIdOf(account: string, name: string): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface RunOptions {
  readonly inputs: Record<string, string>;
  readonly eventName: string;
  readonly payload: unknown;
  readonly sha?: string;
  readonly ref?: string;
  /** Leave out the secrets (a fork PR). */
  readonly withoutSecrets?: boolean;
  /** More environment (e.g. some secrets of a partly configured repository). */
  readonly extraEnv?: Record<string, string>;
  /** Node binary (default: this one). */
  readonly node?: string;
  /**
   * Run the untranspiled source through `@github/local-action` (which stubs
   * @actions/core and calls the module's exported run()) instead of the bundle.
   */
  readonly localAction?: boolean;
}

function parseOutputs(text: string): Record<string, string> {
  // @actions/core writes `name<<DELIM\nvalue\nDELIM` blocks.
  const out: Record<string, string> = {};
  const re = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (const m of text.matchAll(re)) if (m[1] !== undefined) out[m[1]] = m[3] ?? '';
  return out;
}

export async function startActionWorld(
  options: { pageSize?: number; author?: { login: string; type: string } } = {},
): Promise<ActionWorld> {
  const workspace = await mkdtemp(join(tmpdir(), 'connops-action-'));
  const project = join(workspace, 'infra');
  await cp(join(REPO_ROOT, 'examples'), project, {
    recursive: true,
    filter: (src) => !src.includes('/invalid') && !src.includes('/workflows'),
  });
  const git = (...args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      const child = spawn('git', args, {
        cwd: workspace,
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: workspace,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@example.com',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@example.com',
        },
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve(out.trim()) : reject(new Error(`git ${args.join(' ')}: ${code}`)),
      );
    });
  const commit = async (message: string): Promise<string> => {
    await git('add', '-A');
    await git('commit', '-q', '--allow-empty', '-m', message);
    return git('rev-parse', 'HEAD');
  };
  await git('init', '-q', '-b', 'main');
  const baseSha = await commit('base');
  const emulators = await startExampleEmulators();
  const { kazoo, cloudflare } = emulators;
  const github = await startFakeGitHub({
    token: GITHUB_TOKEN,
    ...(options.author ? { author: options.author } : {}),
    ...(options.pageSize ? { pageSize: options.pageSize } : {}),
  });
  const secretEnv: Record<string, string> = { ...SECRETS, ...emulators.env };
  const results: ActionResult[] = [];
  /** The documents' numbers belong to their accounts, as in a real estate (plan checks owners). */
  const seedNumbers = async (): Promise<void> => {
    const loaded = await loadProject({
      configPath: join(project, 'connops.yaml'),
      env: secretEnv,
      cwd: project,
    }).catch(() => undefined);
    if (loaded) assignDocumentNumbers(kazoo, loaded.documents);
  };
  let runs = 0;
  let token: string | undefined;
  const world: ActionWorld = {
    workspace,
    baseSha,
    commit,
    git,
    project,
    kazoo,
    github,
    secretEnv,
    results,
    async runAction(o) {
      await seedNumbers();
      const dir = join(workspace, '..', `${workspace.split('/').pop()}-run-${++runs}`);
      await mkdir(dir, { recursive: true });
      const eventPath = join(dir, 'event.json');
      const summaryPath = join(dir, 'summary.md');
      const outputPath = join(dir, 'output.txt');
      await writeFile(eventPath, JSON.stringify(o.payload, null, 2));
      await writeFile(summaryPath, '');
      await writeFile(outputPath, '');
      const inputs = Object.fromEntries(
        Object.entries({
          config: 'connops.yaml',
          'working-directory': 'infra',
          'github-token': GITHUB_TOKEN,
          comment: 'true',
          'allow-plan-change': 'false',
          'fail-on-drift': 'true',
          'drift-issue': 'false',
          args: '',
          // The workspace's base commit already holds every example document, so a PR
          // plan of the changed accounts would read none: tests of scoping set it.
          scope: 'all',
          ...o.inputs,
        }).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]),
      );
      const env: Record<string, string> = {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? dir,
        ...inputs,
        ...(o.withoutSecrets ? {} : secretEnv),
        // A fork PR still has non-secret configuration (URLs are usually vars, not secrets).
        ...(o.withoutSecrets ? { KAZOO_URL: kazoo.url, CLOUDFLARE_URL: cloudflare.url } : {}),
        GITHUB_ACTIONS: 'true',
        GITHUB_EVENT_NAME: o.eventName,
        GITHUB_EVENT_PATH: eventPath,
        GITHUB_REPOSITORY: github.repository,
        GITHUB_API_URL: github.url,
        GITHUB_SERVER_URL: 'https://github.example',
        GITHUB_RUN_ID: String(4242 + runs),
        GITHUB_SHA: o.sha ?? 'f'.repeat(40),
        GITHUB_REF: o.ref ?? 'refs/heads/main',
        GITHUB_WORKSPACE: workspace,
        GITHUB_STEP_SUMMARY: summaryPath,
        GITHUB_OUTPUT: outputPath,
        RUNNER_TEMP: dir,
        NO_COLOR: '1',
        ...o.extraEnv,
      };
      let child;
      if (o.localAction) {
        // Its variables come from a dotenv file: `npm exec` drops hyphenated names
        // (INPUT_WORKING-DIRECTORY) from the environment.
        const dotenv = join(dir, '.env');
        await writeFile(
          dotenv,
          Object.entries(env)
            .filter(([k]) => k !== 'PATH' && k !== 'HOME')
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join('\n') + '\n',
        );
        child = spawn(
          o.node ?? process.execPath,
          [LOCAL_ACTION, REPO_ROOT, 'src/action/main.ts', dotenv],
          { env: { PATH: env['PATH'] ?? '', HOME: env['HOME'] ?? dir }, cwd: REPO_ROOT },
        );
      } else child = spawn(o.node ?? process.execPath, [DIST_ACTION], { env, cwd: workspace });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      const code = await new Promise<number | null>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', resolve);
      });
      const outputsText = await readFile(outputPath, 'utf8');
      const result: ActionResult = {
        code,
        stdout,
        stderr,
        summary: await readFile(summaryPath, 'utf8'),
        outputsText,
        outputs: parseOutputs(outputsText),
      };
      results.push(result);
      return result;
    },
    async cli(argv) {
      await seedNumbers();
      const io = memoryIO({ env: { ...secretEnv, NO_COLOR: '1' }, cwd: project });
      const code = await run(argv, io);
      return { code, out: io.out, err: io.err };
    },
    async kazooApi(method, path, body) {
      token ??= kazoo.issueToken(DEMO_KAZOO.accountId);
      const res = await fetch(`${kazoo.url}${path}`, {
        method,
        headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
    },
    kazooIdOf: (account, name) => kazooIdOf(world, account, name),
    async close() {
      await Promise.all([emulators.close(), github.close()]);
      await rm(workspace, { recursive: true, force: true });
      for (let i = 1; i <= runs; i++)
        await rm(`${workspace}-run-${i}`, { recursive: true, force: true });
    },
  };
  return world;
}

/** A pull_request payload as GitHub sends it (the fields the Action reads, and some context). */
export function pullRequestPayload(options: {
  number: number;
  headSha: string;
  repository: string;
  headRepository?: string;
  /** The base commit (ActionWorld.baseSha: the base branch's config is read there). */
  baseSha?: string;
}): unknown {
  const repo = (full: string): unknown => ({
    full_name: full,
    name: full.split('/')[1],
    owner: { login: full.split('/')[0] },
  });
  return {
    action: 'synchronize',
    number: options.number,
    pull_request: {
      number: options.number,
      state: 'open',
      title: 'Add trunks',
      head: {
        ref: 'feature',
        sha: options.headSha,
        repo: repo(options.headRepository ?? options.repository),
      },
      base: { ref: 'main', sha: options.baseSha ?? 'b'.repeat(40), repo: repo(options.repository) },
    },
    repository: { ...(repo(options.repository) as object), default_branch: 'main' },
    sender: { login: 'octocat', type: 'User' },
  };
}

export function pushPayload(options: {
  sha: string;
  repository: string;
  /** The branch's tip before the push (default: a commit the workspace does not have). */
  before?: string;
}): unknown {
  return {
    ref: 'refs/heads/main',
    before: options.before ?? 'a'.repeat(40),
    after: options.sha,
    repository: {
      full_name: options.repository,
      name: options.repository.split('/')[1],
      default_branch: 'main',
    },
    head_commit: { id: options.sha, message: 'Merge pull request #7' },
  };
}

export function schedulePayload(): unknown {
  return { schedule: '17 3 * * *' };
}

/** stdout without the `::add-mask::` lines: those carry secrets to the runner on purpose, and the runner hides them. */
export function withoutMaskCommands(stdout: string): string {
  return stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
}
