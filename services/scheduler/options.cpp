#include "scheduler/options.h"

namespace kiln::scheduler {

Config describe(SchedulerOptions& o) {
  Config config = service::make_config("kiln-scheduler",
                                       "Fires cron schedules and dispatches builds.", o.common);
  auto& limits = o.runner.limits;
  config
      .bind("dispatch.global-limit", limits.global_limit,
            "Running builds at once across projects (0: none)")
      .at_least(0);
  config
      .bind("dispatch.stuck-seconds", limits.stuck_seconds,
            "A dispatched build no worker has taken, with no event this long, is re-dispatched, "
            "then failed")
      .at_least(1);
  config
      .bind("dispatch.worker-lost-seconds", limits.worker_lost_seconds,
            "A running attempt no worker heartbeat has listed this long is re-dispatched, then "
            "failed (a silent build step is fine while its worker lists it)")
      .at_least(1);
  config
      .bind("dispatch.max-attempts", limits.max_attempts,
            "Dispatch attempts before a lost worker fails a build")
      .at_least(1);
  config
      .bind("registry.default", o.runner.default_registry,
            "Registry for scheduled builds of projects that name none")
      .not_empty();
  config.bind(
      "scheduler.snapshot-every-events", o.runner.snapshot_every_events,
      "The leader snapshots its state (bucket kiln_scheduler) after this many events, so a "
      "start reads only the log after the snapshot (0: never; a start reads the whole log)");
  config
      .bind("scheduler.lease-seconds", o.runner.lease_stale_after,
            "A leader silent this long is replaced by a standby")
      .at_least(1);
  return config;
}

}  // namespace kiln::scheduler
