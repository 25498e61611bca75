// Process entry of the bundled Action (dist/action.js): the exit code is the step's result.
import { runAction } from './main.ts';

process.exitCode = await runAction(process.env);
