// JSON shapes of kiln's query API (services/analytics/query_api.cpp, live_stream.cpp) and
// command API (services/webhook-ingest/*_routes.cpp). Timestamps are RFC 3339 UTC strings.

export type BuildStatus =
  | 'requested'
  | 'queued'
  | 'dispatched'
  | 'building'
  | 'pushing'
  | 'succeeded'
  | 'failed'
  | 'cancelled';

export const BUILD_STATUSES: BuildStatus[] = [
  'requested', 'queued', 'dispatched', 'building', 'pushing', 'succeeded', 'failed', 'cancelled',
];
export const TRIGGERS = ['manual', 'webhook', 'schedule', 'retry'] as const;

export function isTerminal(status: string | null | undefined): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}

export interface Build {
  build_id: string;
  number: number | null;
  project: string;
  tenant: string;
  status: BuildStatus;
  progress: number | null; // 0-100
  current_step: string | null;
  trigger: string | null;
  actor: string | null;
  retry_of: string | null;
  repo_url: string | null;
  ref: string | null;
  branch: string | null;
  commit: string | null;
  commit_message: string | null;
  author: string | null;
  image_url: string | null;
  digest: string | null;
  failure_stage: string | null;
  failure_reason: string | null;
  attempt: number | null;
  requested_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
}

export interface BuildStep {
  step: number;
  total: number;
  instruction: string;
  cached: boolean | null;
  duration_ms: number | null;
  layer_digest: string | null;
}

export interface HistoryEntry {
  seq: number;
  event: string;
  from: string | null;
  to: string | null;
  applied: boolean;
  reason: string | null;
  actor: string | null;
  at: string;
}

export interface BuildResult {
  outcome: string;
  image_url: string | null;
  digest: string | null;
  total_duration_ms: number | null;
  queue_wait_ms: number | null;
  build_time_ms: number | null;
  push_time_ms: number | null;
  bytes_uploaded: number | null;
  bytes_skipped: number | null;
  steps_total: number | null;
  steps_cached: number | null;
  failure_stage: string | null;
  failure_reason: string | null;
  retry_of: string | null;
}

export interface BuildDetail extends Build {
  image_repository?: string | null;
  registry?: string | null;
  queue_position?: number | null;
  held_by?: string | null;
  worker_id?: string | null;
  queued_at?: string | null;
  dispatched_at?: string | null;
  built_at?: string | null;
  cancel_requested_by?: string | null;
  steps: BuildStep[];
  history: HistoryEntry[];
  result: BuildResult | null;
}

export interface BuildPage {
  builds: Build[];
  next_cursor: string | null;
}

export interface LogLine {
  n: number;
  text: string;
  stream: string;
  at: string;
}

export interface LogPage {
  build_id: string;
  lines: LogLine[];
  next: number;
}

export interface DailyRow {
  day: string; // YYYY-MM-DD
  project: string;
  builds: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  avg_duration_ms: number | null;
  median_duration_ms: number | null;
  median_queue_wait_ms: number | null;
  failure_rate: number | null;
  top_failure: { stage: string; reason: string } | null;
  cache_hit_rate: number | null;
  peak_concurrent: number | null;
  by_trigger: { manual: number; webhook: number; schedule: number; retry: number };
}

export interface Daily {
  project: string;
  days: DailyRow[];
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
}

export interface Summary {
  project: string;
  days: number;
  builds: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  success_rate: number | null;
  duration_ms: Percentiles;
  queue_wait_ms: Percentiles;
  cache_hit_rate: number | null;
}

export interface Schedule {
  name: string;
  cron: string;
  timezone?: string;
  branch?: string;
  next_fire?: string | null; // when the command API reports it
}

export interface Project {
  name: string;
  tenant?: string;
  repository_url?: string;
  repository_name?: string;
  default_branch?: string;
  branch_filters?: string[];
  tag_filters?: string[];
  image_repository?: string;
  registry?: string;
  schedules?: Schedule[];
  concurrency?: number;
}

// Frames of GET /v1/builds/{id}/events (event: status | step | log | done).
export interface StreamStatus {
  seq: number;
  type: string;
  build_id: string;
  at: string;
  status?: BuildStatus;
  position?: number;
  attempt?: number;
  worker_id?: string;
  digest?: string;
  image_url?: string;
  failure_stage?: string;
  failure_reason?: string;
  by?: string;
  reason?: string;
}

export interface StreamStep {
  seq: number;
  type: 'step_started' | 'step_finished';
  build_id: string;
  at: string;
  step: number;
  total: number;
  instruction: string;
  cached?: boolean;
  duration_ms?: number;
  layer_digest?: string;
  progress?: number;
}
