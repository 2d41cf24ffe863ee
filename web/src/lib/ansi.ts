// ANSI escape sequences in build logs (compilers, test runners, package managers colour their
// output). Only SGR (colours and text attributes) is rendered; every other escape sequence is
// removed so a cursor movement never shows up as garbage in the log view.

export type AnsiColor =
  | { kind: 'index'; index: number } // 0-255: 0-15 follow the theme, the rest the xterm cube
  | { kind: 'rgb'; r: number; g: number; b: number };

export interface AnsiStyle {
  fg?: AnsiColor;
  bg?: AnsiColor;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
}

export interface AnsiSegment {
  text: string;
  style: AnsiStyle;
}

// CSI ... final byte, OSC ... BEL/ST, and two-byte escapes.
const ESCAPE = /\x1b(?:\[([0-9;:?]*)([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])/g;

function extendedColor(codes: number[], i: number): { color?: AnsiColor; used: number } {
  const mode = codes[i + 1];
  if (mode === 5 && codes.length > i + 2) {
    const index = codes[i + 2];
    return { color: index >= 0 && index <= 255 ? { kind: 'index', index } : undefined, used: 2 };
  }
  if (mode === 2 && codes.length > i + 4) {
    const [r, g, b] = [codes[i + 2], codes[i + 3], codes[i + 4]].map((v) =>
      Math.max(0, Math.min(255, v)),
    );
    return { color: { kind: 'rgb', r, g, b }, used: 4 };
  }
  return { used: codes.length - i - 1 }; // malformed: ignore the rest of the sequence
}

// Applies one SGR parameter list to `style`, returning the new style (never mutates).
export function applySgr(style: AnsiStyle, params: string): AnsiStyle {
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
  let next: AnsiStyle = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0) next = {};
    else if (c === 1) next.bold = true;
    else if (c === 2) next.dim = true;
    else if (c === 3) next.italic = true;
    else if (c === 4) next.underline = true;
    else if (c === 7) next.inverse = true;
    else if (c === 22) { next.bold = undefined; next.dim = undefined; }
    else if (c === 23) next.italic = undefined;
    else if (c === 24) next.underline = undefined;
    else if (c === 27) next.inverse = undefined;
    else if (c >= 30 && c <= 37) next.fg = { kind: 'index', index: c - 30 };
    else if (c >= 90 && c <= 97) next.fg = { kind: 'index', index: c - 90 + 8 };
    else if (c === 39) next.fg = undefined;
    else if (c >= 40 && c <= 47) next.bg = { kind: 'index', index: c - 40 };
    else if (c >= 100 && c <= 107) next.bg = { kind: 'index', index: c - 100 + 8 };
    else if (c === 49) next.bg = undefined;
    else if (c === 38 || c === 48) {
      const { color, used } = extendedColor(codes, i);
      if (c === 38) next.fg = color ?? next.fg;
      else next.bg = color ?? next.bg;
      i += used;
    }
  }
  for (const key of Object.keys(next) as (keyof AnsiStyle)[]) {
    if (next[key] === undefined) delete next[key];
  }
  return next;
}

// Splits one log line into styled segments. `initial` carries the style a previous line left
// open (tools often colour several lines with one escape); the style at the end is returned too.
export function parseAnsi(
  line: string,
  initial: AnsiStyle = {},
): { segments: AnsiSegment[]; end: AnsiStyle } {
  const segments: AnsiSegment[] = [];
  let style = initial;
  let last = 0;
  const push = (text: string) => {
    if (text === '') return;
    const prev = segments[segments.length - 1];
    if (prev && prev.style === style) prev.text += text;
    else segments.push({ text, style });
  };
  ESCAPE.lastIndex = 0;
  for (let m = ESCAPE.exec(line); m !== null; m = ESCAPE.exec(line)) {
    push(line.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[2] === 'm') style = applySgr(style, m[1] ?? '');
  }
  push(line.slice(last));
  return { segments, end: style };
}

export function stripAnsi(line: string): string {
  return line.replace(ESCAPE, '');
}

// The 6x6x6 cube and the grey ramp of xterm's 256 colours (16-255).
function xterm256(index: number): string {
  if (index >= 232) {
    const v = 8 + (index - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const n = index - 16;
  const level = (x: number) => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${level(Math.floor(n / 36))},${level(Math.floor(n / 6) % 6)},${level(n % 6)})`;
}

export function cssColor(color: AnsiColor): string {
  if (color.kind === 'rgb') return `rgb(${color.r},${color.g},${color.b})`;
  if (color.index < 16) return `var(--ansi-${color.index})`;
  return xterm256(color.index);
}

// Inline CSS for a segment (empty for unstyled text, the common case, to keep the DOM small).
export function cssFor(style: AnsiStyle): string {
  let fg = style.fg ? cssColor(style.fg) : '';
  let bg = style.bg ? cssColor(style.bg) : '';
  if (style.inverse) [fg, bg] = [bg || 'var(--log-bg)', fg || 'var(--log-fg)'];
  const css: string[] = [];
  if (fg) css.push(`color:${fg}`);
  if (bg) css.push(`background:${bg}`);
  if (style.bold) css.push('font-weight:bold');
  if (style.dim) css.push('opacity:.7');
  if (style.italic) css.push('font-style:italic');
  if (style.underline) css.push('text-decoration:underline');
  return css.join(';');
}
