/**
 * The one wrapper around `simple-git` (STYLE.md §7): read-only questions about
 * the repository holding the config. Every command is an argument array (no
 * shell), runs with a C.UTF-8 locale (so messages we match on are English) and
 * with prompts disabled (a CI job must fail, not hang on a credential prompt).
 * Failures become `ConnopsError('GIT', …)` in the user's terms.
 */
import { lstat, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { ConnopsError } from '../core/errors.ts';
import { MAX_FILE_BYTES, type ReadResult } from './files.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Variables passed through to git. simple-git refuses to run when variables
 * such as EDITOR, PAGER or GIT_SSH_COMMAND are set (they can run programs), and
 * users commonly have them; we only read, so we pass what lookup and config
 * discovery need and nothing else.
 */
const PASSED_ENV = [
  'PATH',
  'HOME',
  'USERPROFILE',
  'SYSTEMROOT',
  'TMPDIR',
  'TEMP',
  'TMP',
  'XDG_CONFIG_HOME',
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_CEILING_DIRECTORIES',
  'GIT_DISCOVERY_ACROSS_FILESYSTEM',
  'GIT_CONFIG_GLOBAL',
  'GIT_CONFIG_SYSTEM',
  'GIT_CONFIG_NOSYSTEM',
] as const;

export function gitEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of PASSED_ENV) {
    const v = env[k];
    if (v !== undefined) out[k] = v;
  }
  out['LANG'] = 'C.UTF-8';
  out['LC_ALL'] = 'C.UTF-8';
  out['GIT_TERMINAL_PROMPT'] = '0';
  // Reads must not take index.lock (a concurrent `git commit` would fail).
  out['GIT_OPTIONAL_LOCKS'] = '0';
  return out;
}

function client(dir: string, env: Env): SimpleGit {
  return simpleGit({
    baseDir: dir,
    trimmed: false,
    // GIT_CONFIG_GLOBAL/SYSTEM only point git at config files the user chose.
    unsafe: { allowUnsafeConfigPaths: true },
  }).env(gitEnv(env));
}

/** The first line of git's message, without simple-git's stack or "fatal: ". */
function gitMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.replace(/^(fatal|error): /, '').trim();
}

function isNoBinary(err: unknown): boolean {
  return err instanceof Error && /spawn \S*git\S* ENOENT/.test(err.message);
}

function noBinary(err: unknown): ConnopsError {
  return new ConnopsError(
    'GIT',
    'cannot run git: no `git` program on PATH. Install git (or put it on PATH) to use --ref or --changed-since',
    { cause: err },
  );
}

async function raw(git: SimpleGit, args: string[], what: string): Promise<string> {
  try {
    return await git.raw(args);
  } catch (err) {
    if (isNoBinary(err)) throw noBinary(err);
    throw new ConnopsError('GIT', `cannot ${what}: ${gitMessage(err)}`, { cause: err });
  }
}

/** A change between a revision and the working tree (or another revision). */
/** The tree-entry mode git gives a symbolic link. */
const SYMLINK_MODE = '120000';

export type FileChange =
  | { readonly status: 'added' | 'modified' | 'deleted'; readonly path: string }
  | { readonly status: 'renamed'; readonly path: string; readonly from: string };

export interface TreeEntry {
  /** Path relative to the repository root, '/'-separated. */
  readonly path: string;
  readonly size: number;
}

/** A git repository, opened at its root. Paths given to methods are absolute or root-relative. */
export class GitRepo {
  readonly root: string;
  private readonly git: SimpleGit;
  /** Regular files listFilesAt saw, as `rev:path`: reading them needs no symlink check. */
  private readonly plainFiles = new Set<string>();
  /** The revision names resolveRef was given, by commit, to name them in later messages. */
  private readonly names = new Map<string, string>();

  private constructor(root: string, git: SimpleGit) {
    this.root = root;
    this.git = git;
  }

