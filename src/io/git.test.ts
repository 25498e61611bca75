import { describe, expect, it } from 'vitest';
import { gitEnv, parseNameStatus } from './git.ts';

describe('parseNameStatus', () => {
  it('reads adds, modifications, deletes, renames and copies', () => {
    const out = [
      'A',
      'new.yaml',
      'M',
      'mod.yaml',
      'D',
      'gone.yaml',
      'R087',
      'old.yaml',
      'moved.yaml',
      'C100',
      'src.yaml',
      'copy.yaml',
      'T',
      'type.yaml',
      '',
    ].join('\0');
    expect(parseNameStatus(out)).toEqual([
      { status: 'added', path: 'new.yaml' },
      { status: 'modified', path: 'mod.yaml' },
      { status: 'deleted', path: 'gone.yaml' },
      { status: 'renamed', path: 'moved.yaml', from: 'old.yaml' },
      { status: 'added', path: 'copy.yaml' },
      { status: 'modified', path: 'type.yaml' },
    ]);
  });
});

describe('gitEnv', () => {
  it('forces the locale and no prompts, and drops variables that would run programs', () => {
    const env = gitEnv({
      PATH: '/usr/bin',
      EDITOR: 'vim',
      GIT_SSH_COMMAND: 'x',
      LANG: 'de_DE',
      TOKEN: 's',
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      GIT_TERMINAL_PROMPT: '0',
      GIT_OPTIONAL_LOCKS: '0',
    });
  });
});
