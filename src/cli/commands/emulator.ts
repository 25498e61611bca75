/**
 * `connops emulator`: runs the Kazoo and Cloudflare emulators on loopback until
 * interrupted, printing each base URL and the demo credentials.
 */
import { resolve } from 'node:path';
import { UsageError } from '../../core/errors.ts';
import { parseFaultFlags } from '../../emulator/faults.ts';
import { startEmulators } from '../../emulator/index.ts';
import { API_KEY_LENGTH } from '../../emulator/kazoo/seed.ts';
import type { CommandContext } from '../context.ts';
import { EXIT } from '../../core/exit-codes.ts';

function port(value: string | undefined, flag: string): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`${flag} must be a port number from 0 to 65535 (0 = any free port)`);
  return n;
}

export async function emulatorCommand(ctx: CommandContext): Promise<number> {
  const f = ctx.flags;
  let faults;
  try {
    faults = parseFaultFlags({
      latency: f.latency,
      jitter: f.jitter,
      'rate-429': f['rate-429'],
      'retry-after': f['retry-after'],
      'rate-500': f['rate-500'],
      'rate-502': f['rate-502'],
      'rate-503': f['rate-503'],
      'drop-rate': f['drop-rate'],
      'reset-rate': f['reset-rate'],
      'token-expiry': f['token-expiry'],
      'fault-seed': f['fault-seed'],
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const apiKey = f['api-key'];
  if (apiKey !== undefined && apiKey.length !== API_KEY_LENGTH)
    throw new UsageError(
      `--api-key must be exactly ${API_KEY_LENGTH} characters, as Kazoo's api_auth requires (got ${apiKey.length})`,
    );
  const accountId = f['account-id'];
  if (accountId !== undefined && !/^[0-9a-f]{32}$/.test(accountId))
    throw new UsageError(
      `--account-id must be a Kazoo account id: 32 lowercase hex characters (got "${accountId}")`,
    );
  const emulators = await startEmulators({
    kazooPort: port(f['kazoo-port'], '--kazoo-port'),
    cloudflarePort: port(f['cloudflare-port'], '--cloudflare-port'),
    ...(f.seed !== undefined ? { seedFile: resolve(ctx.io.cwd, f.seed) } : {}),
    ...(f['api-key'] !== undefined ? { apiKey: f['api-key'] } : {}),
    ...(f['account-id'] !== undefined ? { accountId: f['account-id'] } : {}),
    faults,
  });
  // Printed straight to stdout: these demo credentials exist to be copied.
  ctx.io.stdout(emulators.describe().join('\n') + '\n');
  ctx.io.stdout('Emulators running on 127.0.0.1; press Ctrl-C to stop.\n');
  try {
    await (ctx.io.waitForInterrupt?.() ?? Promise.resolve());
  } finally {
    await emulators.close();
  }
  return EXIT.OK;
}
