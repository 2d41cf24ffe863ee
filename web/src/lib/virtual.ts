// Window of rows to render for a fixed row height: only what the viewport shows plus `overscan`
// rows on each side are in the DOM, so 100,000 log lines cost as much as 50.

export interface VirtualWindow {
  start: number; // first row rendered (inclusive)
  end: number; // last row rendered (exclusive)
  offsetTop: number; // px above the first rendered row
  totalHeight: number;
}

export function virtualWindow(
  count: number,
  rowHeight: number,
  scrollTop: number,
  viewportHeight: number,
  overscan = 10,
): VirtualWindow {
  const totalHeight = count * rowHeight;
  if (count === 0 || rowHeight <= 0) return { start: 0, end: 0, offsetTop: 0, totalHeight };
  const top = Math.max(0, Math.min(scrollTop, Math.max(0, totalHeight - viewportHeight)));
  const first = Math.floor(top / rowHeight);
  const visible = Math.ceil(Math.max(viewportHeight, rowHeight) / rowHeight) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + visible + overscan);
  return { start, end, offsetTop: start * rowHeight, totalHeight };
}

// True when the viewport is at the bottom (within `slack` px): the log keeps following new lines
// only then, so a user reading older lines is not yanked away.
export function atBottom(scrollTop: number, viewportHeight: number, totalHeight: number, slack = 4): boolean {
  return scrollTop + viewportHeight >= totalHeight - slack;
}

