/**
 * Reads and checks a large repository's files in several threads (`validate`
 * of the working tree), with exactly the diagnostics one thread gives.
 *
 * 1. The files are cut into batches; the main thread and the worker threads
 *    take batches from one shared counter until none is left, each reading,
 *    parsing and checking its files (handing 30 MB of text to a worker would
 *    cost the main thread ~60 ms and the worker ~150 ms before it could start).
 *    A worker reports each file's own diagnostics and the scopes (target and
 *    account) of its documents, and keeps the documents.
 * 2. The checks across documents relate documents of one scope only
 *    (Provider.checkAll). A scope whose documents all lie in one batch is
 *    checked by the thread that has them; the documents of scopes spread over
 *    several batches (rare: files usually follow accounts) come to the main
 *    thread, which checks them in file order. So the 775,000 DIDs of the bench
 *    estate never cross threads.
 *
 * Only checks that let the specs go run here: a plan needs the parsed documents
 * on the main thread, and copying them across (structured clone or JSON) cost
 * more than parsing them (measured on the bench estate; see the issue notes).
 *
 * A worker's documents come back without their position lookup (a closure); it
 * is rebuilt on the main thread, by reading and parsing the file again, only
 * when a check asks for a position. A worker that cannot start or fails costs
 * only time: the main thread checks again every batch that worker took.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  checkFile,
  checkScopes,
  sortDiagnostics,
  unreadable,
  type DesiredState,
} from '../core/documents.ts';
import {
  scopeOf,
  type CheckedDocument,
  type Config,
  type Diagnostic,
  type Locator,
} from '../core/model.ts';
import {
  findTargetDuplicates,
  orderOf,
  uniqueTableOf,
  type UniqueTable,
} from '../core/target-unique.ts';
import { parseYamlFile, type EnvLookup } from '../core/yaml.ts';
import { readDocumentFileSync } from '../io/files.ts';
import type { Provider } from '../providers/types.ts';

/** A document file: where to read it, and how messages name it. */
export interface FilePath {
  readonly full: string;
  readonly shown: string;
}

/** What a worker needs: the config to parse again, the files, the batches. */
export interface CheckJob {
  readonly configShown: string;
  readonly configDir: string;
  readonly configText: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `validate`'s offline checks (see LoadOptions.offline). */
  readonly offline?: boolean;
  readonly files: readonly FilePath[];
  /** Index of each batch's first file; a batch ends where the next begins. */
  readonly batchStarts: readonly number[];
  /** One Int32: the next batch to take (shared by every thread). */
  readonly counter: SharedArrayBuffer;
}

/** One file's own results, as a worker reports them in step 1. */
export interface FileSummary {
  readonly diagnostics: Diagnostic[];
  readonly secrets: string[];
  /** Scope of each document that passed its own checks, in order. */
  readonly scopes: string[];
}

/** A checked document as it crosses threads: without its position lookup, with its file's index. */
export interface WireChecked {
  readonly file: number;
  readonly doc: Omit<CheckedDocument, 'locate'>;
}

/** Worker → main thread. */
export type WorkerMessage =
  | { readonly type: 'batch'; readonly batch: number; readonly files: FileSummary[] }
  | { readonly type: 'checked' }
  | {
      readonly type: 'across';
      readonly diagnostics: Diagnostic[];
      /** Documents of scopes spread over several batches. */
      readonly shared: WireChecked[];
      /** The target-wide values of the other documents (their buffers transferred, not copied). */
      readonly unique: UniqueTable<WireUniqueDoc>;
    };

/** A document a worker's target-wide table names: enough to position and name a duplicate. */
export interface WireUniqueDoc {
  readonly file: number;
  readonly key: CheckedDocument['key'];
  readonly id?: string;
  readonly source: CheckedDocument['source'];
  readonly index: number;
}

/** Main thread → worker, after step 1: the scopes spread over several batches. */
export interface AcrossRequest {
  readonly shared: readonly string[];
}

/** A checked document and the index of its file. */
export interface Held {
  readonly file: number;
  readonly doc: CheckedDocument;
}

