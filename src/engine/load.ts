/**
 * Loads a project: reads the config and the document files (from the working
 * tree or another FileSource such as a git commit) and runs every offline check.
 */
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseConfig } from '../core/config.ts';
import {
  checkFile,
  combineFileChecks,
  sortDiagnostics,
  unreadable,
  type DesiredState,
  type FileCheck,
} from '../core/documents.ts';
import {
  scopeOf,
  splitScope,
  type Config,
  type DesiredDocument,
  type Diagnostic,
} from '../core/model.ts';
import {
  listMatchingFiles,
  readDocumentFile,
  readDocumentFileSync,
  totalFileSize,
  type ReadResult,
} from '../io/files.ts';
import { PROVIDERS, targetTypes } from '../providers/registry.ts';
import { checkFilesInThreads } from './check-threads.ts';
import type { Provider } from '../providers/types.ts';

/** Where files come from: the working tree, or a git commit (src/io/git.ts). */
export interface FileSource {
  /** Paths relative to `dir` matching any glob, sorted. */
  list(dir: string, globs: readonly string[]): Promise<string[]>;
  read(path: string): Promise<ReadResult>;
  /** Label for messages, e.g. "working tree" or "commit 1a2b3c4". */
  readonly label: string;
}

export const workingTree: FileSource = {
  list: listMatchingFiles,
  read: (path) => readDocumentFile(path),
  label: 'working tree',
};

export interface LoadOptions {
  readonly configPath: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory paths in messages are relative to (default: process.cwd()). */
  readonly cwd: string;
  readonly source?: FileSource;
  readonly providers?: ReadonlyMap<string, Provider>;
  /** False when only diagnostics are wanted: specs are let go once checked (see buildDesiredState). */
  readonly keepSpecs?: boolean;
  /** Threads that check the files when specs are not kept (default: see `checkThreads`). */
  readonly threads?: number;
  /**
   * Offline checks only (`validate`): an unset `${env:}` variable in a document is
   * a notice unless its value's shape matters there (then an error). Without it
   * every unset variable is an error: its value could not be sent.
   */
  readonly offline?: boolean;
  /**
   * Called once the config is parsed, before any document is read, with the
   * secrets it holds (credentials), so a caller that starts requests early
   * can redact them first.
   */
  readonly onConfig?: (config: Config, secrets: readonly string[]) => void;
  /**
   * Called for each file as soon as it is checked on its own, with the
   * documents that passed and the secrets they hold, while later files are
   * still being read (checks across documents come after the last file).
   * The load yields to the event loop between files, so requests started
   * here make progress meanwhile.
   */
  readonly onFile?: (documents: readonly DesiredDocument[], secrets: readonly string[]) => void;
  /**
   * Only the documents of these (target, account) pairs will be planned (a
   * scoped plan). Every document still gets every offline check, but on a
   * large repository the checks then run in threads (as `validate`'s do), and
   * only the files holding a planned account are parsed again here for their
   * specs. `documents` then holds those files' documents only.
   */
  readonly planned?: (target: string, account: string) => boolean;
}

export interface LoadedProject {
  readonly config?: Config;
  /** The documents that passed their own checks (empty when `keepSpecs` is false). */
  readonly documents: DesiredDocument[];
  /** How many documents passed their own checks. */
  readonly documentCount: number;
  readonly diagnostics: Diagnostic[];
  /** Values from `${env:…}` in config and documents, for redaction. */
  readonly secrets: string[];
  /** Every (target, account) pair a document that passed its own checks declares (`scopeOf`). */
  readonly declared: ReadonlySet<string>;
  /** Document files read, relative to the config directory. */
  readonly files: string[];
  /** Threads that checked the files (1 unless a large repo was validated, see check-threads.ts). */
  readonly threads: number;
  /** Why fewer threads ran than planned (a worker that could not start or failed); the results are complete regardless. */
  readonly threadProblems: string[];
}

