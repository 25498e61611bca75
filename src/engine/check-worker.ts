/**
 * A worker thread of check-threads.ts: parses the config again, takes batches
 * of files from the shared counter and reads and checks them (step 1), then,
 * told which scopes are spread over several batches, runs the checks across
 * documents for the others and sends back the documents of those (step 2).
 * Built as its own bundle (dist/check-worker.js) beside the CLI and the Action.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseConfig } from '../core/config.ts';
import { tableBuffers } from '../core/target-unique.ts';
import type { Diagnostic } from '../core/model.ts';
import type { EnvLookup } from '../core/yaml.ts';
import { PROVIDERS, targetTypes } from '../providers/registry.ts';
import {
  checkBatch,
  checkHeld,
  takeBatch,
  wireTable,
  type AcrossRequest,
  type CheckJob,
  type Held,
  type WorkerMessage,
} from './check-threads.ts';

function main(port: NonNullable<typeof parentPort>, job: CheckJob): void {
  const env: EnvLookup = (name) => job.env[name];
  const { config } = parseConfig(
    job.configShown,
    job.configDir,
    job.configText,
    env,
    targetTypes(PROVIDERS),
  );
  // The main thread parsed the same text into a config, or it would not have started us.
  /* v8 ignore next -- @preserve: a bug guard */
  if (!config) throw new Error('the config did not parse in the worker');
  const held: Held[] = [];
  const scopeChecks = new Map<string, Diagnostic[]>();
  const counter = new Int32Array(job.counter);
  for (let b = takeBatch(counter, job.batchStarts.length); b !== -1;) {
    const files = checkBatch(job, b, config, PROVIDERS, env, held, scopeChecks);
    port.postMessage({ type: 'batch', batch: b, files } satisfies WorkerMessage);
    b = takeBatch(counter, job.batchStarts.length);
  }
  port.postMessage({ type: 'checked' } satisfies WorkerMessage);
  port.once('message', (request: AcrossRequest) => {
    const done = checkHeld(held, new Set(request.shared), PROVIDERS, scopeChecks);
    const shared = done.shared.map(({ file, doc: { locate: _locate, ...doc } }) => ({ file, doc }));
    const fileOf = new Map(held.map((h) => [h.doc, h.file]));
    const unique = wireTable(done.unique, fileOf);
    // The table's typed arrays are transferred, not copied: the estate's DIDs, as numbers.
    port.postMessage(
      {
        type: 'across',
        diagnostics: done.diagnostics,
        shared,
        unique,
      } satisfies WorkerMessage,
      tableBuffers(unique),
    );
    port.close();
  });
}

if (parentPort) main(parentPort, workerData as CheckJob);
