// Calendar days (UTC, as the daily rollups are keyed) for the performance page's range.

export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

// The `count` days ending today, oldest first.
export function lastDays(count: number, now: number = Date.now()): string[] {
  const today = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate());
  const out: string[] = [];
  for (let i = count - 1; i >= 0; i--) out.push(isoDay(today - i * 86_400_000));
  return out;
}

// Rows keyed by day placed on the full axis; a day without a row has no builds.
export function alignDays<T extends { day: string }>(days: string[], rows: T[]): (T | undefined)[] {
  const byDay = new Map(rows.map((r) => [r.day, r]));
  return days.map((d) => byDay.get(d));
}
