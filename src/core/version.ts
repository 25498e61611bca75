/**
 * connops' version, read from package.json at build time: esbuild inlines a
 * JSON import into the bundle (dist/ has no package.json to read at run time),
 * and tsx/vitest resolve it from the source tree.
 */
import pkg from '../../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;

/** What connops sends as `User-Agent` to every API (src/io/http.ts). */
export const USER_AGENT = `connops/${VERSION}`;
