// Process entry of the bundled Action (dist/action.js): the exit code is the step's result.
import { runAction } from './main.ts';

// A copy: each read of process.env asks the C library, which scans every variable.
process.exitCode = await runAction({ ...process.env });
