// Daily performance: builds per day by outcome, success rate, median duration and queue wait,
// cache hit rate (GET /v1/analytics/daily) and the range's percentiles (GET
// /v1/analytics/summary), overall or for one project, with a per-project table.

import { api } from '../api/client';
import type { DailyRow, Summary } from '../api/types';
import { LineChart, StackedBars } from '../components/charts';
import { ErrorMessage } from '../components/common';
import { alignDays, lastDays } from '../lib/days';
import { formatDuration, formatNumber, formatPercent } from '../lib/format';
import { useLoad } from '../lib/hooks';
import { navigate, type Route } from '../lib/router';
import { settings } from '../api/settings';

const RANGES = [7, 14, 30, 90];

function SummaryCards({ s }: { s: Summary }) {
  const cards: [string, string, string, number | null][] = [
    ['Builds', formatNumber(s.builds), 'builds', s.builds],
    ['Success rate', formatPercent(s.success_rate, 1), 'success_rate', s.success_rate],
    ['Duration p50', formatDuration(s.duration_ms?.p50), 'duration_p50', s.duration_ms?.p50 ?? null],
    ['Duration p95', formatDuration(s.duration_ms?.p95), 'duration_p95', s.duration_ms?.p95 ?? null],
    ['Queue wait p50', formatDuration(s.queue_wait_ms?.p50), 'queue_p50', s.queue_wait_ms?.p50 ?? null],
    ['Queue wait p95', formatDuration(s.queue_wait_ms?.p95), 'queue_p95', s.queue_wait_ms?.p95 ?? null],
    ['Cache hit rate', formatPercent(s.cache_hit_rate, 1), 'cache_hit_rate', s.cache_hit_rate],
  ];
  return (
    <div class="cards" data-testid="summary">
      {cards.map(([label, text, key, raw]) => (
        <div class="card" key={key} data-metric={key} data-value={raw ?? ''}>
          <div class="card-label">{label}</div>
          <div class="card-value">{text}</div>
        </div>
      ))}
    </div>
  );
}

function Charts({ days, rows }: { days: string[]; rows: DailyRow[] }) {
  const aligned = alignDays(days, rows);
  const pick = (f: (r: DailyRow) => number | null) => aligned.map((r) => (r ? f(r) : null));
  const count = (f: (r: DailyRow) => number) => aligned.map((r) => (r ? f(r) : 0));
  return (
    <div class="charts">
      <StackedBars title="Builds per day by outcome" testId="chart-outcomes" labels={days} series={[
        { name: 'succeeded', color: 'var(--ok)', values: count((r) => r.succeeded) },
        { name: 'failed', color: 'var(--bad)', values: count((r) => r.failed) },
        { name: 'cancelled', color: 'var(--warn)', values: count((r) => r.cancelled) },
      ]} />
      <LineChart title="Success rate" testId="chart-success" labels={days} fixedMax={1}
        format={(v) => formatPercent(v)}
        series={[{ name: 'success rate', color: 'var(--ok)', values: pick((r) => (r.builds > 0 ? r.succeeded / r.builds : null)) }]} />
      <LineChart title="Median duration and queue wait" testId="chart-durations" labels={days}
        format={(v) => formatDuration(v)}
        series={[
          { name: 'median duration', color: 'var(--accent)', values: pick((r) => r.median_duration_ms) },
          { name: 'median queue wait', color: 'var(--warn)', values: pick((r) => r.median_queue_wait_ms) },
        ]} />
      <LineChart title="Cache hit rate" testId="chart-cache" labels={days} fixedMax={1}
        format={(v) => formatPercent(v)}
        series={[{ name: 'cache hit rate', color: 'var(--accent2)', values: pick((r) => r.cache_hit_rate) }]} />
    </div>
  );
}

function ProjectTable({ projects, range, tenant }: { projects: string[]; range: number; tenant: string }) {
  const { data, error } = useLoad(
    (signal) => Promise.all(projects.map((p) => api.summary({ project: p, days: range, tenant }, signal))),
    [projects.join(','), range, tenant],
  );
  if (projects.length === 0) return null;
  return (
    <div class="table-scroll">
      <ErrorMessage error={error} />
      <table class="per-project" data-testid="per-project">
        <thead>
          <tr><th>Project</th><th class="num">Builds</th><th class="num">Success</th><th class="num">p50</th>
            <th class="num">p95</th><th class="num">Queue p50</th><th class="num">Cache hits</th></tr>
        </thead>
        <tbody>
          {(data ?? []).map((s) => (
            <tr key={s.project} data-project={s.project}>
              <td><a href={`#/performance?project=${encodeURIComponent(s.project)}&days=${range}`}>{s.project}</a></td>
              <td class="num">{formatNumber(s.builds)}</td>
              <td class="num">{formatPercent(s.success_rate)}</td>
              <td class="num">{formatDuration(s.duration_ms?.p50)}</td>
              <td class="num">{formatDuration(s.duration_ms?.p95)}</td>
              <td class="num">{formatDuration(s.queue_wait_ms?.p50)}</td>
              <td class="num">{formatPercent(s.cache_hit_rate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function PerformancePage({ route, projects }: { route: Route; projects: string[] }) {
  const project = route.query.get('project') ?? '';
  const range = Number(route.query.get('days')) || 30;
  const tenant = route.query.get('tenant') ?? settings.tenant();
  const days = lastDays(range);
  const set = (q: Record<string, string | undefined>) =>
    navigate('/performance', { project: project || undefined, days: String(range), tenant, ...q }, true);

  const daily = useLoad(
    (signal) => api.daily({ project: project || '*', from: days[0], to: days[days.length - 1], tenant }, signal),
    [project, range, tenant],
    30000,
  );
  const summary = useLoad((signal) => api.summary({ project, days: range, tenant }, signal), [project, range, tenant], 30000);

  return (
    <section class="page perf-page">
      <header class="page-head"><h1>Performance</h1></header>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Project
          <select name="project" value={project} onChange={(e) => set({ project: e.currentTarget.value || undefined })}>
            <option value="">all projects</option>
            {projects.map((p) => <option key={p} value={p}>{p}</option>)}
          </select>
        </label>
        <label>
          Range
          <select name="days" value={String(range)} onChange={(e) => set({ days: e.currentTarget.value })}>
            {RANGES.map((r) => <option key={r} value={String(r)}>last {r} days</option>)}
          </select>
        </label>
        <label>
          Tenant
          <input name="tenant" value={tenant} size={10}
            onChange={(e) => { settings.setTenant(e.currentTarget.value); set({ tenant: e.currentTarget.value }); }} />
        </label>
      </form>
      <ErrorMessage error={summary.error} onRetry={summary.reload} />
      {summary.data && <SummaryCards s={summary.data} />}
      <ErrorMessage error={daily.error} onRetry={daily.reload} />
      {daily.data ? <Charts days={days} rows={daily.data.days} /> : !daily.error && <p class="muted">Loading…</p>}
      {!project && (
        <>
          <h2>Per project</h2>
          <ProjectTable projects={projects} range={range} tenant={tenant} />
        </>
      )}
    </section>
  );
}
