/**
 * Generated Kazoo trunk documents for the apply-safety tests: one server per
 * trunk (named pbx-<trunk>) holding its DIDs, optionally after other servers.
 */
import { ACCOUNTS } from './world.ts';

export interface Trunk {
  readonly name: string;
  readonly dids: readonly string[];
  readonly id?: string;
  /** Servers before the trunk's own one (to move it off index 0). */
  readonly before?: readonly string[];
  readonly ignore?: readonly string[];
}

export function trunksYaml(trunks: readonly Trunk[]): string {
  return (
    trunks
      .map((t, i) =>
        [
          'kind: kazoo/connectivity',
          'target: kazoo-prod',
          `account: ${ACCOUNTS.acme}`,
          `name: ${t.name}`,
          ...(t.id ? [`id: ${t.id}`] : []),
          ...(t.ignore ? [`ignore: [${t.ignore.map((p) => `'${p}'`).join(', ')}]`] : []),
          'spec:',
          '  servers:',
          ...(t.before ?? []).flatMap((n, j) => [
            `    - name: ${n}`,
            `      auth: { auth_method: ip, ip: 203.0.113.${j + 1} }`,
            '      options: { inbound_format: e164 }',
          ]),
          `    - name: pbx-${t.name}`,
          `      auth: { auth_method: ip, ip: 198.51.100.${i + 1} }`,
          `      DIDs: {${t.dids.map((d) => ` '${d}': {}`).join(',')} }`,
          '      options: { inbound_format: e164 }',
        ].join('\n'),
      )
      .join('\n---\n') + '\n'
  );
}
