-- Read models built by kiln-analytics from stream KILN_EVENTS (docs/design.md "Events and
-- projections").
-- Every table here is derived: `kiln-analytics rebuild` recreates them from stream sequence 1 by
-- running this file again in a scratch schema, so table and index names must stay unqualified.

-- One row per build: its current state. `status` only moves forward in rank order
-- (requested < queued < dispatched < building < pushing < terminal), so a late event never
-- rewrites a finished build.
CREATE TABLE builds (
  build_id            text PRIMARY KEY,
  build_number        bigint NOT NULL,
  project             text NOT NULL,
  tenant              text NOT NULL,
  status              text NOT NULL CHECK (status IN ('requested', 'queued', 'dispatched',
                        'building', 'pushing', 'succeeded', 'failed', 'cancelled')),
  trigger             text NOT NULL,
  provider            text,
  delivery_id         text,
  schedule_id         text,
  actor               text,
  retry_of            text,
  repo_url            text,
  ref                 text,
  branch              text,
  commit_sha          text,
  commit_message      text,
  author              text,
  image_repository    text,
  registry            text,
  spec                jsonb NOT NULL DEFAULT '{}',
  progress            integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  current_step        text,
  steps_total         integer,
  steps_cached        integer,
  queue_position      integer,
  held_by             text,
  worker_id           text,
  attempt             integer NOT NULL DEFAULT 0,
  requested_at        timestamptz NOT NULL,
  queued_at           timestamptz,
  dispatched_at       timestamptz,
  started_at          timestamptz,
  built_at            timestamptz,
  finished_at         timestamptz,
  image_url           text,
  digest              text,
  image_size          bigint,
  build_duration_ms   bigint,
  push_duration_ms    bigint,
  bytes_uploaded      bigint,
  bytes_skipped       bigint,
  failure_stage       text,
  failure_reason      text,
  exit_code           integer,
  cancel_requested_by text,
  cancel_reason       text,
  created_seq         bigint NOT NULL,
  last_seq            bigint NOT NULL
);
-- Keyset pagination newest first, overall, per tenant, per project and per status.
CREATE INDEX builds_newest ON builds (requested_at DESC, build_id DESC);
CREATE INDEX builds_tenant_newest ON builds (tenant, requested_at DESC, build_id DESC);
CREATE INDEX builds_project_newest ON builds (project, requested_at DESC, build_id DESC);
CREATE INDEX builds_status_newest ON builds (status, requested_at DESC, build_id DESC);
CREATE UNIQUE INDEX builds_project_number ON builds (project, build_number);

-- Every event of a build that says something about its state, applied or not: `applied` is false
-- for a late transition (a `started` after `cancelled`) and for event types analytics does not know.
CREATE TABLE build_status_history (
  seq         bigint PRIMARY KEY,   -- KILN_EVENTS stream sequence: one row per event
  build_id    text NOT NULL,
  event_type  text NOT NULL,
  from_status text,
  to_status   text,
  applied     boolean NOT NULL,
  reason      text,
  actor       text,
  at          timestamptz
);
CREATE INDEX build_status_history_build ON build_status_history (build_id, seq);

CREATE TABLE build_steps (
  build_id     text NOT NULL,
  step         integer NOT NULL,
  total        integer,
  instruction  text,
  cached       boolean,
  duration_ms  bigint,
  layer_digest text,
  started_at   timestamptz,
  finished_at  timestamptz,
  PRIMARY KEY (build_id, step)
);

-- One row per finished build, written once by the terminal event that finished it.
CREATE TABLE build_results (
  build_id          text PRIMARY KEY,
  tenant            text NOT NULL,
  project           text NOT NULL,
  trigger           text NOT NULL,
  outcome           text NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'cancelled')),
  day               date NOT NULL,  -- UTC day of finished_at
  requested_at      timestamptz NOT NULL,
  started_at        timestamptz,
  finished_at       timestamptz NOT NULL,
  image_url         text,
  digest            text,
  total_duration_ms bigint NOT NULL,  -- requested -> finished
  queue_wait_ms     bigint,           -- requested -> started (null: never started)
  build_time_ms     bigint,
  push_time_ms      bigint,
  bytes_uploaded    bigint,
  bytes_skipped     bigint,
  steps_total       integer,
  steps_cached      integer,
  failure_stage     text,
  failure_reason    text,
  retry_of          text
);
CREATE INDEX build_results_day ON build_results (tenant, day, project);

-- Per UTC day, tenant and project ('*': every project of the tenant), over the builds that finished
-- that day. Recomputed from build_results in the transaction that adds a result.
CREATE TABLE build_performance_daily (
  day                  date NOT NULL,
  tenant               text NOT NULL,
  project              text NOT NULL,
  builds               integer NOT NULL,
  succeeded            integer NOT NULL,
  failed               integer NOT NULL,
  cancelled            integer NOT NULL,
  avg_duration_ms      double precision,
  median_duration_ms   double precision,
  median_queue_wait_ms double precision,
  failure_rate         double precision NOT NULL,
  top_failure_stage    text,
  top_failure_reason   text,
  cache_hit_rate       double precision,
  peak_concurrent      integer NOT NULL,
  by_manual            integer NOT NULL,
  by_webhook           integer NOT NULL,
  by_schedule          integer NOT NULL,
  by_retry             integer NOT NULL,
  PRIMARY KEY (tenant, project, day)
);

-- The last KILN_EVENTS sequence applied, committed with the rows it changed.
CREATE TABLE projection_checkpoint (
  name     text PRIMARY KEY,
  last_seq bigint NOT NULL
);
INSERT INTO projection_checkpoint (name, last_seq) VALUES ('analytics', 0);