  /**
   * Opens the repository containing `dir`; undefined when `dir` is in none.
   * Throws when git itself cannot run.
   */
  static async find(dir: string, env: Env): Promise<GitRepo | undefined> {
    let real: string;
    try {
      real = await realpath(dir);
    } catch {
      real = resolve(dir);
    }
    const git = client(real, env);
    let top: string;
    try {
      top = (await git.raw(['rev-parse', '--show-toplevel'])).trim();
    } catch (err) {
      if (isNoBinary(err)) throw noBinary(err);
      if (/not a git repository/i.test(gitMessage(err))) return undefined;
      throw new ConnopsError('GIT', `cannot inspect the git repository: ${gitMessage(err)}`, {
        cause: err,
      });
    }
    if (top === '') return undefined; // a bare repository or inside .git: no working tree
    return new GitRepo(top, client(top, env));
  }

  /** Like `find`, but a directory outside any repository is an error. */
  static async open(dir: string, env: Env, why: string): Promise<GitRepo> {
    const repo = await GitRepo.find(dir, env);
    if (!repo)
      throw new ConnopsError(
        'GIT',
        `${why} needs a git repository, but ${dir} is not inside one (run connops from a clone, or drop ${why})`,
      );
    return repo;
  }

  /** Root-relative '/'-separated path for an absolute (or root-relative) path. */
  async relativePath(path: string): Promise<string> {
    if (!isAbsolute(path)) return path.split(sep).join('/');
    let real = path;
    try {
      // A symlinked file keeps its own name: at a commit it is the link that is read,
      // and readFileAt follows it in that commit's tree, not in the working tree's.
      const st = await lstat(path);
      real =
        st.isSymbolicLink() &&
        !(await stat(path).then(
          (t) => t.isDirectory(),
          () => false,
        ))
          ? join(await realpath(dirname(path)), basename(path))
          : await realpath(path);
    } catch {
      // A path that no longer exists in the working tree (read at a commit):
      // resolve its nearest existing parent instead.
      const parent = resolve(path, '..');
      if (parent !== path) {
        const base = await this.relativePath(parent);
        const leaf = path.slice(parent.length).replace(/^[\\/]+/, '');
        return base === '' ? leaf : `${base}/${leaf}`;
      }
    }
    const rel = relative(this.root, real).split(sep).join('/');
    if (rel.startsWith('..'))
      throw new ConnopsError('GIT', `${path} is outside the git repository at ${this.root}`);
    return rel;
  }

  async headCommit(): Promise<string> {
    return (await raw(this.git, ['rev-parse', '--verify', 'HEAD^{commit}'], 'read HEAD')).trim();
  }

  /** True when tracked or untracked (not ignored) files under `paths` differ from HEAD. */
  async isDirty(paths: readonly string[] = []): Promise<boolean> {
    const out = await raw(
      this.git,
      ['status', '--porcelain', '-z', '--untracked-files=normal', '--', ...paths],
      'read the working tree status',
    );
    return out.length > 0;
  }

  async isShallow(): Promise<boolean> {
    const out = await raw(
      this.git,
      ['rev-parse', '--is-shallow-repository'],
      'inspect the repository',
    );
    return out.trim() === 'true';
  }

  /** The full commit id a revision names; a clear error (with a fetch hint in shallow clones) when unknown. */
  async resolveRef(rev: string): Promise<string> {
    if (rev === '' || rev.startsWith('-'))
      throw new ConnopsError('GIT', `"${rev}" is not a git revision`);
    try {
      const commit = (
        await this.git.raw(['rev-parse', '--verify', '--end-of-options', `${rev}^{commit}`])
      )
        .trim()
        .split('\n')[0] as string;
      if (!this.names.has(commit)) this.names.set(commit, rev);
      return commit;
    } catch (err) {
      if (isNoBinary(err)) throw noBinary(err);
      const shallow = await this.isShallow().catch(() => false);
      const hint = shallow
        ? ` This is a shallow clone, so older commits and other branches are missing: fetch them with \`git fetch --deepen=50 origin\` (or \`git fetch origin ${rev.replace(/^origin\//, '')}\`), or in GitHub Actions use actions/checkout with \`fetch-depth: 0\`.`
        : ' Check the name, or fetch it first (e.g. `git fetch origin`).';
      throw new ConnopsError(
        'GIT',
        `cannot find the git revision "${rev}" in ${this.root}.${hint}`,
        {
          cause: err,
        },
      );
    }
  }

