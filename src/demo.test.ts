import { describe, expect, it } from 'vitest';
import { demoColor, runDemo } from './demo.ts';

describe('npm run demo', () => {
  it('colours only on a terminal without NO_COLOR', () => {
    expect(demoColor({}, true)).toBe(true);
    expect(demoColor({ NO_COLOR: '1' }, true)).toBe(false);
    expect(demoColor({}, false)).toBe(false);
  });

  it('piped (not a terminal) it prints no escape code, and still runs every step', async () => {
    let text = '';
    expect(await runDemo((s) => void (text += s), undefined, { isTTY: false, env: {} })).toBe(0);
    expect(text).toContain('Demo finished');
    expect(text).not.toContain('\x1b');
  }, 60_000);

  it('on a terminal with NO_COLOR it prints no colour (progress may still redraw its line)', async () => {
    let text = '';
    const env = { NO_COLOR: '1' };
    expect(await runDemo((s) => void (text += s), undefined, { isTTY: true, env })).toBe(0);
    expect(text).not.toMatch(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`));
  }, 60_000);

  it('on a terminal it is bold and coloured', async () => {
    let text = '';
    expect(await runDemo((s) => void (text += s), undefined, { isTTY: true, env: {} })).toBe(0);
    expect(text).toContain('\x1b[1m$ connops validate\x1b[0m');
  }, 60_000);
});
