/**
 * The context every command receives: parsed flags, redacting output, colour.
 */
import { resolve } from 'node:path';
import { SecretSet } from '../io/redact.ts';
import type { Flags } from '../core/options.ts';
import type { CliIO } from './io.ts';

export interface CommandContext {
  readonly io: CliIO;
  readonly flags: Flags;
  readonly positionals: readonly string[];
  /** Every credential and `${env:…}` value seen so far; all output passes through it. */
  readonly secrets: SecretSet;
  /** Writes to stdout with secrets masked. */
  out(text: string): void;
  /** Writes to stderr with secrets masked. */
  err(text: string): void;
  /** True when output may use ANSI colour. */
  readonly color: boolean;
  /** Absolute path of the config file. */
  readonly configPath: string;
}

export function createContext(
  io: CliIO,
  flags: Flags,
  positionals: readonly string[],
): CommandContext {
  const secrets = new SecretSet();
  const noColor =
    flags['no-color'] === true || (io.env['NO_COLOR'] !== undefined && io.env['NO_COLOR'] !== '');
  const color = !noColor && (flags.color === true || io.stdoutIsTTY);
  return {
    io,
    flags,
    positionals,
    secrets,
    out: (text) => io.stdout(secrets.redact(text)),
    err: (text) => io.stderr(secrets.redact(text)),
    color,
    configPath: resolve(io.cwd, flags.config ?? 'connops.yaml'),
  };
}
