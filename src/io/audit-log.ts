/**
 * The audit log (`--log-file`): one JSON line per write, appended and handed to
 * the operating system as soon as the write's outcome is known, so a line is
 * never lost to a kill that comes after it (INVARIANTS.md item 13). It is
 * opened before the first write: a log that cannot be written stops the apply
 * before anything is sent.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { ConnopsError } from '../core/errors.ts';
import type { SecretSet } from './redact.ts';

export class AuditLog {
  private fd: number | undefined;

  private constructor(
    readonly path: string,
    fd: number,
    private readonly secrets: SecretSet,
  ) {
    this.fd = fd;
  }

  /** Opens (creating with mode 0600) `path` for appending, or throws a ConnopsError saying why it cannot. */
  static open(path: string, secrets: SecretSet): AuditLog {
    try {
      return new AuditLog(path, openSync(path, 'a', 0o600), secrets);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'its folder does not exist'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : code === 'EISDIR'
              ? 'it is a folder'
              : (err as Error).message;
      throw new ConnopsError(
        'IO',
        `cannot open the audit log ${path} (${why}); nothing was written. Fix --log-file and run apply again.`,
      );
    }
  }

  /**
   * Appends one record as a JSON line, secrets masked before the line is
   * encoded, and syncs it to disk before returning: the next write to any
   * object starts only after this line is stored.
   */
  append(record: object): void {
    if (this.fd === undefined) throw new Error(`audit log ${this.path} is closed`);
    // Each string is masked before JSON escapes it: a secret holding `"` or `\`
    // would no longer match once escaped.
    const line = JSON.stringify(record, (_key, value: unknown) =>
      typeof value === 'string' ? this.secrets.redact(value) : value,
    );
    writeSync(this.fd, line + '\n');
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
