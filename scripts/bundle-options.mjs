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

/**
 * The check worker (src/engine/check-worker.ts) parses and checks files and never
 * makes a request, so undici (about 1 MB of the bundle, loaded only on the first
 * request) is left out of it: a stub that fails loudly stands in. The worker then
 * starts sooner.
 */
export const NO_HTTP_IN_WORKER = {
  name: 'no-http-in-check-worker',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, (args) => ({ path: args.path, namespace: 'connops-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'connops-stub' }, () => ({
      contents:
        "throw new Error('connops: the check worker makes no requests (undici is not bundled in it)');\n",
      loader: 'js',
    }));
  },
};