  /**
   * The merge base of `base` (the `--changed-since` revision) and `head`.
   *
   * When git finds none this throws, naming the fix, rather than letting the
   * caller compare with `base` itself: that diff would show every change made
   * on `base` after the branch point as this branch undoing it, and with
   * `--prune` connops once deleted a live document `base` still declares
   * (issue 23). In a shallow clone the common history is missing (fetch it);
   * otherwise the two commits are unrelated (the wrong base was given).
   */
  async mergeBase(base: string, head: string): Promise<string> {
    let out = '';
    let why = '';
    try {
      out = (await this.git.raw(['merge-base', '--end-of-options', base, head])).trim();
    } catch (err) {
      if (isNoBinary(err)) throw noBinary(err);
      why = gitMessage(err);
    }
    if (out !== '') return out.split('\n')[0] as string;
    const shallow = await this.isShallow().catch(() => false);
    const named = (c: string, fallback: string): string => {
      const name = this.names.get(c);
      return name !== undefined && name !== c
        ? `"${name}" (${c.slice(0, 12)})`
        : `${fallback} ${c.slice(0, 12)}`;
    };
    const what = `git finds no common ancestor of ${named(base, 'the base commit')} and ${named(head, 'commit')}, so connops cannot tell which changes are this branch's${why ? ` (git: ${why})` : ''}.`;
    const fix = shallow
      ? ' This is a shallow clone: the history where they meet was not fetched. Run `git fetch --unshallow` (or `git fetch --deepen=200 origin`), or in GitHub Actions use actions/checkout with `fetch-depth: 0`, then run again.'
      : ' They share no history: pass the branch this one was cut from (e.g. `--changed-since origin/main`), or leave out --changed-since to plan every document.';
    throw new ConnopsError('GIT', `${what}${fix}`);
  }

  /** Files (with sizes) under `dir` (root-relative; '' for all) at a commit. */
  async listFilesAt(rev: string, dir: string): Promise<TreeEntry[]> {
    const args = ['ls-tree', '-r', '-l', '-z', '--full-tree', rev];
    if (dir !== '') args.push('--', dir);
    const out = await raw(this.git, args, `list files at ${rev}`);
    const entries: TreeEntry[] = [];
    for (const rec of out.split('\0')) {
      // "<mode> SP <type> SP <object> SP+ <size> TAB <path>"
      const tab = rec.indexOf('\t');
      if (tab < 0) continue;
      const fields = rec.slice(0, tab).split(/ +/);
      if (fields[1] !== 'blob') continue;
      if (fields[0] !== SYMLINK_MODE) this.plainFiles.add(`${rev}:${rec.slice(tab + 1)}`);
      entries.push({ path: rec.slice(tab + 1), size: Number(fields[3]) });
    }
    return entries.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  }

  /** A file's text at a commit, refusing files over `maxBytes` like the working-tree reader. */
  async readFileAt(rev: string, path: string, maxBytes = MAX_FILE_BYTES): Promise<ReadResult> {
    const target = await this.followLinks(rev, path);
    if (typeof target !== 'string') return target;
    const spec = `${rev}:${target}`;
    let size: number;
    try {
      size = Number((await this.git.raw(['cat-file', '-s', spec])).trim());
    } catch (err) {
      if (isNoBinary(err)) throw noBinary(err);
      return { ok: false, reason: `file not found at ${rev.slice(0, 12)}` };
    }
    if (!Number.isFinite(size) || size > maxBytes)
      return {
        ok: false,
        reason: `file is ${(size / 1048576).toFixed(1)} MiB; connops reads document files up to ${maxBytes / 1048576} MiB (split it into several files)`,
      };
    const text = await raw(this.git, ['cat-file', 'blob', spec], `read ${path} at ${rev}`);
    return { ok: true, text };
  }

