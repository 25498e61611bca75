/**
 * `${env:NAME}` substitution in strings (`$$` writes a literal `$`). Pure: the
 * environment is a lookup function passed in.
 */
export type EnvLookup = (name: string) => string | undefined;

const ENV_PATTERN = /\$\$|\$\{env:([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface EnvProblem {
  readonly code: 'ENV_SYNTAX' | 'ENV_MISSING';
  readonly message: string;
  /** The variable's name (ENV_MISSING). */
  readonly name?: string;
}

export interface Substituted {
  readonly value: string;
  /** True when the string referenced at least one variable. */
  readonly used: boolean;
  /** True when every reference resolved (the value is then sensitive). */
  readonly resolved: boolean;
  readonly problems: readonly EnvProblem[];
}

/** Substitutes every reference in `value`; problems are returned, never thrown. */
export function substituteEnv(value: string, env: EnvLookup): Substituted {
  if (!value.includes('$')) return { value, used: false, resolved: true, problems: [] };
  let used = false;
  let resolved = true;
  const problems: EnvProblem[] = [];
  const out = value.replace(ENV_PATTERN, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    used = true;
    if (name === undefined || !ENV_NAME.test(name)) {
      resolved = false;
      problems.push({
        code: 'ENV_SYNTAX',
        message: `\${env:${name ?? ''}} is not a valid variable reference; write \${env:NAME} with letters, digits and _`,
      });
      return '';
    }
    const v = env(name);
    // Empty counts as missing: GitHub passes a secret a workflow cannot see (fork
    // and Dependabot PRs) as "", and an empty credential or URL is never meant.
    if (v === undefined || v === '') {
      resolved = false;
      problems.push({
        code: 'ENV_MISSING',
        name,
        message: `environment variable ${name} is not set${v === '' ? ' (it is empty, as GitHub passes a secret the workflow cannot see)' : ''} (referenced as \${env:${name}})`,
      });
      // Keep the reference text: the error already blocks every write, and an
      // empty string would add misleading "too short"/"required" errors.
      return match;
    }
    return v;
  });
  return { value: out, used, resolved, problems };
}