export async function loadProject(options: LoadOptions): Promise<LoadedProject> {
  const providers = options.providers ?? PROVIDERS;
  const source = options.source ?? workingTree;
  const env = (name: string): string | undefined => options.env[name];
  const configShown = relative(options.cwd, options.configPath) || options.configPath;
  const configText = await source.read(options.configPath);
  if (!configText.ok) {
    return {
      documents: [],
      documentCount: 0,
      diagnostics: [
        {
          severity: 'error',
          code: 'CONFIG',
          message: `cannot read the config: ${configText.reason} (use --config to point at connops.yaml)`,
          file: configShown,
          line: 1,
          col: 1,
        },
      ],
      secrets: [],
      declared: new Set(),
      files: [],
      threads: 1,
      threadProblems: [],
    };
  }
  const dir = dirname(options.configPath);
  const parsed = parseConfig(configShown, dir, configText.text, env, targetTypes(providers));
  const diagnostics = [...parsed.diagnostics];
  const secrets = [...parsed.secrets];
  if (!parsed.config) {
    const none = {
      documents: [],
      documentCount: 0,
      declared: new Set<string>(),
      files: [],
      threads: 1,
      threadProblems: [],
    };
    return { ...none, diagnostics, secrets };
  }
  const config = parsed.config;
  options.onConfig?.(config, parsed.secrets);

  for (const target of Object.values(config.targets)) {
    for (const provider of providers.values()) {
      if (provider.targetType !== target.type) continue;
      const authUnset = (target.unset ?? []).some((u) => u.setting.startsWith('auth.'));
      for (const problem of provider.checkTarget(target)) {
        // Credentials left out because their variable is unset were reported once, as a notice.
        if (problem.setting === 'auth' && authUnset) continue;
        const at = (problem.setting && target.positions?.[problem.setting]) || target.source;
        diagnostics.push({
          severity: 'error',
          code: 'CONFIG',
          message: `target "${target.name}": ${problem.message}`,
          file: at.file,
          line: at.line,
          col: at.col,
        });
      }
    }
  }

  const rel = await source.list(dir, config.documents);
  const configRel = relative(dir, options.configPath);
  const paths = rel.filter((r) => r !== configRel).map((r) => join(dir, r));
  if (rel.length === 0) {
    diagnostics.push({
      severity: 'warning',
      code: 'NO_DOCUMENTS',
      message: `no files match documents: ${config.documents.join(', ')} (in ${source.label})`,
      file: configShown,
      line: 1,
      col: 1,
    });
  }
  const keepSpecs = options.keepSpecs !== false;
  // Threads read the working tree themselves, and run only the built-in providers
  // (a worker cannot be handed an injected registry).
  const planned = options.planned;
  const threads =
    (keepSpecs && !planned) || source !== workingTree || options.providers
      ? 1
      : (options.threads ?? checkThreads(paths, options.env, configShown, diagnostics));
  const shown = (full: string): string => relative(options.cwd, full) || full;
  let state: DesiredState;
  let threadsUsed = 1;
  const declared = new Set<string>();
  const threadProblems: string[] = [];
  if (threads > 1) {
    const job = {
      configShown,
      configDir: dir,
      configText: configText.text,
      env: options.env,
      ...(options.offline ? { offline: true } : {}),
      files: paths.map((full) => ({ full, shown: shown(full) })),
    };
    const done = await checkFilesInThreads(job, config, providers, threads);
    state = done.state;
    threadsUsed = done.threads;
    threadProblems.push(...done.problems);
    for (const scopes of done.fileScopes) for (const sc of scopes) declared.add(sc);
    if (keepSpecs && planned) {
      const documents: DesiredDocument[] = [];
      const more: Diagnostic[] = [];
      done.fileScopes.forEach((scopes, i) => {
        const full = paths[i];
        if (full === undefined || !scopes.some((sc) => planned(...splitScope(sc)))) return;
        const again = readDocumentFileSync(full);
        // A file that changed since the threads read it must pass its checks again.
        const check = again.ok
          ? checkFile({ path: shown(full), text: again.text }, config, providers, env, true)
          : { diagnostics: [unreadable(shown(full), again.reason)], documents: [] };
        more.push(...check.diagnostics.filter((d) => d.severity === 'error'));
        documents.push(...check.documents);
      });
      // Errors already reported by the threads are not repeated.
      const key = (d: Diagnostic): string => `${d.file}:${d.line}:${d.col}:${d.code}:${d.message}`;
      const seen = new Set(state.diagnostics.map(key));
      more.splice(0, more.length, ...more.filter((d) => !seen.has(key(d))));
      state = {
        ...state,
        documents,
        diagnostics:
          more.length > 0 ? sortDiagnostics([...state.diagnostics, ...more]) : state.diagnostics,
      };
    }
  } else {
    const checks: FileCheck[] = [];
    const offline = { offline: options.offline === true };
    // Several reads in flight (a source that reads from git waits on it; the
    // working tree reads synchronously), each file checked in order as it arrives.
    const reads: Array<Promise<ReadResult>> = [];
    const start = (i: number): void => {
      const full = paths[i];
      if (full !== undefined) reads[i] = source.read(full);
    };
    for (let i = 0; i < Math.min(READS_IN_FLIGHT, paths.length); i++) start(i);
    for (const [i, full] of paths.entries()) {
      const res = await (reads[i] as Promise<ReadResult>);
      delete reads[i];
      start(i + READS_IN_FLIGHT);
      if (!res.ok) {
        diagnostics.push(unreadable(shown(full), res.reason));
        continue;
      }
      // The working tree can be read again if a check across documents needs a position.
      const reread =
        source === workingTree
          ? () => {
              const again = readDocumentFileSync(full);
              return again.ok ? again.text : undefined;
            }
          : undefined;
      const check = checkFile(
        { path: shown(full), text: res.text, ...(reread ? { reread } : {}) },
        config,
        providers,
        env,
        keepSpecs,
        offline,
      );
      checks.push(check);
      if (options.onFile) {
        options.onFile(check.documents, check.secrets);
        // Let responses to requests started for earlier files be handled.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    state = combineFileChecks(checks, providers);
    for (const c of checks) for (const d of c.checked) declared.add(scopeOf(d.key));
  }
  return {
    config,
    documents: state.documents,
    documentCount: state.count,
    diagnostics: sortDiagnostics([...diagnostics, ...state.diagnostics]),
    secrets: [...secrets, ...state.secrets],
    declared,
    files: rel.filter((r) => r !== configRel),
    threads: threadsUsed,
    threadProblems,
  };
}

const READS_IN_FLIGHT = 16;

/** Below this much YAML one thread is quicker: starting a worker costs about as much as checking it. */
export const THREADS_MIN_BYTES = 4 << 20;
const MAX_THREADS = 4;

/**
 * How many threads check the files: `CONNOPS_THREADS` when set (1 turns threads
 * off), else one per core up to MAX_THREADS for a repo of THREADS_MIN_BYTES or more.
 */
export function checkThreads(
  paths: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  configShown: string,
  diagnostics: Diagnostic[],
): number {
  const raw = env['CONNOPS_THREADS'];
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 1 && n <= 16) return n;
    diagnostics.push({
      severity: 'warning',
      code: 'CONNOPS_THREADS',
      message: `CONNOPS_THREADS is "${raw}": it must be a whole number from 1 to 16 (1 checks in one thread); using the default`,
      file: configShown,
      line: 1,
      col: 1,
    });
  }
  return paths.length > 1 && totalFileSize(paths) >= THREADS_MIN_BYTES
    ? Math.min(availableParallelism(), MAX_THREADS)
    : 1;
}
