import type { BuildOptions, Plugin } from 'esbuild';

/** See bundle-options.mjs. */
export declare const BUNDLE_OPTIONS: BuildOptions;
/** See bundle-options.mjs. */
export declare const NO_HTTP_IN_WORKER: Plugin;