export interface ThreadedCheck {
  readonly state: DesiredState;
  /** Per file (in the job's order), the scope of each of its documents that passed its own checks. */
  readonly fileScopes: ReadonlyArray<readonly string[]>;
  /** Threads that checked at least one batch. */
  readonly threads: number;
  /** Why a worker did not help (it could not start, or failed); the checks are complete regardless. */
  readonly problems: string[];
}

/** Takes the next batch from the shared counter, or -1 when none is left. */
export function takeBatch(counter: Int32Array, batches: number): number {
  const b = Atomics.add(counter, 0, 1);
  return b < batches ? b : -1;
}

/** Files of a batch: [start, end). */
export function batchRange(
  job: Pick<CheckJob, 'batchStarts' | 'files' | 'offline'>,
  b: number,
): [number, number] {
  return [job.batchStarts[b] as number, job.batchStarts[b + 1] ?? job.files.length];
}

/**
 * Reads and checks the files of batch `b` (specs are not kept): each file's
 * summary, and its checked documents pushed onto `held`.
 */
export function checkBatch(
  job: Pick<CheckJob, 'batchStarts' | 'files' | 'offline'>,
  b: number,
  config: Config,
  providers: ReadonlyMap<string, Provider>,
  env: EnvLookup,
  held: Held[],
  scopeChecks?: Map<string, Diagnostic[]>,
): FileSummary[] {
  const [start, end] = batchRange(job, b);
  const out: FileSummary[] = [];
  const from = held.length;
  for (let file = start; file < end; file++) {
    const path = job.files[file] as FilePath;
    const read = readDocumentFileSync(path.full);
    if (!read.ok) {
      out.push({ diagnostics: [unreadable(path.shown, read.reason)], secrets: [], scopes: [] });
      continue;
    }
    const c = checkFile({ path: path.shown, text: read.text }, config, providers, env, false, {
      offline: job.offline === true,
    });
    for (const doc of c.checked) held.push({ file, doc });
    out.push({
      diagnostics: c.diagnostics,
      secrets: c.secrets,
      scopes: c.checked.map((d) => scopeOf(d.key)),
    });
  }
  if (scopeChecks) checkBatchScopes(held.slice(from), providers, scopeChecks);
  return out;
}

/**
 * The checks across documents of each scope of one batch, while the threads
 * still share the batches out (step 1) rather than after the last file: a
 * scope that turns out to lie in other batches too is left out in step 2 and
 * checked on the main thread with all its documents, so only whole scopes'
 * results are ever used. (Sorted by position later, per-scope results give
 * the diagnostics of one pass over everything: two at one position belong to
 * one document, hence one scope.)
 */
function checkBatchScopes(
  held: readonly Held[],
  providers: ReadonlyMap<string, Provider>,
  into: Map<string, Diagnostic[]>,
): void {
  const byScope = new Map<string, CheckedDocument[]>();
  for (const h of inFileOrder(held)) {
    const k = scopeOf(h.doc.key);
    const list = byScope.get(k);
    if (list) list.push(h.doc);
    else byScope.set(k, [h.doc]);
  }
  for (const [k, docs] of byScope) into.set(k, checkScopes(docs, providers));
}

/**
 * Step 2 for the documents one thread holds: the checks inside every scope not
 * in `shared` (in file order), the table of their target-wide values
 * (core/target-unique.ts), and the documents of the other scopes.
 */
export function checkHeld(
  held: readonly Held[],
  shared: ReadonlySet<string>,
  providers: ReadonlyMap<string, Provider>,
  scopeChecks?: ReadonlyMap<string, Diagnostic[]>,
): { diagnostics: Diagnostic[]; shared: Held[]; unique: UniqueTable<Held['doc']> } {
  const local: Held[] = [];
  const spread: Held[] = [];
  for (const h of inFileOrder(held)) {
    if (shared.has(scopeOf(h.doc.key))) spread.push(h);
    else local.push(h);
  }
  // Each local scope lies in one batch, so the batch's own check of it (step 1) is
  // whole; scopes without one (documents checked again after a worker failed) are checked here.
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  const missing: CheckedDocument[] = [];
  for (const h of local) {
    const k = scopeOf(h.doc.key);
    const done = scopeChecks?.get(k);
    if (!done) missing.push(h.doc);
    else if (!seen.has(k)) {
      seen.add(k);
      diagnostics.push(...done);
    }
  }
  if (missing.length > 0) diagnostics.push(...checkScopes(missing, providers));
  return { diagnostics, shared: spread, unique: uniqueOfHeld(local, providers) };
}

