import { describe, expect, it } from 'vitest';
import type { BuildDetail } from '../api/types';
import { applyStatus, applyStep, currentStep, LogBuffer, resumeId } from './live_build';

const base = (): BuildDetail => ({
  build_id: 'b1', number: 1, project: 'p', tenant: 'default', status: 'queued', progress: 0,
  current_step: null, trigger: 'manual', actor: 'admin', retry_of: null, repo_url: null, ref: null,
  branch: 'main', commit: null, commit_message: null, author: null, image_url: null, digest: null,
  failure_stage: null, failure_reason: null, attempt: 1, requested_at: '2026-01-01T00:00:00.000Z',
  started_at: null, finished_at: null, duration_ms: null, steps: [], history: [], result: null,
});

const step = (type: 'step_started' | 'step_finished', n: number, extra = {}) => ({
  seq: 10 + n, type, build_id: 'b1', at: '2026-01-01T00:00:01.000Z', step: n, total: 4,
  instruction: `RUN step ${n}`, ...extra,
});

describe('live build', () => {
  it('moves the progress bar with steps and never backwards on a replay', () => {
    let b = applyStep(base(), step('step_started', 1));
    expect(b.progress).toBe(0);
    b = applyStep(b, step('step_finished', 1, { cached: true, duration_ms: 5, progress: 25 }));
    b = applyStep(b, step('step_started', 2));
    expect(b.progress).toBe(25);
    expect(currentStep(b)).toEqual({ label: 'RUN step 2', n: 2, total: 4 });
    b = applyStep(b, step('step_finished', 1, { cached: true, duration_ms: 5, progress: 25 }));
    expect(b.progress).toBe(25);
    expect(b.steps.map((s) => [s.step, s.cached, s.duration_ms])).toEqual([[1, true, 5], [2, null, null]]);
  });

  it('applies terminal status with digest and failure, and never reopens a finished build', () => {
    let b = applyStatus(base(), { seq: 2, type: 'started', build_id: 'b1', at: 't1', status: 'building', worker_id: 'w' });
    expect(b.status).toBe('building');
    expect(b.started_at).toBe('t1');
    b = applyStatus(b, { seq: 9, type: 'succeeded', build_id: 'b1', at: 't9', status: 'succeeded', image_url: 'r/x:main', digest: 'sha256:1' });
    expect(b).toMatchObject({ status: 'succeeded', digest: 'sha256:1', finished_at: 't9', progress: 100 });
    b = applyStatus(b, { seq: 5, type: 'built', build_id: 'b1', at: 't5', status: 'pushing' });
    expect(b.status).toBe('succeeded');
    const f = applyStatus(base(), { seq: 3, type: 'failed', build_id: 'b1', at: 't', status: 'failed', failure_stage: 'build', failure_reason: 'exit 1' });
    expect(f).toMatchObject({ status: 'failed', failure_stage: 'build', failure_reason: 'exit 1' });
  });

  it('keeps each log line once when the stream repeats what REST already gave', () => {
    const log = new LogBuffer();
    const line = (n: number, text = `line ${n}`) => ({ n, text, stream: 'stdout', at: 't' });
    expect(log.appendAll([line(1), line(2), line(3)])).toBe(3);
    expect(log.appendAll([line(2), line(3), line(4)])).toBe(1);
    expect(log.lines.map((l) => l.n)).toEqual([1, 2, 3, 4]);
    expect(resumeId(0, log.last)).toBe('0:4');
  });

  it('remembers a colour left open for the next line', () => {
    const log = new LogBuffer();
    log.append({ n: 1, text: '\x1b[31merror:', stream: 'stderr', at: 't' });
    log.append({ n: 2, text: 'still red\x1b[0m', stream: 'stderr', at: 't' });
    log.append({ n: 3, text: 'plain', stream: 'stdout', at: 't' });
    expect(log.styles).toEqual([{}, { fg: { kind: 'index', index: 1 } }, {}]);
  });
});
