// Applies the live stream's frames (GET /v1/builds/{id}/events) to the build the detail page
// shows. Pure functions on the build; the log is an append-only buffer that ignores a line it
// already has, so a resumed stream that repeats lines, or overlaps the lines fetched over REST,
// never shows a line twice.

import type { BuildDetail, BuildStep, LogLine, StreamStatus, StreamStep } from '../api/types';
import { isTerminal } from '../api/types';
import { parseAnsi, type AnsiStyle } from './ansi';

export function applyStatus(build: BuildDetail, e: StreamStatus): BuildDetail {
  const next: BuildDetail = { ...build };
  // A late or replayed non-terminal event never reopens a finished build.
  if (e.status && !(isTerminal(build.status) && !isTerminal(e.status))) next.status = e.status;
  if (e.digest) next.digest = e.digest;
  if (e.image_url) next.image_url = e.image_url;
  if (e.failure_stage) next.failure_stage = e.failure_stage;
  if (e.failure_reason) next.failure_reason = e.failure_reason;
  if (e.type === 'cancel_requested' && e.by) next.cancel_requested_by = e.by;
  if (e.type === 'queued' && e.position !== undefined) next.queue_position = e.position;
  if (e.type === 'started' && !build.started_at) next.started_at = e.at;
  if (e.worker_id) next.worker_id = e.worker_id;
  if (e.status && isTerminal(e.status) && !build.finished_at) next.finished_at = e.at;
  if (e.status === 'succeeded') next.progress = 100;
  return next;
}

export function applyStep(build: BuildDetail, e: StreamStep): BuildDetail {
  const steps: BuildStep[] = build.steps.slice();
  const at = steps.findIndex((s) => s.step === e.step);
  const finished = e.type === 'step_finished';
  const step: BuildStep = {
    step: e.step,
    total: e.total,
    instruction: e.instruction,
    cached: finished ? (e.cached ?? false) : (at >= 0 ? steps[at].cached : null),
    duration_ms: finished ? (e.duration_ms ?? null) : (at >= 0 ? steps[at].duration_ms : null),
    layer_digest: finished ? (e.layer_digest ?? null) : (at >= 0 ? steps[at].layer_digest : null),
  };
  if (at >= 0) steps[at] = step;
  else {
    steps.push(step);
    steps.sort((a, b) => a.step - b.step);
  }
  const progress = finished
    ? (e.progress ?? (e.total > 0 ? Math.floor((e.step * 100) / e.total) : 0))
    : e.total > 0 ? Math.floor(((e.step - 1) * 100) / e.total) : 0;
  return {
    ...build,
    steps,
    current_step: e.instruction,
    // Steps replayed after a resume must not move the bar backwards.
    progress: Math.max(build.progress ?? 0, progress),
  };
}

// The step the progress bar names: the last started one that has not finished, else the last.
export function currentStep(build: BuildDetail): { label: string; n: number; total: number } | null {
  if (build.steps.length === 0) {
    return build.current_step ? { label: build.current_step, n: 0, total: 0 } : null;
  }
  const running = build.steps.find((s) => s.duration_ms === null);
  const s = running ?? build.steps[build.steps.length - 1];
  return { label: s.instruction, n: s.step, total: s.total };
}

export class LogBuffer {
  readonly lines: LogLine[] = [];
  // Style in effect at the start of each line (colours may span lines); shared objects.
  readonly styles: AnsiStyle[] = [];
  private endStyle: AnsiStyle = {};

  get last(): number {
    return this.lines.length === 0 ? 0 : this.lines[this.lines.length - 1].n;
  }

  // Appends in order; returns false for a line at or before the last one (a duplicate).
  append(line: LogLine): boolean {
    if (line.n <= this.last) return false;
    this.styles.push(this.endStyle);
    this.lines.push(line);
    if (line.text.includes('\x1b')) this.endStyle = parseAnsi(line.text, this.endStyle).end;
    return true;
  }

  appendAll(lines: readonly LogLine[]): number {
    let added = 0;
    for (const l of lines) if (this.append(l)) added++;
    return added;
  }
}

// The Last-Event-ID that makes the server send every build event but only log lines after
// `lastLine` (the ones fetched over REST before the stream opened): "<event seq>:<log line>".
export function resumeId(eventSeq: number, lastLine: number): string {
  return `${eventSeq}:${lastLine}`;
}
