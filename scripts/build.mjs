// Bundles the CLI and the Action into dist/ (ESM, Node 20.19+). The output is
// committed, so the build must be deterministic: no timestamps, no absolute paths.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  legalComments: 'none',
  logLevel: 'warning',
  // Some bundled CJS dependencies call require() for node built-ins.
  banner: {
    js: "import { createRequire as __connopsCreateRequire } from 'node:module';\nconst require = __connopsCreateRequire(import.meta.url);",
  },
};

await build({
  ...common,
  entryPoints: { cli: 'src/cli/entry.ts', action: 'src/action/entry.ts' },
  outdir: 'dist',
});
