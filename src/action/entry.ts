// Process entry of the bundled Action (dist/action.js): the exit code is the step's result.
import { tuneHeap } from '../io/heap.ts';
import { run } from './main.ts';

tuneHeap();
await run();
