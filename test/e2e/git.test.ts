/**
 * Git-aware runs against real temporary repositories: --ref, --changed-since
 * (add, modify, rename, delete), meta.git, shallow clones, and the failures a
 * user can meet (no repository, no git).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.ts';
import { memoryIO } from '../../src/cli/io.ts';
import type { PlanJson } from '../../src/core/render-plan.ts';
import { ACCOUNTS, startWorld, type World } from '../helpers/world.ts';

const exec = promisify(execFile);
const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_SYSTEM: '/dev/null',
  LC_ALL: 'C',
};

async function git(dir: string, ...args: string[]): Promise<string> {
  return (await exec('git', args, { cwd: dir, env: GIT_ENV })).stdout.trim();
}

async function initRepo(dir: string): Promise<void> {
  await git(dir, 'init', '-q', '-b', 'main');
  await git(dir, 'config', 'user.name', 'connops test');
  await git(dir, 'config', 'user.email', 'test@connops.invalid');
  await git(dir, 'config', 'commit.gpgsign', 'false');
}

async function commitAll(dir: string, message: string): Promise<string> {
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

let world: World;
beforeEach(async () => {
  world = await startWorld();
  // The CLI's git reads no user or system config, like the helper above.
  world.env['GIT_CONFIG_GLOBAL'] = '/dev/null';
  world.env['GIT_CONFIG_SYSTEM'] = '/dev/null';
  // Numbers of every example document, before tests remove some (--ref plans them again).
  await world.seedNumbers();
});
afterEach(async () => {
  await world.close();
});

const planJson = async (argv: string[]): Promise<PlanJson> => {
  const r = await world.cli(['plan', '--format', 'json', ...argv]);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as PlanJson;
};
const actions = (p: PlanJson): string[] => p.changes.map((c) => `${c.action} ${c.key.name}`).sort();

describe('meta.git', () => {
  it('is absent outside a repository, and records commit + dirty inside one', async () => {
    expect((await planJson([])).meta.git).toBeUndefined();
    await initRepo(world.dir);
    const head = await commitAll(world.dir, 'examples');
    expect((await planJson([])).meta.git).toEqual({ commit: head, dirty: false });
    await writeFile(join(world.dir, 'connectivity', 'notes.txt'), 'scratch\n');
    expect((await planJson([])).meta.git).toEqual({ commit: head, dirty: true });
  });
});

describe('--ref', () => {
  it('plans the documents of an old commit without checking it out', async () => {
    await initRepo(world.dir);
    const first = await commitAll(world.dir, 'examples');
    await rm(join(world.dir, 'connectivity', 'globex'), { recursive: true });
    await commitAll(world.dir, 'drop globex');
    const atHead = await planJson([]);
    expect(atHead.summary.create).toBe(6);
    const atFirst = await planJson(['--ref', first.slice(0, 10)]);
    expect(atFirst.summary.create).toBe(8);
    expect(actions(atFirst)).toContain('create globex-fax');
    expect(atFirst.meta.git).toEqual({ commit: first, dirty: false });
    // The working tree is untouched.
    expect(await git(world.dir, 'rev-parse', 'HEAD')).not.toBe(first);
    await expect(
      readFile(join(world.dir, 'connectivity', 'globex', 'trunks.yaml')),
    ).rejects.toThrow();
  });

  it('names an unknown revision clearly (exit 1, no stack)', async () => {
    await initRepo(world.dir);
    await commitAll(world.dir, 'examples');
    const r = await world.cli(['plan', '--ref', 'no-such-branch']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot find the git revision "no-such-branch"');
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});

describe('--changed-since', () => {
  it('plans only documents in added, modified and renamed files; deleted documents become deletes only with prune', async () => {
    await initRepo(world.dir);
    const base = await commitAll(world.dir, 'examples');
    expect((await world.cli(['apply', '--yes'])).code).toBe(0);

    const conn = join(world.dir, 'connectivity');
    // modify: initech's trunk gets a third DID
    const initech = join(conn, 'initech', 'main.yaml');
    await writeFile(
      initech,
      (await readFile(initech, 'utf8')).replace(
        "'+15125550171': {}",
        "'+15125550171': {}\n        '+15125550172': {}",
      ),
    );
    // rename without content change: plans as noops, deletes nothing
    await rename(join(conn, 'globex', 'trunks.yaml'), join(conn, 'globex', 'renamed.yaml'));
    // delete: acme-denver's file goes away
    await rm(join(conn, 'acme', 'branch.yaml'));
    // add: a new document (committed)
    await writeFile(
      join(conn, 'acme', 'lab.yaml'),
      `kind: kazoo/connectivity\ntarget: kazoo-prod\naccount: ${ACCOUNTS.acme}\nname: acme-lab\nspec:\n  servers: []\n`,
    );
    await commitAll(world.dir, 'change things');
    // and an uncommitted edit on top counts too
    await writeFile(initech, (await readFile(initech, 'utf8')).replace('delay: 0', 'delay: 1'));

    const noPrune = await planJson(['--changed-since', base]);
    expect(actions(noPrune)).toEqual([
      'create acme-lab',
      'noop globex-fax',
      'noop globex-primary',
      'update initech-main',
    ]);
    expect(noPrune.unmanaged).toBe(0);
    expect(noPrune.meta.git?.dirty).toBe(true);

    const withPrune = await planJson(['--changed-since', base, '--prune']);
    expect(actions(withPrune)).toEqual([
      'create acme-lab',
      'delete acme-denver',
      'noop globex-fax',
      'noop globex-primary',
      'update initech-main',
    ]);
    // acme-main (unchanged, same account as the deleted document) is neither planned nor pruned.
    expect(withPrune.changes.some((c) => c.key.name === 'acme-main')).toBe(false);

    const apply = await world.cli(['apply', '--yes', '--changed-since', base, '--prune']);
    expect(apply.code, apply.err).toBe(0);
    const full = await planJson([]);
    expect(full.summary).toEqual({ create: 0, update: 0, delete: 0, noop: 8 });
  });

  it('in a shallow clone missing the revision, says how to fetch it', async () => {
    await initRepo(world.dir);
    const base = await commitAll(world.dir, 'examples');
    await writeFile(join(world.dir, 'connectivity', 'extra.yaml'), '# nothing\n');
    await commitAll(world.dir, 'second');
    const parent = await mkdtemp(join(tmpdir(), 'connops-shallow-'));
    try {
      const clone = join(parent, 'clone');
      await exec('git', ['clone', '-q', '--depth', '1', `file://${world.dir}`, clone], {
        env: GIT_ENV,
      });
      const io = memoryIO({ env: world.env, cwd: clone });
      const code = await run(['plan', '--changed-since', base], io);
      expect(code).toBe(1);
      expect(io.err).toContain('shallow clone');
      expect(io.err).toContain('git fetch --deepen');
      expect(io.err).toContain('fetch-depth: 0');
      expect(io.err).not.toMatch(/\n\s+at /);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});

describe('--changed-since without a merge base (issue 23)', () => {
  it('in a shallow clone that has the base but not the history where they meet: an error naming git fetch --unshallow, and nothing written', async () => {
    await initRepo(world.dir);
    await commitAll(world.dir, 'examples');
    await git(world.dir, 'checkout', '-q', '-b', 'feature');
    await writeFile(join(world.dir, 'connectivity', 'extra.yaml'), '# this branch\n');
    await commitAll(world.dir, 'feature work');
    // Main moves on after the branch point: a diff against main itself would show this
    // branch "undoing" it.
    await git(world.dir, 'checkout', '-q', 'main');
    const mainYaml = join(world.dir, 'connectivity', 'acme', 'main.yaml');
    await writeFile(
      mainYaml,
      (await readFile(mainYaml, 'utf8')).replace('trunks: 20', 'trunks: 21'),
    );
    await commitAll(world.dir, 'main moves on');
    const parent = await mkdtemp(join(tmpdir(), 'connops-shallow-'));
    try {
      const clone = join(parent, 'clone');
      // What CI does with fetch-depth 1: the branch tip, then the base branch's tip.
      await exec(
        'git',
        ['clone', '-q', '--depth', '1', '--branch', 'feature', `file://${world.dir}`, clone],
        {
          env: GIT_ENV,
        },
      );
      await git(clone, 'fetch', '-q', '--depth', '1', 'origin', 'main:refs/remotes/origin/main');
      const before = world.state();
      for (const argv of [
        ['plan', '--changed-since', 'origin/main'],
        ['apply', '--yes', '--prune', '--changed-since', 'origin/main'],
      ]) {
        const io = memoryIO({ env: world.env, cwd: clone });
        const code = await run(argv, io);
        expect(code, io.out + io.err).toBe(1);
        expect(io.err).toContain('no common ancestor of "origin/main"');
        expect(io.err).toContain('shallow clone');
        expect(io.err).toContain('git fetch --unshallow');
        expect(io.err).not.toMatch(/\n\s+at /);
      }
      expect(world.state()).toEqual(before);
      // After fetching the history it works, and sees only this branch's file.
      await git(clone, 'fetch', '-q', '--unshallow', 'origin');
      const io = memoryIO({ env: world.env, cwd: clone });
      expect(await run(['plan', '--changed-since', 'origin/main'], io), io.err).toBe(0);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('with an unrelated base: an error asking for the branch this one was cut from', async () => {
    await initRepo(world.dir);
    await commitAll(world.dir, 'examples');
    await git(world.dir, 'checkout', '-q', '--orphan', 'other');
    await commitAll(world.dir, 'unrelated root');
    const r = await world.cli(['plan', '--changed-since', 'main']);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.err).toContain('no common ancestor of "main"');
    expect(r.err).toContain('share no history');
    expect(r.err).toContain('--changed-since origin/main');
    expect(r.err).not.toContain('shallow');
  });
});

describe('symlinked document files (issue 23)', () => {
  /** `plan` (validate has no --ref): its exit code and the diagnostics it printed. */
  const validate = async (argv: string[]) => {
    const r = await world.cli(['plan', ...argv]);
    const diagnostics = (r.out + r.err)
      .split('\n')
      .map((l) => /^(\S+):(\d+):(\d+): (?:error|warning): (.*)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => ({
        file: m[1] as string,
        line: Number(m[2]),
        col: Number(m[3]),
        message: m[4] as string,
      }));
    return { code: r.code, diagnostics };
  };

  it('a link inside the repository reads the same in the working tree and with --ref', async () => {
    await initRepo(world.dir);
    // initech's document lives outside the document globs; the glob reaches it through a link.
    await mkdir(join(world.dir, 'library'));
    await rename(
      join(world.dir, 'connectivity', 'initech', 'main.yaml'),
      join(world.dir, 'library', 'initech.yaml'),
    );
    await symlink(
      '../../library/initech.yaml',
      join(world.dir, 'connectivity', 'initech', 'main.yaml'),
    );
    await commitAll(world.dir, 'linked');
    const tree = await validate([]);
    const atHead = await validate(['--ref', 'HEAD']);
    expect(tree).toEqual({ code: 0, diagnostics: [] });
    expect(atHead).toEqual(tree);
    const keys = async (argv: string[]) => actions(await planJson(argv));
    expect(await keys(['--ref', 'HEAD'])).toEqual(await keys([]));
    expect(await keys([])).toContain('create initech-main');
  });

  it('a link leaving the repository, a loop and a dangling link are each an error naming the file, in both modes', async () => {
    await initRepo(world.dir);
    const outside = await mkdtemp(join(tmpdir(), 'connops-outside-'));
    try {
      const doc = await readFile(join(world.dir, 'connectivity', 'initech', 'main.yaml'), 'utf8');
      await writeFile(join(outside, 'stolen.yaml'), doc.replace('initech-main', 'outside-doc'));
      const dir = join(world.dir, 'connectivity', 'links');
      await mkdir(dir);
      await symlink(join(outside, 'stolen.yaml'), join(dir, 'absolute.yaml'));
      await symlink(
        '../../../' + outside.split('/').pop() + '/stolen.yaml',
        join(dir, 'relative.yaml'),
      );
      await symlink('loop-b.yaml', join(dir, 'loop-a.yaml'));
      await symlink('loop-a.yaml', join(dir, 'loop-b.yaml'));
      await symlink('nowhere.yaml', join(dir, 'gone.yaml'));
      await commitAll(world.dir, 'bad links');
      for (const argv of [[], ['--ref', 'HEAD']]) {
        const r = await validate(argv);
        expect(r.code, argv.join(' ')).toBe(3);
        const by = Object.fromEntries(r.diagnostics.map((d) => [d.file, d.message]));
        expect(Object.keys(by).sort(), argv.join(' ')).toEqual(
          ['absolute', 'gone', 'loop-a', 'loop-b', 'relative'].map(
            (n) => `connectivity/links/${n}.yaml`,
          ),
        );
        expect(by['connectivity/links/absolute.yaml']).toContain(
          'symlink leads outside the repository',
        );
        expect(by['connectivity/links/relative.yaml']).toContain(
          'symlink leads outside the repository',
        );
        expect(by['connectivity/links/loop-a.yaml']).toContain('symlink loop');
        expect(by['connectivity/links/gone.yaml']).toContain('symlink to a missing file');
        for (const d of r.diagnostics) expect([d.line, d.col]).toEqual([1, 1]);
      }
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('failures', () => {
  it('outside a repository, --ref and --changed-since fail clearly', async () => {
    for (const flag of ['--ref', '--changed-since']) {
      const r = await world.cli(['plan', flag, 'HEAD']);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`${flag} needs a git repository`);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });

  it('without a git binary, says so; plain runs still work without git meta', async () => {
    await initRepo(world.dir);
    await commitAll(world.dir, 'examples');
    world.env['PATH'] = join(world.dir, 'no-such-bin');
    const r = await world.cli(['plan', '--ref', 'HEAD']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('no `git` program on PATH');
    expect(r.err).not.toMatch(/\n\s+at /);
    expect((await planJson([])).meta.git).toBeUndefined();
  });
});

describe('--changed-since with --scope accounts (the PR plan)', () => {
  /** Requests per account path prefix while `fn` runs. */
  async function readsDuring<T>(
    fn: () => Promise<T>,
  ): Promise<{ result: T; accounts: Set<string> }> {
    const accounts = new Set<string>();
    const injector = world.kazoo.faults;
    const decide = injector.decide.bind(injector);
    injector.decide = (method, path) => {
      const m = /^\/v2\/accounts\/([0-9a-f]{32})\//.exec(path);
      if (m) accounts.add(m[1] as string);
      return decide(method, path);
    };
    try {
      return { result: await fn(), accounts };
    } finally {
      injector.decide = decide;
    }
  }

  it('reads and plans only the accounts the change touches, whole, and says so', async () => {
    await initRepo(world.dir);
    const base = await commitAll(world.dir, 'examples');
    expect((await world.cli(['apply', '--yes'])).code).toBe(0);
    const branch = join(world.dir, 'connectivity', 'acme', 'branch.yaml');
    await writeFile(
      branch,
      (await readFile(branch, 'utf8')).replace(/timeout: \d+/, 'timeout: 44'),
    );
    await commitAll(world.dir, 'acme branch timeout');
    const { result: plan, accounts } = await readsDuring(() =>
      planJson(['--changed-since', base, '--scope', 'accounts']),
    );
    // acme's two documents are planned (main.yaml unchanged, as a noop); no other account is read.
    expect(accounts).toEqual(new Set([ACCOUNTS.acme]));
    expect(plan.changes.map((c) => `${c.action} ${c.key.name}`).sort()).toEqual([
      'noop acme-main',
      'update acme-denver',
    ]);
    const scope = plan.meta.selection?.['scope'] as Record<string, unknown>;
    expect(scope).toMatchObject({ kind: 'accounts', since: base, planned_accounts: 1 });
    expect(scope['declared_accounts']).toBe(4);
    const text = await world.cli(['plan', '--changed-since', base, '--scope', 'accounts']);
    expect(text.out).toContain('Planned 1 of 4 accounts: the ones changed since');
  });

  it('a change to the config plans every account', async () => {
    await initRepo(world.dir);
    const base = await commitAll(world.dir, 'examples');
    const config = join(world.dir, 'connops.yaml');
    await writeFile(config, `${await readFile(config, 'utf8')}\n# a comment\n`);
    await commitAll(world.dir, 'touch config');
    const plan = await planJson(['--changed-since', base, '--scope', 'accounts']);
    expect(plan.summary.create).toBe(8);
    expect(
      (plan.meta.selection?.['scope'] as Record<string, unknown>)['whole_estate_because'],
    ).toMatch(/connops\.yaml changed/);
  });

  it('--scope without --changed-since is a usage error', async () => {
    const r = await world.cli(['plan', '--scope', 'accounts']);
    expect(r.code).toBe(64);
    expect(r.err).toContain('--scope goes with --changed-since');
  });
});
