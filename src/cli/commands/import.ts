/**
 * `connops import --target T [--account A …] [--out DIR] [--lenient] [--force]`:
 * adopts existing accounts by writing one YAML file per account from the live
 * objects (octodns-dump, anchors.md §1.6), with secrets as `${env:…}`
 * placeholders and the variables to set printed by name only.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { parseConfig } from '../../core/config.ts';
import { ConnopsError, UsageError } from '../../core/errors.ts';
import { buildImport, type ImportedAccount } from '../../core/import.ts';
import { renderDiagnosticLine } from '../../core/render-diagnostics.ts';
import { loadProject } from '../../engine/load.ts';
import { SessionPool } from '../../engine/sessions.ts';
import { readTextFile } from '../../io/files.ts';
import { PROVIDERS, targetTypes } from '../../providers/registry.ts';
import type { CommandContext } from '../context.ts';
import { EXIT } from '../../core/exit-codes.ts';
import { httpOverrides } from '../../engine/project.ts';

interface AccountFile {
  readonly account: string;
  readonly path: string;
  readonly parts: ImportedAccount[];
}

export async function importCommand(ctx: CommandContext): Promise<number> {
  const targetNames = ctx.flags.target ?? [];
  if (targetNames.length !== 1)
    throw new UsageError('import needs exactly one --target NAME (the target to read from)');
  const targetName = targetNames[0] as string;

  const configShown = relative(ctx.io.cwd, ctx.configPath) || ctx.configPath;
  const text = await readTextFile(ctx.configPath);
  if (!text.ok) {
    ctx.err(
      `connops: ${configShown}: cannot read the config: ${text.reason} (use --config to point at connops.yaml)\n`,
    );
    return EXIT.INVALID;
  }
  const parsed = parseConfig(
    configShown,
    dirname(ctx.configPath),
    text.text,
    (n) => ctx.io.env[n],
    targetTypes(PROVIDERS),
  );
  for (const s of parsed.secrets) ctx.secrets.add(s);
  const configErrors = parsed.diagnostics.filter((d) => d.severity === 'error');
  for (const d of parsed.diagnostics) ctx.err(renderDiagnosticLine(d) + '\n');
  if (configErrors.length > 0 || !parsed.config) return EXIT.INVALID;
  const config = parsed.config;

  const target = config.targets[targetName];
  if (!target)
    throw new UsageError(
      `--target ${targetName}: the config has no such target (known: ${Object.keys(config.targets).join(', ')})`,
    );
  const providers = [...PROVIDERS.values()].filter((p) => p.targetType === target.type);
  const first = providers[0];
  if (!first) throw new UsageError(`no document kind lives on targets of type "${target.type}"`);
  for (const p of providers)
    for (const problem of p.checkTarget(target))
      throw new ConnopsError('CONFIG', `target "${target.name}": ${problem.message}`);
  if (Object.keys(target.auth).length === 0)
    throw new ConnopsError(
      'CONFIG',
      `target "${target.name}" has no \`auth\`; set it in ${configShown}`,
    );

  const implied = first.defaultAccount(target);
  const accounts = [
    ...new Set(ctx.flags.account ?? (implied !== undefined ? [implied] : [])),
  ].sort();
  if (accounts.length === 0)
    throw new UsageError(
      `import from a ${target.type} target needs --account ID (repeatable): the accounts to read`,
    );
  for (const a of accounts) {
    const problem = first.checkAccount?.(a);
    if (problem) throw new UsageError(`--account ${a}: ${problem}`);
  }

  const outDir = resolve(ctx.io.cwd, ctx.flags.out ?? join(config.dir, 'connectivity'));
  const files: AccountFile[] = accounts.map((account) => ({
    account,
    path: join(outDir, target.name, `${account}.yaml`),
    parts: [],
  }));
  const shown = (p: string): string => relative(ctx.io.cwd, p) || p;
  const declared = await declaredObjects(ctx, target.name);
  const skipped: { account: string; label: string; id: string; at: string }[] = [];

  const pool = new SessionPool({ ...httpOverrides.deps, secrets: ctx.secrets });
  const used = new Set<string>();
  try {
    const listed = await Promise.all(
      files.map(async (f) =>
        Promise.all(
          providers.map(async (provider) => ({
            provider,
            objects: await pool.get(provider, target).list(f.account),
          })),
        ),
      ),
    );
    // Built in account order after all reads, so variable names do not depend on timing.
    files.forEach((f, i) => {
      for (const { provider, objects: live } of listed[i] ?? []) {
        // Objects a document already declares (by pinned id or by name) are left
        // alone: importing them again would make two documents of one object.
        const mine = declared.get(`${f.account}/${provider.kind}`);
        const objects = live.filter((o) => {
          const name = provider.nameOf(o.body);
          const at =
            mine?.ids.get(o.id) ?? (name !== undefined ? mine?.names.get(name) : undefined);
          if (at === undefined) return true;
          skipped.push({ account: f.account, label: name ?? o.id, id: o.id, at });
          return false;
        });
        const part = buildImport({
          provider,
          target,
          account: f.account,
          objects,
          writeAccount: provider.defaultAccount(target) !== f.account,
          usedNames: used,
        });
        for (const v of part.variables) ctx.secrets.add(v.value);
        f.parts.push(part);
      }
    });
  } finally {
    await pool.closeAll();
  }

  const parts = files.flatMap((f) => f.parts.map((p) => ({ f, p })));
  for (const { p } of parts) for (const w of p.warnings) ctx.err(`connops: warning: ${w}\n`);
  const problems = parts.flatMap(({ f, p }) => p.problems.map((x) => ({ f, x })));
  for (const { f, x } of problems)
    ctx.err(
      `connops: ${ctx.flags.lenient ? 'warning: ' : ''}account ${f.account}: "${x.document}" (id ${x.id}) fails the offline checks at ${x.message}\n`,
    );
  if (problems.length > 0 && !ctx.flags.lenient) {
    ctx.err(
      `connops: ${problems.length} live object${problems.length === 1 ? '' : 's'} would not validate; nothing was written. Pass --lenient to write them anyway, each with a \`# connops:\` comment saying what to fix\n`,
    );
    return EXIT.INVALID;
  }

  if (skipped.length > 0) {
    ctx.out(
      `Skipped ${skipped.length} object${skipped.length === 1 ? '' : 's'} the repo already declares:\n`,
    );
    for (const k of skipped)
      ctx.out(`  "${k.label}" (id ${k.id}, account ${k.account}) at ${k.at}\n`);
  }
  if (!ctx.flags.force) {
    const existing: string[] = [];
    for (const f of files)
      if (f.parts.some((p) => p.count > 0) && (await exists(f.path))) existing.push(shown(f.path));
    if (existing.length > 0) {
      ctx.err(
        `connops: refusing to overwrite ${existing.join(', ')}; move ${existing.length === 1 ? 'it' : 'them'} away, choose another --out, or pass --force\n`,
      );
      return EXIT.FAILURE;
    }
  }

  let written = 0;
  let documents = 0;
  for (const f of files) {
    const count = f.parts.reduce((n, p) => n + p.count, 0);
    if (count === 0) {
      ctx.out(`Account ${f.account} has no objects on ${target.name}; no file written.\n`);
      continue;
    }
    const header = `# Imported by connops from target ${target.name}, account ${f.account}.\n`;
    const body = f.parts
      .filter((p) => p.count > 0)
      .map((p) => p.text)
      .join('---\n');
    await mkdir(dirname(f.path), { recursive: true });
    await writeFile(f.path, header + body, { mode: 0o644 });
    ctx.out(`Wrote ${shown(f.path)} (${count} document${count === 1 ? '' : 's'})\n`);
    written++;
    documents += count;
  }
  const variables = parts.flatMap(({ f, p }) => p.variables.map((v) => ({ f, v })));
  ctx.out(
    `Imported ${documents} document${documents === 1 ? '' : 's'} into ${written} file${written === 1 ? '' : 's'}.\n`,
  );
  if (variables.length > 0) {
    const width = Math.max(...variables.map(({ v }) => v.name.length));
    ctx.out(
      `\nSet these ${variables.length} environment variables to the current secret values before plan or apply (connops does not print the values):\n`,
    );
    for (const { f, v } of variables)
      ctx.out(`  ${v.name.padEnd(width)}  # "${v.document}" ${v.pointer} (account ${f.account})\n`);
  }
  return EXIT.OK;
}

/**
 * What the repo's documents already declare on a target, per `account/kind`:
 * pinned ids and names, each with where it is declared. Read offline (no
 * secret needed); documents that fail their own checks declare nothing here.
 */
async function declaredObjects(
  ctx: CommandContext,
  target: string,
): Promise<Map<string, { ids: Map<string, string>; names: Map<string, string> }>> {
  const project = await loadProject({
    configPath: ctx.configPath,
    env: ctx.io.env,
    cwd: ctx.io.cwd,
    offline: true,
  });
  const out = new Map<string, { ids: Map<string, string>; names: Map<string, string> }>();
  for (const d of project.documents) {
    if (d.key.target !== target) continue;
    const k = `${d.key.account}/${d.key.kind}`;
    const entry = out.get(k) ?? {
      ids: new Map<string, string>(),
      names: new Map<string, string>(),
    };
    const at = `${d.source.file}:${d.source.line}`;
    if (d.id !== undefined) entry.ids.set(d.id, at);
    else entry.names.set(d.key.name, at);
    out.set(k, entry);
  }
  return out;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