/** The target-wide table of held documents (whole scopes), ordered by file and place in it. */
export function uniqueOfHeld(
  held: readonly Held[],
  providers: ReadonlyMap<string, Provider>,
): UniqueTable<CheckedDocument> {
  return uniqueTableOf(
    held.map((h) => ({ order: orderOf(h.file, h.doc.index), doc: h.doc })),
    providers,
  );
}

/** A worker's table as it crosses to the main thread: documents without their facts or lookup. */
export function wireTable(
  table: UniqueTable<CheckedDocument>,
  fileOf: ReadonlyMap<CheckedDocument, number>,
): UniqueTable<WireUniqueDoc> {
  return {
    columns: table.columns,
    docs: table.docs.map(({ order, doc }) => ({
      order,
      doc: {
        file: fileOf.get(doc) as number,
        key: doc.key,
        ...(doc.id !== undefined ? { id: doc.id } : {}),
        source: doc.source,
        index: doc.index,
      },
    })),
  };
}

function inFileOrder<T extends { file: number; doc: { index: number } }>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => a.file - b.file || a.doc.index - b.doc.index);
}

/** How to start a worker: a module file, or (`eval`) CommonJS code that loads one. */
export interface WorkerScript {
  readonly entry: URL | string;
  readonly eval: boolean;
}

/**
 * The worker: beside the bundle (dist/check-worker.js), or under the tests and
 * `npm run demo` the TypeScript source, loaded through tsx (Node 20 does not
 * apply `--import` loaders to a worker's entry, so the worker registers tsx itself).
 */
