/**
 * Loads a project: reads the config and the document files (from the working
 * tree or another FileSource such as a git commit) and runs every offline check.
 */
import { dirname, join, relative } from 'node:path';
import { parseConfig } from '../core/config.ts';
import { buildDesiredState, sortDiagnostics, type SourceFile } from '../core/documents.ts';
import type { Config, DesiredDocument, Diagnostic } from '../core/model.ts';
import { listMatchingFiles, readTextFile, type ReadResult } from '../io/files.ts';
import { PROVIDERS, targetTypes } from '../providers/registry.ts';
import { mapInOrder } from './concurrency.ts';
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
  read: (path) => readTextFile(path),
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
  /** Document files read, relative to the config directory. */
  readonly files: string[];
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
      files: [],
    };
  }
  const dir = dirname(options.configPath);
  const parsed = parseConfig(configShown, dir, configText.text, env, targetTypes(providers));
  const diagnostics = [...parsed.diagnostics];
  const secrets = [...parsed.secrets];
  if (!parsed.config) return { documents: [], documentCount: 0, diagnostics, secrets, files: [] };
  const config = parsed.config;

  for (const target of Object.values(config.targets)) {
    for (const provider of providers.values()) {
      if (provider.targetType !== target.type) continue;
      for (const message of provider.checkTarget(target)) {
        diagnostics.push({
          severity: 'error',
          code: 'CONFIG',
          message: `target "${target.name}": ${message}`,
          file: target.source.file,
          line: target.source.line,
          col: target.source.col,
        });
      }
    }
  }

  const rel = await source.list(dir, config.documents);
  const files: SourceFile[] = [];
  const configRel = relative(dir, options.configPath);
  const paths = rel.filter((r) => r !== configRel).map((r) => join(dir, r));
  // Several reads in flight: a source that reads from git waits on it (the working tree reads synchronously).
  const read = await mapInOrder(paths, READS_IN_FLIGHT, (full) => source.read(full));
  for (const [i, full] of paths.entries()) {
    const shown = relative(options.cwd, full) || full;
    const res = read[i] as ReadResult;
    if (res.ok) files.push({ path: shown, text: res.text });
    else
      diagnostics.push({
        severity: 'error',
        code: 'FILE',
        message: res.reason,
        file: shown,
        line: 1,
        col: 1,
      });
  }
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
  const state = buildDesiredState(files, config, providers, env, {
    keepSpecs: options.keepSpecs !== false,
  });
  return {
    config,
    documents: state.documents,
    documentCount: state.count,
    diagnostics: sortDiagnostics([...diagnostics, ...state.diagnostics]),
    secrets: [...secrets, ...state.secrets],
    files: rel.filter((r) => r !== configRel),
  };
}

const READS_IN_FLIGHT = 16;
