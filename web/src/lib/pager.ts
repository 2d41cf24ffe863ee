// The builds list: pages fetched with the API's cursor (newest first), merged with the head the
// live refresh brings, without duplicates and in the API's order (requested_at, build_id desc).

export interface Listed {
  build_id: string;
  requested_at: string | null;
}

export function compareNewestFirst(a: Listed, b: Listed): number {
  const ta = a.requested_at ? Date.parse(a.requested_at) : 0;
  const tb = b.requested_at ? Date.parse(b.requested_at) : 0;
  if (ta !== tb) return tb - ta;
  return a.build_id < b.build_id ? 1 : a.build_id > b.build_id ? -1 : 0;
}

// Rows of `fresh` replace the rows of `current` with the same id (their status changed); new
// ones are inserted in order. `current` is not modified.
export function mergeBuilds<T extends Listed>(current: readonly T[], fresh: readonly T[]): T[] {
  if (fresh.length === 0) return current.slice();
  const byId = new Map<string, T>();
  for (const b of current) byId.set(b.build_id, b);
  for (const b of fresh) byId.set(b.build_id, b);
  return [...byId.values()].sort(compareNewestFirst);
}

export interface PageState<T> {
  rows: T[];
  nextCursor: string | null; // null: the last page is loaded
  loadedFirst: boolean;
}

export function emptyPages<T>(): PageState<T> {
  return { rows: [], nextCursor: null, loadedFirst: false };
}

export function addPage<T extends Listed>(
  state: PageState<T>,
  page: { builds: T[]; next_cursor: string | null },
  kind: 'first' | 'next' | 'refresh',
): PageState<T> {
  if (kind === 'first') {
    return { rows: page.builds.slice(), nextCursor: page.next_cursor, loadedFirst: true };
  }
  if (kind === 'next') {
    return { rows: mergeBuilds(state.rows, page.builds), nextCursor: page.next_cursor, loadedFirst: true };
  }
  // A refresh of the newest page keeps the cursor of the deepest page loaded.
  return { ...state, rows: mergeBuilds(state.rows, page.builds) };
}

export function hasMore<T>(state: PageState<T>): boolean {
  return state.loadedFirst && state.nextCursor !== null;
}
