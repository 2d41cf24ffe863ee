import { describe, expect, it } from 'vitest';
import { addPage, emptyPages, hasMore, mergeBuilds, type PageState } from './pager';

const b = (id: string, minute: number, status = 'queued') => ({
  build_id: id,
  requested_at: `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`,
  status,
});
type Row = ReturnType<typeof b>;
const start = (): PageState<Row> => emptyPages<Row>();

describe('builds pagination', () => {
  it('appends the next page and remembers its cursor', () => {
    let s = addPage(start(), { builds: [b('c', 3), b('b', 2)], next_cursor: 'k1' }, 'first');
    expect(hasMore(s)).toBe(true);
    s = addPage(s, { builds: [b('a', 1)], next_cursor: null }, 'next');
    expect(s.rows.map((r) => r.build_id)).toEqual(['c', 'b', 'a']);
    expect(hasMore(s)).toBe(false);
  });

  it('a live refresh updates rows in place, inserts new ones on top and keeps the cursor', () => {
    let s = addPage(start(), { builds: [b('c', 3), b('b', 2)], next_cursor: 'k1' }, 'first');
    s = addPage(s, { builds: [b('d', 4), b('c', 3, 'succeeded')], next_cursor: 'other' }, 'refresh');
    expect(s.rows.map((r) => `${r.build_id}:${r.status}`)).toEqual(['d:queued', 'c:succeeded', 'b:queued']);
    expect(s.nextCursor).toBe('k1');
  });

  it('orders ties on time by build id, descending, as the API does', () => {
    expect(mergeBuilds([b('a', 1)], [b('z', 1), b('m', 1)]).map((r) => r.build_id)).toEqual(['z', 'm', 'a']);
  });

  it('has nothing more before the first page', () => {
    expect(hasMore(emptyPages())).toBe(false);
  });
});
