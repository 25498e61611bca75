// Runs the CLI from source (tsx): `npx tsx scripts/dev.ts validate`.
import { main } from '../src/cli/entry.ts';

process.exitCode = await main();