export function workerScript(): WorkerScript | undefined {
  const built = new URL('./check-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return { entry: built, eval: false };
  const source = new URL('./check-worker.ts', import.meta.url);
  if (!existsSync(fileURLToPath(source))) return undefined;
  try {
    const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
    const tsx = pathToFileURL(join(dirname(pkg), 'dist', 'esm', 'api', 'index.mjs')).href;
    const entry = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source.href)}); });`;
    return { entry, eval: true };
  } catch {
    return undefined;
  }
}

/**
 * Reads and checks `job.files` in `threads` threads (this one included).
 * @param config the config this thread parsed (workers parse `job.configText` again)
 * @param options.filesPerBatch batch size (the default gives each thread many batches, so they finish together)
 * @param options.mainBatches most batches this thread takes in step 1 (default: no limit); tests
 *   set it so that who checks what does not depend on timing
 * @param options.script another worker script (tests: one that fails)
 */
export async function checkFilesInThreads(
  job: Omit<CheckJob, 'counter' | 'batchStarts'>,
  config: Config,
  providers: ReadonlyMap<string, Provider>,
  threads: number,
  options: {
    readonly filesPerBatch?: number;
    readonly mainBatches?: number;
    readonly script?: WorkerScript;
  } = {},
): Promise<ThreadedCheck> {
  const filesPerBatch =
    options.filesPerBatch ??
    Math.max(1, Math.ceil(job.files.length / (threads * BATCHES_PER_THREAD)));
  const batchStarts: number[] = [];
  for (let i = 0; i < job.files.length; i += filesPerBatch) batchStarts.push(i);
  const full: CheckJob = { ...job, counter: new SharedArrayBuffer(4), batchStarts };
  const env: EnvLookup = (name) => job.env[name];
  const summaries = new Array<FileSummary | undefined>(job.files.length);
  const problems: string[] = [];
  const script = options.script ?? workerScript();
  if (!script) problems.push('the worker script (check-worker.js) is not beside connops');
  const workers = script
    ? Array.from({ length: threads - 1 }, () => new CheckWorker(script, full, problems))
    : [];

  // A failure here (a bug: user mistakes are diagnostics) must not leave a worker
  // waiting for step 2, which would keep the process from exiting.
  try {
    // Step 1 on this thread, then the batches no worker reported (a worker failed).
    const held: Held[] = [];
    const scopeChecks = new Map<string, Diagnostic[]>();
    const mine = new Set<number>();
    const checkHere = (b: number): void => {
      const [start] = batchRange(full, b);
      checkBatch(full, b, config, providers, env, held, scopeChecks).forEach((s, i) => {
        summaries[start + i] = s;
      });
      mine.add(b);
    };
    const counter = new Int32Array(full.counter);
    const limit = options.mainBatches ?? Infinity;
    const takeHere = (): number =>
      mine.size < limit ? takeBatch(counter, batchStarts.length) : -1;
    for (let b = takeHere(); b !== -1;) {
      checkHere(b);
      b = takeHere();
    }
    await Promise.all(workers.map((w) => w.checked));
    const helping = workers.filter((w) => w.alive && w.batches.length > 0);
    for (const w of helping) {
      for (const { batch, files } of w.batches) {
        const [start] = batchRange(full, batch);
        files.forEach((s, i) => {
          summaries[start + i] = s;
        });
      }
    }
    const theirs = new Set(helping.flatMap((w) => w.batches.map((b) => b.batch)));
    for (let b = 0; b < batchStarts.length; b++) if (!mine.has(b) && !theirs.has(b)) checkHere(b);

    // Step 2: scopes spread over several batches go to this thread.
    const shared = sharedScopes(full, summaries as FileSummary[]);
    const sharedSet = new Set(shared);
    const answers = helping.map((w) => w.across(shared));
    const here = checkHeld(held, sharedSet, providers, scopeChecks);
    const diagnostics = (summaries as FileSummary[]).flatMap((s) => s.diagnostics);
    diagnostics.push(...here.diagnostics);
    const tables: UniqueTable[] = [here.unique];
    const spread: Held[] = [...here.shared];
    const locate = relocator(job.files, env);
    for (const [i, answer] of (await Promise.all(answers)).entries()) {
      if (answer) {
        diagnostics.push(...answer.diagnostics);
        for (const { file, doc } of answer.shared)
          spread.push({ file, doc: { ...doc, locate: locate(file, doc) } });
        tables.push({
          columns: answer.unique.columns,
          docs: answer.unique.docs.map(({ order, doc: { file, ...doc } }) => ({
            order,
            doc: { ...doc, facts: undefined, locate: locate(file, doc) },
          })),
        });
        continue;
      }
      // The worker failed after step 1: its documents are gone, so read them again here
      // (the files' own diagnostics are in already).
      const again: Held[] = [];
      for (const { batch } of (helping[i] as CheckWorker).batches)
        checkBatch(full, batch, config, providers, env, again);
      const redo = checkHeld(again, sharedSet, providers);
      diagnostics.push(...redo.diagnostics);
      spread.push(...redo.shared);
      tables.push(redo.unique);
    }
    const spreadDocs = inFileOrder(spread);
    diagnostics.push(
      ...checkScopes(
        spreadDocs.map((h) => h.doc),
        providers,
      ),
    );
    // Values unique in a whole target, over every holder's table (a DID in two
    // accounts whose documents are on different threads).
    tables.push(uniqueOfHeld(spreadDocs, providers));
    diagnostics.push(...findTargetDuplicates(tables, providers));
    const all = summaries as FileSummary[];
    return {
      state: {
        documents: [],
        count: all.reduce((n, s) => n + s.scopes.length, 0),
        diagnostics: sortDiagnostics(diagnostics),
        secrets: all.flatMap((s) => s.secrets),
      },
      fileScopes: all.map((s) => s.scopes),
      threads: (mine.size > 0 ? 1 : 0) + helping.length,
      problems,
    };
  } finally {
    for (const w of workers) w.stop();
  }
}

/** Scopes whose documents lie in more than one batch. */
function sharedScopes(job: CheckJob, summaries: readonly FileSummary[]): string[] {
  const batchOf = new Map<string, number>();
  const shared = new Set<string>();
  for (let b = 0; b < job.batchStarts.length; b++) {
    const [start, end] = batchRange(job, b);
    for (let file = start; file < end; file++) {
      for (const scope of (summaries[file] as FileSummary).scopes) {
        const first = batchOf.get(scope);
        if (first === undefined) batchOf.set(scope, b);
        else if (first !== b) shared.add(scope);
      }
    }
  }
  return [...shared];
}

/** One worker thread, seen from the main thread. */
class CheckWorker {
  /** Batches reported in step 1. */
  readonly batches: Array<{ batch: number; files: FileSummary[] }> = [];
  /** Resolves at the end of step 1, or when the worker fails (never rejects). */
  readonly checked: Promise<void>;
  alive = true;
  #worker: Worker | undefined;
  #onAcross: ((m: Extract<WorkerMessage, { type: 'across' }> | undefined) => void) | undefined;

  constructor(script: WorkerScript, job: CheckJob, problems: string[]) {
    this.checked = new Promise((resolve) => {
      const fail = (problem: string): void => {
        if (!this.alive) return;
        this.alive = false;
        problems.push(problem);
        this.stop();
        resolve();
        this.#onAcross?.(undefined);
      };
      try {
        this.#worker = new Worker(script.entry, {
          eval: script.eval,
          workerData: job,
          stdin: false,
        });
      } catch (err) {
        fail(`a worker thread could not start: ${(err as Error).message}`);
        return;
      }
      this.#worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'batch') this.batches.push({ batch: m.batch, files: m.files });
        else if (m.type === 'checked') resolve();
        else {
          // The answer to step 2 is the worker's last word: its exit is no failure.
          this.stop();
          this.#onAcross?.(m);
        }
      });
      this.#worker.on('error', (err) => fail(`a worker thread failed: ${err.message}`));
      this.#worker.on('exit', (code) => fail(`a worker thread stopped (exit ${code}) early`));
    });
  }

  /** Step 2: resolves with the worker's answer, or undefined when it failed. */
  across(
    shared: readonly string[],
  ): Promise<Extract<WorkerMessage, { type: 'across' }> | undefined> {
    return new Promise((resolve) => {
      if (!this.alive) return resolve(undefined);
      this.#onAcross = resolve;
      this.#worker?.postMessage({ shared } satisfies AcrossRequest);
    });
  }

  stop(): void {
    const w = this.#worker;
    this.#worker = undefined;
    if (w) {
      w.removeAllListeners('exit');
      void w.terminate();
    }
  }
}

/**
 * Position lookups for documents checked in a worker: the file is read and
 * parsed again on first use. Should the file have changed meanwhile, positions
 * fall back to where the document starts.
 */
function relocator(
  files: readonly FilePath[],
  env: EnvLookup,
): (file: number, doc: Pick<CheckedDocument, 'source' | 'index'>) => Locator {
  const parsed = new Map<number, ReturnType<typeof parseYamlFile> | undefined>();
  const reparse = (file: number): ReturnType<typeof parseYamlFile> | undefined => {
    if (!parsed.has(file)) {
      const f = files[file] as FilePath;
      const read = readDocumentFileSync(f.full);
      parsed.set(file, read.ok ? parseYamlFile(f.shown, read.text, env) : undefined);
    }
    return parsed.get(file);
  };
  return (file, doc) => {
    const real = (): Locator | undefined => reparse(file)?.documents[doc.index]?.locate;
    return {
      value: (pointer) => real()?.value(pointer) ?? doc.source,
      key: (pointer) => real()?.key(pointer) ?? doc.source,
    };
  };
}

/** Batches per thread: enough that the last ones even out the threads' finishing times. */
const BATCHES_PER_THREAD = 24;
