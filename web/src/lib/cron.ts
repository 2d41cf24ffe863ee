// Next fire time of a project's schedule, for the projects page: the command API returns the
// schedule (5-field cron + IANA time zone) but not when it fires next. Same rules as libs/cron:
// lists, ranges, steps, names, @macros, and day-of-month OR day-of-week when both are restricted.

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0', '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface Field { values: Set<number>; star: boolean }
export interface CronSpec { minute: Field; hour: Field; dom: Field; month: Field; dow: Field }

function parseField(text: string, min: number, max: number, names?: string[]): Field {
  const values = new Set<number>();
  const num = (s: string): number => {
    const i = names ? names.indexOf(s.toLowerCase()) : -1;
    const v = i >= 0 ? i + (names === MONTHS ? 1 : 0) : Number(s);
    if (!/^\d+$/.test(s) && i < 0) throw new Error(`'${s}' is not a number`);
    return v;
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad step in '${part}'`);
    let lo = min;
    let hi = max;
    if (range !== '*') {
      const [a, b] = range.split('-');
      lo = num(a);
      hi = b === undefined ? (stepText === undefined ? lo : max) : num(b);
    }
    if (max === 7 && hi === 7 && lo <= 7) { values.add(0); hi = Math.min(hi, 6); } // 7 = Sunday
    if (lo < min || hi > max || lo > hi) throw new Error(`'${part}' out of range ${min}-${max}`);
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values, star: text === '*' || text.startsWith('*/') };
}

export function parseCron(expression: string): CronSpec {
  const text = MACROS[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw new Error('a cron expression has 5 fields');
  return {
    minute: parseField(parts[0], 0, 59),
    hour: parseField(parts[1], 0, 23),
    dom: parseField(parts[2], 1, 31),
    month: parseField(parts[3], 1, 12, MONTHS),
    dow: parseField(parts[4], 0, 7, DAYS),
  };
}

interface Wall { year: number; month: number; day: number; hour: number; minute: number; dow: number }

const formatters = new Map<string, Intl.DateTimeFormat>();
function wallClock(ms: number, timeZone: string): Wall {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(ms)) p[part.type] = part.value;
  return {
    year: Number(p.year), month: Number(p.month), day: Number(p.day),
    hour: Number(p.hour) % 24, minute: Number(p.minute),
    dow: DAYS.indexOf(p.weekday.toLowerCase().slice(0, 3)),
  };
}

function dayMatches(spec: CronSpec, w: Wall): boolean {
  const dom = spec.dom.values.has(w.day);
  const dow = spec.dow.values.has(w.dow);
  if (spec.dom.star) return dow;
  if (spec.dow.star) return dom;
  return dom || dow;
}

// The first minute strictly after `after` (unix ms) when the schedule fires, or null within 5 years.
export function nextFire(expression: string, timeZone = 'UTC', after: number = Date.now()): number | null {
  const spec = parseCron(expression);
  const MIN = 60_000;
  let t = Math.floor(after / MIN) * MIN + MIN;
  const limit = after + 5 * 366 * 86_400_000;
  while (t < limit) {
    const w = wallClock(t, timeZone);
    if (!spec.month.values.has(w.month) || !dayMatches(spec, w)) {
      // Skip to the next local midnight (approximately: re-checked on the next turn).
      t += ((23 - w.hour) * 60 + (60 - w.minute)) * MIN;
      continue;
    }
    if (!spec.hour.values.has(w.hour)) {
      t += (60 - w.minute) * MIN;
      continue;
    }
    if (!spec.minute.values.has(w.minute)) {
      t += MIN;
      continue;
    }
    return t;
  }
  return null;
}
