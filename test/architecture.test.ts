/**
 * The layering of STYLE.md, checked on every import in src/: the drivers
 * (src/cli, src/action) import the engine and below, never each other, and
 * nothing below them imports either; src/core imports nothing with I/O.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

/** Top-level folder of src/ a path is in ('' for files directly in src/). */
function layerOf(path: string): string {
  const rel = relative(src, path).split(/[\\/]/);
  return rel.length > 1 ? (rel[0] as string) : '';
}

/** Every relative import or export-from specifier of a file, resolved to an absolute path. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const re =
    /(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(re)) out.push(resolve(dirname(file), (m[1] ?? m[2]) as string));
  return out;
}

/** Which layers each layer may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  io: ['core'],
  providers: ['core', 'io'],
  engine: ['core', 'io', 'providers'],
  emulator: ['core', 'io', 'providers'],
  cli: ['core', 'io', 'providers', 'engine', 'emulator'],
  action: ['core', 'io', 'providers', 'engine'],
  '': ['core', 'io', 'providers', 'engine', 'emulator', 'cli'],
};

const files = sourceFiles(src);
/** The one provider file the pure core may name: the interface it plans through (type imports). */
const providerInterface = join(src, 'providers', 'types.ts');

describe('layering (STYLE.md)', () => {
  it('finds the source files and their imports', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.some((f) => importsOf(f).length > 0)).toBe(true);
  });

  it.each(files.map((f) => [relative(root, f), f]))(
    '%s imports only what its layer may',
    (_, file) => {
      const layer = layerOf(file);
      const allowed = ALLOWED[layer];
      expect(allowed, `no layering rule for src/${layer}`).toBeDefined();
      const bad = importsOf(file)
        .filter((p) => p.startsWith(src) && !(layer === 'core' && p === providerInterface))
        .map((p) => layerOf(p))
        .filter((l) => l !== layer && !(allowed ?? []).includes(l));
      expect(bad, `${relative(root, file)} imports from src/${bad.join(', src/')}`).toEqual([]);
    },
  );

  it('src/core does no I/O (no fs, network, child processes or process.env)', () => {
    const offenders = files
      .filter((f) => layerOf(f) === 'core')
      .filter((f) =>
        /from\s*['"]node:(fs|fs\/promises|net|http|https|child_process|dgram|tls)['"]|process\.env/.test(
          readFileSync(f, 'utf8'),
        ),
      )
      .map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });

  it('each Action job module stays readable on its own (under 300 lines)', () => {
    const long = files
      .filter((f) => layerOf(f) === 'action')
      .map((f) => [relative(root, f), readFileSync(f, 'utf8').split('\n').length] as const)
      .filter(([, n]) => n > 300);
    expect(long).toEqual([]);
  });
});
