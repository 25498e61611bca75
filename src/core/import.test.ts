import { describe, expect, it } from 'vitest';
import { envToken, secretVariableName, shrinkToDefaults } from './import.ts';

describe('import naming', () => {
  it.each([
    [
      '3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9',
      'acme-main',
      '/servers/0/auth/auth_password',
      'CONNOPS_3F2A9C0E_ACME_MAIN_0_AUTH_PASSWORD',
    ],
    [
      '3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9',
      'Ünïcode trunk!',
      '/servers/12/auth/auth_password',
      'CONNOPS_3F2A9C0E_N_CODE_TRUNK_12_AUTH_PASSWORD',
    ],
  ])('%s %s %s → %s', (account, name, pointer, want) => {
    expect(secretVariableName(account, name, pointer)).toBe(want);
  });

  it('envToken upper-cases and collapses non-alphanumerics', () => {
    expect(envToken('--a.b--c--')).toBe('A_B_C');
  });
});

describe('shrinkToDefaults', () => {
  it('drops exactly the keys whose absence normalises to the same body', () => {
    const withDefaults = (b: Record<string, unknown>) => ({ delay: 0, ...b });
    const spec = { delay: 0, x: { y: 1 } };
    const target = withDefaults(spec);
    const out = shrinkToDefaults(
      spec,
      (c) => JSON.stringify(withDefaults(c)) === JSON.stringify(target),
    );
    expect(out).toEqual({ x: { y: 1 } });
  });
});
