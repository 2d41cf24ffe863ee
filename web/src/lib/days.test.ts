import { describe, expect, it } from 'vitest';
import { alignDays, lastDays } from './days';

describe('days', () => {
  it('lists the last n UTC days ending today', () => {
    expect(lastDays(3, Date.parse('2026-03-01T23:30:00Z'))).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
  });

  it('aligns sparse rollups on the axis', () => {
    const rows = [{ day: '2026-02-28', builds: 2 }];
    expect(alignDays(['2026-02-27', '2026-02-28'], rows)).toEqual([undefined, rows[0]]);
  });
});
