// esbuild options every bundle of connops shares: dist/ (scripts/build.mjs), the
// benchmark's scenario runner and the tests that run the CLI as shipped.
export const BUNDLE_OPTIONS = {
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
