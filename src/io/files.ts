/**
 * File-system reads for the engine: glob expansion of document patterns and
 * size-limited text reads. Globs support `**`, `*`, `?` and `{a,b}`.
 */
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';

/** Largest document file read; bigger files get a diagnostic instead of exhausting memory. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

const SKIP_DIRS = new Set(['node_modules', '.git', 'dist']);

/** Converts a glob to an anchored RegExp over '/'-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let i = 0;
  let inGroup = false;
  while (i < glob.length) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        re += slash ? '(?:.*/)?' : '.*';
        i += slash ? 3 : 2;
        continue;
      }
      re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      re += '(?:';
      inGroup = true;
    } else if (c === '}' && inGroup) {
      re += ')';
      inGroup = false;
    } else if (c === ',' && inGroup) re += '|';
    else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
    i++;
  }
  return new RegExp(`^${re}$`);
}

/** Lists files under `dir` matching any glob, as paths relative to `dir` with '/', sorted. */
export async function listMatchingFiles(dir: string, globs: readonly string[]): Promise<string[]> {
  const patterns = globs.map((g) => globToRegExp(g.replace(/^\.\//, '')));
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(d, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) await walk(full);
      } else if (e.isFile() || (e.isSymbolicLink() && !isDirectory(full))) {
        // A symlinked file is listed like any file, as `git ls-tree` lists it at a
        // commit; reading it (readDocumentFile) follows it or says why not.
        // Symlinked directories are not followed (git does not descend into them either).
        const rel = relative(dir, full).split(sep).join('/');
        if (patterns.some((p) => p.test(rel))) out.push(rel);
      }
    }
  }
  await walk(dir);
  return out.sort();
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // a loop or a dangling link: listed, and reading it reports which
  }
}

export type ReadResult =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

const UTF8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Reads a text file, refusing files over MAX_FILE_BYTES and reporting I/O
 * errors as reasons. The reads themselves are synchronous: a document file is
 * small and read whole, and nothing else runs while documents load, while the
 * promise-based calls cost about four times the main thread's time (1,000 bench
 * files: ~150 ms against ~40 ms).
 */
export async function readTextFile(path: string, maxBytes = MAX_FILE_BYTES): Promise<ReadResult> {
  return readTextFileSync(path, maxBytes);
}

/** readTextFile for a thread that does nothing else meanwhile (see engine/check-threads.ts). */
export function readTextFileSync(path: string, maxBytes = MAX_FILE_BYTES): ReadResult {
  try {
    const s = statSync(path);
    if (s.size > maxBytes) {
      return {
        ok: false,
        reason: `file is ${(s.size / 1048576).toFixed(1)} MiB; connops reads document files up to ${maxBytes / 1048576} MiB (split it into several files)`,
      };
    }
    return { ok: true, text: UTF8.decode(readFileSync(path)) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      ok: false,
      reason:
        code === 'ENOENT'
          ? 'file not found'
          : code === 'EACCES'
            ? 'permission denied'
            : `cannot read file (${code ?? String(err)})`,
    };
  }
}

/**
 * Reads a document file of the working tree. A symlink is followed when it
 * ends inside the repository (the git work tree holding the file, or the
 * file's own directory outside git), so the file reads as it does at a commit
 * with `--ref` (GitRepo.readFileAt follows links the same way). A link that
 * leaves the repository, dangles or loops is a reason naming it, which the
 * loader reports at the file: never a silent skip, never a read of a file the
 * repository does not hold.
 */
export function readDocumentFileSync(path: string, maxBytes = MAX_FILE_BYTES): ReadResult {
  let link = false;
  try {
    link = lstatSync(path).isSymbolicLink();
  } catch {
    // Missing: readTextFileSync reports it.
  }
  if (link) {
    let real: string;
    try {
      real = realpathSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return {
        ok: false,
        reason:
          code === 'ELOOP'
            ? 'symlink loop: following this link comes back to it; point it at a document file'
            : `symlink to a missing file (${linkTarget(path)}); fix or remove the link`,
      };
    }
    const root = repositoryRoot(dirname(path));
    const inside = relative(root, real);
    if (inside.startsWith('..') || isAbsolute(inside))
      return {
        ok: false,
        reason: `symlink leads outside the repository (to ${real}); connops reads only files the repository holds, so copy the file in or point the link inside`,
      };
    if (statSync(real).isDirectory())
      return { ok: false, reason: 'symlink to a directory; point documents at its files' };
  }
  return readTextFileSync(path, maxBytes);
}

export async function readDocumentFile(
  path: string,
  maxBytes = MAX_FILE_BYTES,
): Promise<ReadResult> {
  return readDocumentFileSync(path, maxBytes);
}

function linkTarget(path: string): string {
  try {
    return readlinkSync(path, 'utf8');
  } catch {
    return '?';
  }
}

const roots = new Map<string, string>();

/** The real path of the git work tree containing `dir` (found by its `.git`), or of `dir` itself. */
function repositoryRoot(dir: string): string {
  const cached = roots.get(dir);
  if (cached !== undefined) return cached;
  let real = dir;
  try {
    real = realpathSync(dir);
  } catch {
    // keep dir
  }
  let at = real;
  let root = real;
  for (;;) {
    if (existsSync(join(at, '.git'))) {
      root = at;
      break;
    }
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  roots.set(dir, root);
  return root;
}

/** Total size in bytes of the files that exist among `paths` (the others count 0). */
export function totalFileSize(paths: readonly string[]): number {
  let bytes = 0;
  for (const p of paths) {
    try {
      bytes += statSync(p).size;
    } catch {
      // Reading it will report the problem.
    }
  }
  return bytes;
}
