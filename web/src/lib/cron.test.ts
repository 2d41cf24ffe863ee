import { describe, expect, it } from 'vitest';
import { nextFire, parseCron } from './cron';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

describe('cron next fire', () => {
  it('finds the next minute, hour and day in UTC', () => {
    const t = Date.parse('2026-03-04T10:17:30Z'); // a Wednesday
    expect(iso(nextFire('*/15 * * * *', 'UTC', t))).toBe('2026-03-04T10:30:00.000Z');
    expect(iso(nextFire('0 2 * * *', 'UTC', t))).toBe('2026-03-05T02:00:00.000Z');
    expect(iso(nextFire('@weekly', 'UTC', t))).toBe('2026-03-08T00:00:00.000Z');
    expect(iso(nextFire('0 9 1 jan *', 'UTC', t))).toBe('2027-01-01T09:00:00.000Z');
    expect(iso(nextFire('30 8 * * mon-fri', 'UTC', t))).toBe('2026-03-05T08:30:00.000Z');
  });

  it('uses the schedule time zone', () => {
    const t = Date.parse('2026-07-01T00:00:00Z');
    // 02:00 in Berlin in summer (UTC+2) is 00:00 UTC.
    expect(iso(nextFire('0 2 * * *', 'Europe/Berlin', t))).toBe('2026-07-02T00:00:00.000Z');
  });

  it('fires when either day field matches if both are restricted', () => {
    const t = Date.parse('2026-03-02T00:00:00Z'); // Monday
    expect(iso(nextFire('0 0 15 * fri', 'UTC', t))).toBe('2026-03-06T00:00:00.000Z');
  });

  it('rejects malformed expressions', () => {
    expect(() => parseCron('61 * * * *')).toThrow();
    expect(() => parseCron('* * *')).toThrow();
    expect(() => parseCron('*/0 * * * *')).toThrow();
  });
});
