/**
 * A self-signed certificate for 127.0.0.1, made with openssl for TLS tests.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Writes key.pem and cert.pem into `dir`; returns false when openssl is not
 * available (the caller skips, saying so).
 */
export function makeSelfSignedCert(dir: string): boolean {
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return true;
  } catch {
    return false;
  }
}
