/**
 * Opens one provider session per (target, kind) on demand and closes them all.
 */
import type { TargetConfig } from '../core/model.ts';
import type { HttpDeps } from '../io/http-types.ts';
import type { SecretSet } from '../io/redact.ts';
import type { Provider, ProviderSession } from '../providers/types.ts';

export class SessionPool {
  private readonly sessions = new Map<string, ProviderSession>();
  private readonly deps: HttpDeps & { secrets?: SecretSet };

  constructor(deps: HttpDeps & { secrets?: SecretSet }) {
    this.deps = deps;
  }

  get(provider: Provider, target: TargetConfig): ProviderSession {
    const key = `${target.name}\u0000${provider.kind}`;
    let s = this.sessions.get(key);
    if (!s) {
      for (const v of Object.values(target.auth)) this.deps.secrets?.add(v);
      s = provider.connect(target, this.deps);
      this.sessions.set(key, s);
    }
    return s;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.sessions.values()].map((s) => s.close()));
    this.sessions.clear();
  }
}
