// One build: failure or image at the top, progress and steps, the live log, cancel / retry.
// The detail and the log so far come over REST; the live stream then resumes from the last line
// fetched (Last-Event-ID "0:<line>": every event, only newer lines) and reconnects on its own.

import { useEffect, useRef, useState } from 'preact/hooks';
import { api, authHeaders } from '../api/client';
import { isTerminal, type BuildDetail, type LogLine, type StreamStatus, type StreamStep } from '../api/types';
import { CopyButton, ErrorMessage, Notice, ProgressBar, StatusBadge } from '../components/common';
import {
  buildDurationMs, commitTitle, formatBytes, formatDuration, formatTime, pullCommand, shortSha,
} from '../lib/format';
import { useNow } from '../lib/hooks';
import { applyStatus, applyStep, currentStep, LogBuffer, resumeId } from '../lib/live_build';
import { href, navigate } from '../lib/router';
import { ResumableStream, type StreamState } from '../lib/sse';
import { LogView } from './LogView';

const LOG_PAGE = 10000;

async function loadLog(id: string, log: LogBuffer, signal: AbortSignal): Promise<void> {
  for (;;) {
    const page = await api.logs(id, log.last + 1, LOG_PAGE, signal);
    log.appendAll(page.lines);
    if (page.lines.length < LOG_PAGE) return;
  }
}

