/**
 * The git-aware inputs of a run (`--ref`, `--changed-since`): a FileSource
 * reading a commit without checking it out, the keys of documents changed since
 * a revision, the keys of documents deleted since then, and `meta.git`.
 *
 * `--changed-since` works on whole files (see src/core/changed.ts): documents
 * have no stable per-document identity in git, so every document of a changed
 * file is planned, and a document is "deleted" when an old version of a changed
 * or deleted file declared its key and no new version does.
 */
import { dirname, join, relative } from 'node:path';
import { diffDocumentKeys, documentKeysOf } from '../core/changed.ts';
import { parseConfig } from '../core/config.ts';
import type { Config, DocumentKey } from '../core/model.ts';
import type { FileSource } from './load.ts';
import type { GitInputs, ProjectSource } from './project.ts';
import { scopeOf } from './reconcile.ts';
import { PROVIDERS, targetTypes } from '../providers/registry.ts';
import { globToRegExp, readTextFile, type ReadResult } from '../io/files.ts';
import { GitRepo, type FileChange } from '../io/git.ts';

/** Directories the working-tree lister skips; a commit source skips them too. */
const SKIP_SEGMENTS = new Set(['node_modules', '.git', 'dist']);

/** A FileSource over one commit: reads blobs with `git cat-file`, never touching the working tree. */
export function commitSource(repo: GitRepo, commit: string): FileSource {
  return {
    label: `commit ${commit.slice(0, 7)}`,
    async list(dir, globs) {
      const relDir = await repo.relativePath(dir);
      const patterns = globs.map((g) => globToRegExp(g.replace(/^\.\//, '')));
      const out: string[] = [];
      for (const e of await repo.listFilesAt(commit, relDir)) {
        const rel = relDir === '' ? e.path : e.path.slice(relDir.length + 1);
        if (rel.split('/').some((s) => SKIP_SEGMENTS.has(s))) continue;
        if (patterns.some((p) => p.test(rel))) out.push(rel);
      }
      return out.sort();
    },
    async read(path): Promise<ReadResult> {
      return repo.readFileAt(commit, await repo.relativePath(path));
    },
  };
}

export async function resolveGitInputs(run: ProjectSource): Promise<GitInputs> {
  const ref = run.ref;
  const since = run.changedSince;
  const configDir = dirname(run.configPath);
  const why = ref !== undefined ? '--ref' : '--changed-since';
  const repo = await GitRepo.open(configDir, run.env, why);

  const commit = ref !== undefined ? await repo.resolveRef(ref) : undefined;
  const source = commit !== undefined ? commitSource(repo, commit) : undefined;
  const meta =
    commit !== undefined
      ? { commit, dirty: false }
      : {
          commit: await repo.headCommit(),
          dirty: await repo.isDirty([(await repo.relativePath(configDir)) || '.']),
        };
  if (since === undefined) return { ...(source ? { source } : {}), meta };

  const base = await repo.resolveRef(since);
  // Compare with the point the branch left `since` (like `git diff since...HEAD`),
  // so commits that landed on `since` after the branch was cut do not count as
  // this branch's changes.
  const head = commit ?? meta.commit;
  const from = await repo.mergeBase(base, head);
  const changes = await repo.changedFiles(from, commit);

  const read = async (path: string): Promise<ReadResult> =>
    source ? source.read(path) : readTextFile(path);
  const configText = await read(run.configPath);
  if (!configText.ok) return { ...(source ? { source } : {}), meta }; // loadProject reports it
  const env = (name: string): string | undefined => run.env[name];
  const configRel = relative(run.cwd, run.configPath) || run.configPath;
  const config = parseConfig(
    configRel,
    configDir,
    configText.text,
    env,
    targetTypes(PROVIDERS),
  ).config;
  if (!config) return { ...(source ? { source } : {}), meta }; // loadProject reports it

  const configRoot = await repo.relativePath(configDir);
  const configFile = await repo.relativePath(run.configPath);
  const patterns = config.documents.map((g) => globToRegExp(g.replace(/^\.\//, '')));
  /** The config-relative path of a root-relative path when it is a document file. */
  const asDocument = (rootRel: string): string | undefined => {
    if (rootRel === configFile) return undefined;
    const rel =
      configRoot === ''
        ? rootRel
        : rootRel.startsWith(`${configRoot}/`)
          ? rootRel.slice(configRoot.length + 1)
          : undefined;
    if (rel === undefined || rel.split('/').some((s) => SKIP_SEGMENTS.has(s))) return undefined;
    return patterns.some((p) => p.test(rel)) ? rel : undefined;
  };

  const notes: string[] = [];
  const configChanged = changes.some(
    (c) => c.path === configFile || (c.status === 'renamed' && c.from === configFile),
  );
  if (configChanged && run.scope !== 'accounts')
    notes.push(
      `note: ${configRel} changed since ${since}; --changed-since only selects documents in changed files, so run a full plan to see the effect of config changes`,
    );

  const after: DocumentKey[] = [];
  const before: DocumentKey[] = [];
  const keysOf = (shown: string, text: string, cfg: Config): DocumentKey[] =>
    documentKeysOf(shown, text, cfg, PROVIDERS, env);
  await Promise.all(
    changes.map(async (c: FileChange) => {
      const now = c.status === 'deleted' ? undefined : asDocument(c.path);
      if (now !== undefined) {
        const res = await read(join(configDir, now));
        if (res.ok) after.push(...keysOf(now, res.text, config));
      }
      const old = c.status === 'renamed' ? c.from : c.status === 'added' ? undefined : c.path;
      const oldRel = old !== undefined ? asDocument(old) : undefined;
      if (old !== undefined && oldRel !== undefined) {
        const res = await repo.readFileAt(from, old);
        if (res.ok) before.push(...keysOf(oldRel, res.text, config));
      }
    }),
  );
  const diff = diffDocumentKeys(before, after);
  if (run.scope === 'accounts') {
    // Whole accounts: every document of an account a changed file touches (old
    // or new version) is planned, so the plan is complete for those accounts
    // (prune and undeclared objects work as in a full plan). A change to the
    // config (targets, policy) can affect any account: plan everything.
    if (configChanged)
      return {
        ...(source ? { source } : {}),
        meta,
        notes,
        scope: { since, accounts: undefined, why: `${configRel} changed` },
      };
    const accounts = new Set<string>();
    for (const k of [...before, ...after]) accounts.add(scopeOf(k.target, k.account));
    return {
      ...(source ? { source } : {}),
      deleted: diff.deleted,
      meta,
      notes,
      scope: { since, accounts },
    };
  }
  return {
    ...(source ? { source } : {}),
    keys: diff.keys,
    deleted: diff.deleted,
    meta,
    notes,
  };
}
