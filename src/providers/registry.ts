/**
 * Every provider connops knows, by document kind. Adding an API is one folder
 * under src/providers/ plus one line here.
 */
import { cloudflareConnectivityService } from './cloudflare/provider.ts';
import { kazooConnectivity } from './kazoo/provider.ts';
import type { Provider } from './types.ts';

export const PROVIDERS: ReadonlyMap<string, Provider> = new Map<string, Provider>([
  [kazooConnectivity.kind, kazooConnectivity],
  [cloudflareConnectivityService.kind, cloudflareConnectivityService],
]);

/** Target types the registry serves (for config validation). */
export function targetTypes(providers: ReadonlyMap<string, Provider> = PROVIDERS): string[] {
  return [...new Set([...providers.values()].map((p) => p.targetType))];
}