function useLiveBuild(id: string) {
  const [build, setBuild] = useState<BuildDetail>();
  const [error, setError] = useState<Error>();
  const [stream, setStream] = useState<{ state: StreamState; detail?: string }>({ state: 'connecting' });
  const [logVersion, setLogVersion] = useState(0);
  const log = useRef(new LogBuffer());
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    log.current = new LogBuffer();
    setBuild(undefined);
    setError(undefined);
    let live: ResumableStream | undefined;
    // Log lines arrive one frame each: re-render at most once per animation frame.
    let pending = 0;
    const bump = () => {
      if (pending) return;
      pending = requestAnimationFrame(() => {
        pending = 0;
        setLogVersion((v) => v + 1);
      });
    };
    (async () => {
      try {
        const detail = await api.build(id, abort.signal);
        setBuild(detail);
        await loadLog(id, log.current, abort.signal);
        bump();
      } catch (e) {
        if (!abort.signal.aborted) setError(e as Error);
        return;
      }
      live = new ResumableStream({
        url: api.eventsUrl(id),
        headers: authHeaders(),
        lastEventId: resumeId(0, log.current.last),
        onState: (state, detail) => setStream({ state, detail }),
        onEvent: (e) => {
          if (e.event === 'log') {
            if (log.current.append(JSON.parse(e.data) as LogLine)) bump();
          } else if (e.event === 'step') {
            const step = JSON.parse(e.data) as StreamStep;
            setBuild((b) => (b ? applyStep(b, step) : b));
          } else if (e.event === 'status') {
            const status = JSON.parse(e.data) as StreamStatus;
            setBuild((b) => (b ? applyStatus(b, status) : b));
          }
        },
      });
      const end = await live.run();
      if (end === 'done' && !abort.signal.aborted) {
        // The projection has the result (durations, bytes) a moment after the event.
        for (let i = 0; i < 10 && !abort.signal.aborted; i++) {
          try {
            const detail = await api.build(id, abort.signal);
            setBuild((b) => (b && isTerminal(b.status) && !isTerminal(detail.status) ? { ...detail, status: b.status } : detail));
            if (isTerminal(detail.status) && detail.result) break;
          } catch (e) {
            if (!abort.signal.aborted) setError(e as Error);
            break;
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    })();
    return () => {
      abort.abort();
      live?.stop();
      cancelAnimationFrame(pending);
    };
  }, [id, attempt]);

  return { build, error, stream, log: log.current, logVersion, reload: () => setAttempt((a) => a + 1) };
}

function Actions({ build }: { build: BuildDetail }) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string>();
  const [error, setError] = useState<Error>();
  const act = async (what: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await what();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const terminal = isTerminal(build.status);
  return (
    <div class="actions">
      {!terminal && (
        <button type="button" class="danger" data-testid="cancel" disabled={busy || !!build.cancel_requested_by}
          onClick={() => act(async () => {
            await api.cancel(build.build_id);
            setMessage('Cancel requested; the build stops at its next checkpoint.');
          })}>
          {build.cancel_requested_by ? 'Cancelling…' : 'Cancel'}
        </button>
      )}
      {terminal && (
        <button type="button" data-testid="retry" disabled={busy}
          onClick={() => act(async () => {
            const r = await api.retry(build.build_id);
            navigate(`/builds/${r.build_id}`);
          })}>
          Retry
        </button>
      )}
      {message && !terminal && <span class="muted">{message}</span>}
      <ErrorMessage error={error} />
    </div>
  );
}

function Outcome({ build }: { build: BuildDetail }) {
  if (build.status === 'failed') {
    return (
      <div class="outcome failed" data-testid="failure" role="alert">
        <strong>Failed at {build.failure_stage ?? 'an unknown stage'}:</strong> {build.failure_reason ?? 'no reason given'}
      </div>
    );
  }
  if (build.status === 'cancelled') {
    return <div class="outcome cancelled" data-testid="cancelled">Cancelled{build.cancel_requested_by ? ` by ${build.cancel_requested_by}` : ''}.</div>;
  }
  const digest = build.digest ?? build.result?.digest;
  const image = build.image_url ?? build.result?.image_url;
  if (build.status === 'succeeded' && image && digest) {
    const pull = pullCommand(image, digest);
    return (
      <div class="outcome succeeded" data-testid="image">
        <div><span class="muted">Image</span> <code data-testid="image-url">{image}</code></div>
        <div><span class="muted">Digest</span> <code data-testid="digest">{digest}</code></div>
        <div class="pull"><code>{pull}</code> <CopyButton text={pull} label="Copy docker pull" /></div>
      </div>
    );
  }
  return null;
}

function Steps({ build }: { build: BuildDetail }) {
  if (build.steps.length === 0) return null;
  return (
    <table class="steps" data-testid="steps">
      <thead><tr><th>#</th><th>Instruction</th><th>Cache</th><th class="num">Duration</th></tr></thead>
      <tbody>
        {build.steps.map((s) => (
          <tr key={s.step} data-step={s.step}>
            <td>{s.step}/{s.total}</td>
            <td class="ellipsis"><code>{s.instruction}</code></td>
            <td>{s.duration_ms === null ? <span class="muted">running</span> : s.cached ? <span class="badge badge-cached">cached</span> : 'built'}</td>
            <td class="num">{formatDuration(s.duration_ms)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Facts({ build, now }: { build: BuildDetail; now: number }) {
  const r = build.result;
  const rows: [string, string][] = [
    ['Project', build.project],
    ['Branch / ref', build.branch ?? build.ref ?? '–'],
    ['Commit', `${shortSha(build.commit)} ${commitTitle(build.commit_message)}`],
    ['Author', build.author ?? '–'],
    ['Trigger', `${build.trigger ?? '–'}${build.actor ? ` by ${build.actor}` : ''}`],
    ['Requested', formatTime(build.requested_at)],
    ['Duration', formatDuration(buildDurationMs(build, now))],
  ];
  if (r) {
    rows.push(['Queue wait', formatDuration(r.queue_wait_ms)]);
    rows.push(['Build / push', `${formatDuration(r.build_time_ms)} / ${formatDuration(r.push_time_ms)}`]);
    if (r.bytes_uploaded !== null) rows.push(['Uploaded', `${formatBytes(r.bytes_uploaded)} (skipped ${formatBytes(r.bytes_skipped)})`]);
  }
  if (build.worker_id) rows.push(['Worker', build.worker_id]);
  if (build.retry_of) rows.push(['Retry of', build.retry_of]);
  return (
    <dl class="facts">
      {rows.map(([k, v]) => [<dt key={`${k}-t`}>{k}</dt>, <dd key={`${k}-d`}>{v}</dd>])}
    </dl>
  );
}

export function BuildDetailPage({ id }: { id: string }) {
  const { build, error, stream, log, logVersion, reload } = useLiveBuild(id);
  const now = useNow(1000);
  if (!build) {
    return (
      <section class="page">
        <p><a href={href('/builds')}>← Builds</a></p>
        {error ? <ErrorMessage error={error} onRetry={reload} /> : <p class="muted">Loading build {id}…</p>}
      </section>
    );
  }
  const terminal = isTerminal(build.status);
  const step = currentStep(build);
  const progress = build.status === 'succeeded' ? 100 : (build.progress ?? 0);
  const label = terminal
    ? `${build.status}${step ? ` after step ${step.n}/${step.total}` : ''}`
    : step ? `Step ${step.n}/${step.total}: ${step.label}` : build.status === 'queued' && build.queue_position ? `Queued (position ${build.queue_position})` : build.status;
  return (
    <section class="page build-detail" data-build={build.build_id} data-status={build.status}>
      <p><a href={href('/builds', { project: build.project })}>← {build.project} builds</a></p>
      <header class="page-head">
        <h1>{build.project}{build.number ? ` #${build.number}` : ''}</h1>
        <StatusBadge status={build.status} />
        <span class={`stream stream-${stream.state}`} data-testid="stream-state" title={stream.detail ?? ''}>
          {stream.state === 'open' ? '● live' : stream.state === 'reconnecting' ? 'reconnecting…' : stream.state === 'failed' ? 'live view failed' : ''}
        </span>
        <Actions build={build} />
      </header>
      <ErrorMessage error={error} onRetry={reload} />
      {stream.state === 'failed' && <ErrorMessage error={`Live updates stopped: ${stream.detail ?? ''}`} onRetry={reload} />}
      <Outcome build={build} />
      <ProgressBar percent={progress} label={label} />
      <div class="detail-grid">
        <div>
          <Facts build={build} now={now} />
          <Steps build={build} />
        </div>
        <div class="detail-log">
          <h2>Log</h2>
          <LogView log={log} version={logVersion} live={!terminal} />
        </div>
      </div>
      {build.status === 'requested' && !terminal && <Notice>Waiting for the scheduler to queue this build.</Notice>}
    </section>
  );
}
