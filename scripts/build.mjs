// Bundles the CLI and the Action into dist/ (ESM, Node 20.19+). The output is
// committed, so the build must be deterministic: no timestamps, no absolute paths.
import { build } from 'esbuild';
import { BUNDLE_OPTIONS as common, NO_HTTP_IN_WORKER } from './bundle-options.mjs';

/**
 * @actions/core imports @actions/http-client (and with it a second undici, ~0.8 MB)
 * only for getIDToken (OIDC), which the Action never calls. A stub keeps dist/action.js
 * small; calling it fails loudly instead of silently doing nothing.
 */
const noOidcClient = {
  name: 'no-oidc-http-client',
  setup(b) {
    b.onResolve({ filter: /^@actions\/http-client(\/.*)?$/ }, (args) => ({
      path: args.path,
      namespace: 'connops-stub',
    }));
    b.onLoad({ filter: /.*/, namespace: 'connops-stub' }, () => ({
      contents:
        "const fail = () => { throw new Error('connops: @actions/http-client is not bundled (OIDC is not used)'); };\n" +
        'export class HttpClient { constructor() { fail(); } }\n' +
        'export class BearerCredentialHandler { constructor() { fail(); } }\n',
      loader: 'js',
    }));
  },
};

await build({ ...common, entryPoints: { cli: 'src/cli/entry.ts' }, outdir: 'dist' });
// Both bundles start it from beside them (src/engine/check-threads.ts).
await build({
  ...common,
  entryPoints: { 'check-worker': 'src/engine/check-worker.ts' },
  outdir: 'dist',
  plugins: [NO_HTTP_IN_WORKER],
});
await build({
  ...common,
  entryPoints: { action: 'src/action/entry.ts' },
  outdir: 'dist',
  plugins: [noOidcClient],
});
