// The builds list: newest first, filters in the URL, the newest page refreshed every few seconds
// (live updates without reload), older pages loaded as the table scrolls.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api/client';
import { BUILD_STATUSES, TRIGGERS, type Build } from '../api/types';
import { ErrorMessage, StatusBadge } from '../components/common';
import { VirtualList } from '../components/VirtualList';
import { useMedia } from '../lib/media';
import { buildDurationMs, commitTitle, formatDuration, formatRelative, imageTag, shortSha } from '../lib/format';
import { useNow } from '../lib/hooks';
import { addPage, emptyPages, hasMore, type PageState } from '../lib/pager';
import { href, navigate, type Route } from '../lib/router';

const PAGE_SIZE = 500;
const REFRESH_MS = 3000;

function useBuildPages(filters: Record<string, string>) {
  const [state, setState] = useState<PageState<Build>>(emptyPages());
  const [error, setError] = useState<Error>();
  const loadingMore = useRef(false);
  const key = JSON.stringify(filters);
  const current = useRef(state);
  current.current = state;

  const fetchPage = useCallback(
    async (kind: 'first' | 'next' | 'refresh', signal?: AbortSignal) => {
      const cursor = kind === 'next' ? current.current.nextCursor : undefined;
      if (kind === 'next' && !cursor) return;
      const limit = kind === 'refresh' ? 100 : PAGE_SIZE;
      try {
        const page = await api.builds({ ...filters, limit, cursor }, signal);
        setState((s) => addPage(s, page, kind));
        setError(undefined);
      } catch (e) {
        if (!signal?.aborted) setError(e as Error);
      }
    },
    [key],
  );

  useEffect(() => {
    const abort = new AbortController();
    setState(emptyPages());
    fetchPage('first', abort.signal);
    const timer = setInterval(() => {
      if (document.visibilityState !== 'hidden') fetchPage('refresh', abort.signal);
    }, REFRESH_MS);
    return () => {
      abort.abort();
      clearInterval(timer);
    };
  }, [key]);

  const loadMore = useCallback(() => {
    if (loadingMore.current || !hasMore(current.current)) return;
    loadingMore.current = true;
    fetchPage('next').finally(() => {
      loadingMore.current = false;
    });
  }, [fetchPage]);

  return { state, error, loadMore, retry: () => fetchPage(current.current.loadedFirst ? 'refresh' : 'first') };
}

function Filters({ filters, projects }: { filters: Record<string, string>; projects: string[] }) {
  const set = (name: string, value: string) => navigate('/builds', { ...filters, [name]: value || undefined }, true);
  return (
    <form class="filters" onSubmit={(e) => e.preventDefault()}>
      <label>
        Project
        <select name="project" value={filters.project ?? ''} onChange={(e) => set('project', e.currentTarget.value)}>
          <option value="">all</option>
          {projects.map((p) => <option key={p} value={p}>{p}</option>)}
        </select>
      </label>
      <label>
        Status
        <select name="status" value={filters.status ?? ''} onChange={(e) => set('status', e.currentTarget.value)}>
          <option value="">all</option>
          {BUILD_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
      </label>
      <label>
        Trigger
        <select name="trigger" value={filters.trigger ?? ''} onChange={(e) => set('trigger', e.currentTarget.value)}>
          <option value="">all</option>
          {TRIGGERS.map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
      </label>
    </form>
  );
}

function BuildRow({ b, now, compact }: { b: Build; now: number; compact: boolean }) {
  const open = () => navigate(`/builds/${b.build_id}`);
  const duration = formatDuration(buildDurationMs(b, now));
  const link = href(`/builds/${b.build_id}`);
  if (compact) {
    return (
      <a class="brow brow-compact" href={link} data-build={b.build_id} data-status={b.status}>
        <div class="brow-line">
          <StatusBadge status={b.status} />
          <strong class="ellipsis">{b.project}</strong>
          <span class="muted">{b.branch ?? ''}</span>
          <span class="right">{duration}</span>
        </div>
        <div class="brow-line muted ellipsis">
          <code>{shortSha(b.commit)}</code> {commitTitle(b.commit_message)} · {b.trigger} · {formatRelative(b.requested_at, now)}
        </div>
      </a>
    );
  }
  return (
    <div class="brow" role="row" tabIndex={0} onClick={open} onKeyDown={(e) => e.key === 'Enter' && open()}
      data-build={b.build_id} data-status={b.status}>
      <span role="cell"><StatusBadge status={b.status} /></span>
      <span role="cell" class="ellipsis"><a href={link}>{b.project}{b.number ? ` #${b.number}` : ''}</a></span>
      <span role="cell" class="ellipsis">{b.branch ?? b.ref ?? '–'}</span>
      <span role="cell" class="ellipsis" title={b.commit_message ?? ''}>
        <code>{shortSha(b.commit)}</code> {commitTitle(b.commit_message)}
      </span>
      <span role="cell">{b.trigger ?? '–'}</span>
      <span role="cell" title={b.requested_at ?? ''}>{formatRelative(b.requested_at, now)}</span>
      <span role="cell" class="num">{duration}</span>
      <span role="cell" class="ellipsis"><code>{b.image_url ? imageTag(b.image_url) : '–'}</code></span>
    </div>
  );
}

export function BuildsPage({ route, projects }: { route: Route; projects: string[] }) {
  const filters: Record<string, string> = {};
  for (const k of ['project', 'status', 'trigger', 'branch']) {
    const v = route.query.get(k);
    if (v) filters[k] = v;
  }
  const { state, error, loadMore, retry } = useBuildPages(filters);
  const now = useNow(1000);
  const compact = useMedia('(max-width: 760px)');
  const known = [...new Set([...projects, ...state.rows.map((b) => b.project)])].sort();

  return (
    <section class="page builds-page">
      <header class="page-head">
        <h1>Builds</h1>
        <span class="muted" data-testid="builds-count">
          {state.rows.length}{hasMore(state) ? '+' : ''} builds
        </span>
      </header>
      <Filters filters={filters} projects={known} />
      <ErrorMessage error={error} onRetry={retry} />
      {!compact && (
        <div class="brow bhead" role="row">
          <span>Status</span><span>Project</span><span>Branch</span><span>Commit</span>
          <span>Trigger</span><span>Requested</span><span class="num">Duration</span><span>Image tag</span>
        </div>
      )}
      {state.loadedFirst && state.rows.length === 0 && !error && (
        <p class="empty">No builds{Object.keys(filters).length ? ' match these filters' : ' yet'}.</p>
      )}
      {!state.loadedFirst && !error && <p class="muted">Loading builds…</p>}
      <VirtualList
        class="builds-table"
        testId="builds-table"
        count={state.rows.length}
        rowHeight={compact ? 64 : 40}
        renderRow={(i) => <BuildRow key={state.rows[i].build_id} b={state.rows[i]} now={now} compact={compact} />}
        onNearEnd={loadMore}
        nearEndRows={100}
      />
    </section>
  );
}
