/**
 * Every ```yaml block in README.md and docs/*.md is valid: it parses, a config
 * (a block with `targets:`) passes the config parser, and a document (a block
 * with `kind:`) passes the document checks against the nearest config of its
 * file, and an emulator seed (a block with `accounts:` or `kazoo:`) passes the
 * seed parser. Every `${env:NAME}` it references is set, as it would be in CI.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/core/config.ts';
import { buildDesiredState } from '../src/core/documents.ts';
import { isObject } from '../src/core/json.ts';
import type { Config } from '../src/core/model.ts';
import { parseYamlFile } from '../src/core/yaml.ts';
import { parseKazooSeed } from '../src/emulator/kazoo/seed.ts';
import { PROVIDERS, targetTypes } from '../src/providers/registry.ts';

const root = join(import.meta.dirname, '..');

export interface Snippet {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/** The fenced ```yaml blocks of a Markdown text, with the line each starts on. */
export function yamlBlocks(file: string, markdown: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```ya?ml\s*$/.test(lines[i] ?? '')) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end] ?? '')) end++;
    out.push({ file, line: start + 1, text: lines.slice(start, end).join('\n') + '\n' });
    i = end;
  }
  return out;
}

const files = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const snippets = files.flatMap((f) => yamlBlocks(f, readFileSync(join(root, f), 'utf8')));

/** A plausible value for every variable a snippet references (URLs for *_URL). */
const env = (name: string): string =>
  /URL$/.test(name) ? 'https://api.example.net:8000/v2' : `value-of-${name.toLowerCase()}`;

const where = (s: Snippet): string => `${s.file}:${s.line}`;

describe('YAML snippets in README.md and docs/', () => {
  it('finds the README config and document examples', () => {
    const readme = snippets.filter((s) => s.file === 'README.md');
    expect(readme.some((s) => /^targets:/m.test(s.text))).toBe(true);
    expect(readme.some((s) => /^kind:/m.test(s.text))).toBe(true);
    expect(snippets.some((s) => s.file === 'docs/emulator.md' && /^kazoo:/m.test(s.text))).toBe(
      true,
    );
  });

  // The first config of each file (and README's as the fallback), for its document snippets.
  const configs = new Map<string, Config>();
  for (const s of snippets) {
    if (!/^targets:/m.test(s.text) || configs.has(s.file)) continue;
    const c = parseConfig(where(s), root, s.text, env, targetTypes(PROVIDERS));
    if (c.config) configs.set(s.file, c.config);
  }
  for (const s of snippets) {
    it(`${where(s)} is valid`, () => {
      const parsed = parseYamlFile(where(s), s.text, env);
      expect(parsed.diagnostics).toEqual([]);
      const value = parsed.documents[0]?.value;
      if (isObject(value) && value['targets'] !== undefined) {
        const c = parseConfig(where(s), root, s.text, env, targetTypes(PROVIDERS));
        expect(c.diagnostics).toEqual([]);
      }
      if (isObject(value) && (value['accounts'] !== undefined || value['kazoo'] !== undefined)) {
        const inner = value['kazoo'] ?? value;
        expect(() => parseKazooSeed(inner, where(s))).not.toThrow();
      }
      if (isObject(value) && value['kind'] !== undefined) {
        const config = configs.get(s.file) ?? configs.get('README.md');
        expect(config, 'a document snippet needs a config snippet before it').toBeDefined();
        const state = buildDesiredState(
          [{ path: where(s), text: s.text }],
          config!,
          PROVIDERS,
          env,
        );
        expect(state.diagnostics).toEqual([]);
        expect(state.count).toBe(parsed.documents.length);
      }
    });
  }
});
