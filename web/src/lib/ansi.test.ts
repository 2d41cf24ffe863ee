import { describe, expect, it } from 'vitest';
import { applySgr, cssFor, parseAnsi, stripAnsi } from './ansi';

describe('parseAnsi', () => {
  it('returns plain text as one unstyled segment', () => {
    expect(parseAnsi('STEP 1/3: FROM busybox').segments).toEqual([
      { text: 'STEP 1/3: FROM busybox', style: {} },
    ]);
  });

  it('splits coloured text and resets', () => {
    const { segments, end } = parseAnsi('ok \x1b[31;1mFAIL\x1b[0m done');
    expect(segments).toEqual([
      { text: 'ok ', style: {} },
      { text: 'FAIL', style: { fg: { kind: 'index', index: 1 }, bold: true } },
      { text: ' done', style: {} },
    ]);
    expect(end).toEqual({});
  });

  it('reads bright, 256-colour and true-colour foregrounds and backgrounds', () => {
    expect(applySgr({}, '92').fg).toEqual({ kind: 'index', index: 10 });
    expect(applySgr({}, '38;5;208').fg).toEqual({ kind: 'index', index: 208 });
    expect(applySgr({}, '48;2;10;20;300').bg).toEqual({ kind: 'rgb', r: 10, g: 20, b: 255 });
    expect(applySgr({}, '104').bg).toEqual({ kind: 'index', index: 12 });
  });

  it('turns attributes off one by one', () => {
    let s = applySgr({}, '1;3;4;32');
    s = applySgr(s, '22;39');
    expect(s).toEqual({ italic: true, underline: true });
    expect(applySgr(s, '')).toEqual({});
  });

  it('carries an unterminated style into the next line', () => {
    const first = parseAnsi('\x1b[33mwarning: a');
    const second = parseAnsi('b\x1b[m', first.end);
    expect(second.segments).toEqual([{ text: 'b', style: { fg: { kind: 'index', index: 3 } } }]);
    expect(second.end).toEqual({});
  });

  it('removes escapes that are not colours', () => {
    expect(stripAnsi('\x1b[2K\x1b[1Gprogress 50%\x1b]0;title\x07')).toBe('progress 50%');
    expect(parseAnsi('a\x1b[2Kb').segments).toEqual([{ text: 'ab', style: {} }]);
  });

  it('ignores a malformed extended colour instead of throwing', () => {
    expect(applySgr({ bold: true }, '38;5')).toEqual({ bold: true });
  });
});

describe('cssFor', () => {
  it('maps theme colours to CSS variables and the cube to rgb', () => {
    expect(cssFor({ fg: { kind: 'index', index: 1 }, bold: true })).toBe(
      'color:var(--ansi-1);font-weight:bold',
    );
    expect(cssFor({ fg: { kind: 'index', index: 196 } })).toBe('color:rgb(255,0,0)');
    expect(cssFor({ fg: { kind: 'index', index: 244 } })).toBe('color:rgb(128,128,128)');
  });

  it('swaps colours for inverse video', () => {
    expect(cssFor({ inverse: true, fg: { kind: 'index', index: 2 } })).toBe(
      'color:var(--log-bg);background:var(--ansi-2)',
    );
  });
});
