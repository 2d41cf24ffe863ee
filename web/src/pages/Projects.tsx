// Projects (from the command API): the webhook URLs to paste into the Git host, schedules with
// their next fire time, and each project's last build.

import { api } from '../api/client';
import { settings } from '../api/settings';
import type { Project } from '../api/types';
import { CopyButton, ErrorMessage, StatusBadge } from '../components/common';
import { nextFire } from '../lib/cron';
import { formatRelative, formatTime } from '../lib/format';
import { useLoad } from '../lib/hooks';
import { href } from '../lib/router';

const PROVIDERS = ['github', 'gitlab', 'gitea'] as const;

function LastBuild({ project }: { project: string }) {
  const { data, error } = useLoad((signal) => api.builds({ project, limit: 1 }, signal), [project], 10000);
  if (error) return <span class="muted" title={error.message}>unavailable</span>;
  const b = data?.builds[0];
  if (!b) return <span class="muted">{data ? 'no builds yet' : '…'}</span>;
  return (
    <a href={href(`/builds/${b.build_id}`)} data-testid="last-build">
      <StatusBadge status={b.status} /> {formatRelative(b.requested_at)}
    </a>
  );
}

function Schedules({ p }: { p: Project }) {
  if (!p.schedules?.length) return <span class="muted">none</span>;
  return (
    <ul class="schedules">
      {p.schedules.map((s) => {
        let next: string;
        try {
          const t = s.next_fire ? Date.parse(s.next_fire) : nextFire(s.cron, s.timezone || 'UTC');
          next = t ? `${formatTime(new Date(t).toISOString())} (${formatRelative(new Date(t).toISOString())})` : 'never';
        } catch (e) {
          next = `invalid: ${(e as Error).message}`;
        }
        return (
          <li key={s.name}>
            <strong>{s.name}</strong> <code>{s.cron}</code> {s.timezone || 'UTC'}{s.branch ? ` on ${s.branch}` : ''}
            <div class="muted">next: <span data-testid="next-fire">{next}</span></div>
          </li>
        );
      })}
    </ul>
  );
}

function ProjectCard({ p }: { p: Project }) {
  const base = settings.commandApi().replace(/\/$/, '');
  return (
    <article class="project" data-project={p.name}>
      <header>
        <h2><a href={href('/builds', { project: p.name })}>{p.name}</a></h2>
        <span class="muted">{p.tenant}</span>
        <span class="right"><LastBuild project={p.name} /></span>
      </header>
      <dl class="facts">
        <dt>Repository</dt><dd><code>{p.repository_name || p.repository_url}</code></dd>
        <dt>Image</dt><dd><code>{p.registry ? `${p.registry}/` : ''}{p.image_repository || `kiln/${p.name}`}</code></dd>
        <dt>Branches</dt><dd>{(p.branch_filters ?? []).join(', ') || '–'} <span class="muted">tags</span> {(p.tag_filters ?? []).join(', ') || '–'}</dd>
        <dt>Webhooks</dt>
        <dd>
          {PROVIDERS.map((provider) => {
            const url = `${base}/hooks/${provider}`;
            return (
              <div key={provider} class="hook"><span class="muted">{provider}</span> <code data-testid={`hook-${provider}`}>{url}</code> <CopyButton text={url} /></div>
            );
          })}
        </dd>
        <dt>Schedules</dt><dd><Schedules p={p} /></dd>
      </dl>
    </article>
  );
}

export function ProjectsPage() {
  const { data, error, reload } = useLoad((signal) => api.projects(signal), [], 30000);
  return (
    <section class="page projects-page">
      <header class="page-head"><h1>Projects</h1></header>
      <ErrorMessage error={error} onRetry={reload} />
      {data && data.projects.length === 0 && <p class="empty">No projects yet: apply one with <code>kiln project apply</code>.</p>}
      {data?.projects.map((p) => <ProjectCard key={p.name} p={p} />)}
      {!data && !error && <p class="muted">Loading projects…</p>}
    </section>
  );
}