  /**
   * Where `path` leads at `rev` once symlinks are followed, the way the
   * working-tree reader follows them (readDocumentFileSync in files.ts): a
   * link to a file inside the repository reads that file; a link leaving the
   * repository, dangling, looping or naming a directory is a reason naming it.
   */
  private async followLinks(rev: string, path: string): Promise<string | ReadResult> {
    let at = path;
    const seen = new Set<string>();
    for (;;) {
      const known = this.plainFiles.has(`${rev}:${at}`);
      const entry = known ? { mode: '100644', type: 'blob' } : await this.entryAt(rev, at);
      if (!entry)
        return at === path
          ? at // not there at all: the read below says "file not found"
          : {
              ok: false,
              reason: `symlink to a missing file (${at} is not in commit ${rev.slice(0, 12)}); fix or remove the link`,
            };
      if (entry.type === 'tree')
        return { ok: false, reason: 'symlink to a directory; point documents at its files' };
      if (entry.mode !== SYMLINK_MODE) return at;
      if (seen.has(at) || seen.size > 40)
        return {
          ok: false,
          reason: 'symlink loop: following this link comes back to it; point it at a document file',
        };
      seen.add(at);
      const link = await raw(this.git, ['cat-file', 'blob', `${rev}:${at}`], `read the link ${at}`);
      const next = posix.normalize(posix.join(posix.dirname(at), link));
      if (posix.isAbsolute(link) || next === '..' || next.startsWith('../'))
        return {
          ok: false,
          reason: `symlink leads outside the repository (to ${link}); connops reads only files the repository holds, so copy the file in or point the link inside`,
        };
      at = next;
    }
  }

  /** Mode and type of one path at a commit, or undefined when the commit has no such path. */
  private async entryAt(
    rev: string,
    path: string,
  ): Promise<{ mode: string; type: string } | undefined> {
    const out = await raw(
      this.git,
      ['ls-tree', '-z', '--full-tree', rev, '--', path],
      `look up ${path} at ${rev}`,
    );
    const rec = out.split('\0')[0] ?? '';
    const tab = rec.indexOf('\t');
    if (tab < 0 || rec.slice(tab + 1) !== path) return undefined;
    const [mode, type] = rec.slice(0, tab).split(' ');
    return mode !== undefined && type !== undefined ? { mode, type } : undefined;
  }

  /**
   * Files changed between `from` and `to` (a commit), or between `from` and the
   * working tree (committed and uncommitted changes, plus untracked files) when
   * `to` is undefined. Renames are detected (`-M`), so a moved file is one
   * change with both paths.
   */
  async changedFiles(from: string, to?: string): Promise<FileChange[]> {
    const args = ['diff', '--name-status', '-M', '-z', '--no-ext-diff', '--end-of-options', from];
    if (to !== undefined) args.push(to);
    args.push('--');
    const out = await raw(this.git, args, `compare with ${from}`);
    const changes = parseNameStatus(out);
    if (to === undefined) {
      const untracked = await raw(
        this.git,
        ['ls-files', '--others', '--exclude-standard', '-z', '--full-name'],
        'list untracked files',
      );
      for (const p of untracked.split('\0'))
        if (p !== '') changes.push({ status: 'added', path: p });
    }
    return changes;
  }
}

/** Parses `git diff --name-status -z` output. */
export function parseNameStatus(out: string): FileChange[] {
  const parts = out.split('\0');
  const changes: FileChange[] = [];
  let i = 0;
  while (i < parts.length) {
    const status = parts[i] ?? '';
    if (status === '') {
      i++;
      continue;
    }
    const letter = status[0];
    if (letter === 'R' || letter === 'C') {
      const from = parts[i + 1] ?? '';
      const path = parts[i + 2] ?? '';
      // A copy leaves the source in place: only the new path changed.
      changes.push(letter === 'R' ? { status: 'renamed', path, from } : { status: 'added', path });
      i += 3;
      continue;
    }
    const path = parts[i + 1] ?? '';
    i += 2;
    if (letter === 'A') changes.push({ status: 'added', path });
    else if (letter === 'D') changes.push({ status: 'deleted', path });
    else changes.push({ status: 'modified', path }); // M, T (type change), U (unmerged)
  }
  return changes;
}

/**
 * `{ commit, dirty }` for a plan made from the working tree in `dir`, or
 * undefined when `dir` is in no repository, git is missing or HEAD has no
 * commit yet: recording it is a courtesy, never a reason to fail a run.
 */
export async function readGitMeta(
  dir: string,
  env: Env,
): Promise<{ commit: string; dirty: boolean } | undefined> {
  try {
    const repo = await GitRepo.find(dir, env);
    if (!repo) return undefined;
    const rel = await repo.relativePath(dir);
    const [commit, dirty] = await Promise.all([
      repo.headCommit(),
      repo.isDirty(rel === '' ? [] : [rel]),
    ]);
    return { commit, dirty };
  } catch {
    return undefined;
  }
}
