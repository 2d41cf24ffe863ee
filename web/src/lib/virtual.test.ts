import { describe, expect, it } from 'vitest';
import { atBottom, virtualWindow } from './virtual';

describe('virtualWindow', () => {
  it('renders only the viewport and the overscan of 100,000 rows', () => {
    const w = virtualWindow(100_000, 18, 18 * 50_000, 540, 10);
    expect(w.start).toBe(49_990);
    expect(w.end).toBe(50_000 + 31 + 10);
    expect(w.offsetTop).toBe(49_990 * 18);
    expect(w.totalHeight).toBe(1_800_000);
    expect(w.end - w.start).toBeLessThan(60);
  });

  it('clamps at both ends', () => {
    expect(virtualWindow(5, 20, -100, 400)).toMatchObject({ start: 0, end: 5 });
    const end = virtualWindow(1000, 20, 1e9, 400, 0);
    expect(end.end).toBe(1000);
    expect(end.start).toBe(980);
    expect(virtualWindow(0, 20, 0, 400)).toEqual({ start: 0, end: 0, offsetTop: 0, totalHeight: 0 });
  });

  it('knows when the view follows the end', () => {
    expect(atBottom(600, 400, 1000)).toBe(true);
    expect(atBottom(500, 400, 1000)).toBe(false);
  });
});
