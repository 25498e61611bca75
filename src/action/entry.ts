// Process entry of the bundled Action (dist/action.js): the exit code is the step's result.
import { tuneHeap } from '../io/heap.ts';
import { onStopSignal } from '../io/signals.ts';
import { runAction, toolkitCore } from './main.ts';

tuneHeap();
// A copy: each read of process.env asks the C library, which scans every variable.
process.exitCode = await runAction({ ...process.env }, { core: toolkitCore(), onStopSignal });
