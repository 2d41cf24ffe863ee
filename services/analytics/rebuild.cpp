#include "analytics/rebuild.h"

#include <chrono>

#include "analytics/projection.h"
#include "bus/consumer.h"
#include "bus/topology.h"
#include "common/ids.h"
#include "common/log.h"
#include "service/service.h"
#include "store/store.h"

namespace kiln::analytics {
namespace {

constexpr int kReadTimeoutMs = 5000;
constexpr int kMaxBufferedBytes = 1 << 30;

class Reader {
 public:
  explicit Reader(bus::Bus& bus) {
    auto reader = bus::SubjectReader::open(bus, bus::kEventsStream, "kiln.build.>",
                                           bus::SubjectReader::Start::kAll);
    if (!reader.ok()) throw std::runtime_error(reader.error().describe());
    reader_ = std::move(reader.value());
    // The server sends the stream faster than PostgreSQL takes it: without room to buffer it, a
    // replay of more than nats.c's default 65536 messages fails as a slow consumer.
    if (auto s = reader_->set_pending_limits(-1, kMaxBufferedBytes); !s.ok()) {
      throw std::runtime_error(s.error().describe());
    }
  }
  // The events after `from` up to `to` (inclusive), at most `limit` of them.
  std::vector<StoredEvent> read(std::uint64_t to, std::size_t limit) {
    std::vector<StoredEvent> out;
    while (position_ < to && out.size() < limit) {
      auto next = reader_->next(kReadTimeoutMs);
      if (!next.ok()) throw std::runtime_error(next.error().describe());
      if (!next->has_value()) throw std::runtime_error("reading KILN_EVENTS timed out");
      position_ = (*next)->stream_sequence();
      out.push_back(to_stored_event(**next));
    }
    return out;
  }
  std::uint64_t position() const { return position_; }

 private:
  std::unique_ptr<bus::SubjectReader> reader_;
  std::uint64_t position_ = 0;
};

void drop_schema(pqxx::connection& connection, const std::string& schema) {
  pqxx::work tx(connection);
  tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(schema) + " CASCADE");
  tx.commit();
}

}  // namespace

const std::vector<std::string>& projection_tables() {
  static const std::vector<std::string> tables = {
      "builds",        "build_status_history",    "build_steps",
      "build_results", "build_performance_daily", "projection_checkpoint"};
  return tables;
}

RebuildReport rebuild(bus::Bus& bus, const RebuildOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const std::string schema = "kiln_rebuild_" + std::to_string(now_ms());
  auto connection = store::connect(options.database_url);
  {
    // The live schema must be current before its tables can be replaced.
    const auto migrations =
        service::require(store::load_migrations(options.migrations_dir), "migrations");
    store::migrate(*connection, migrations);
    pqxx::work tx(*connection);
    tx.exec("CREATE SCHEMA " + tx.quote_name(schema));
    tx.exec("SET LOCAL search_path TO " + tx.quote_name(schema) + ", public");
    for (const auto& m : migrations) {
      if (m.name.find("projections") != std::string::npos) tx.exec(m.sql);
    }
    tx.commit();
  }
  RebuildReport report;
  try {
    {
      pqxx::nontransaction session(*connection);
      session.exec("SET search_path TO " + session.quote_name(schema) + ", public");
    }
    Reader reader(bus);
    auto target = bus::last_stream_sequence(bus, bus::kEventsStream);
    if (!target.ok()) throw std::runtime_error(target.error().describe());
    log::info("rebuild started",
              {{"schema", schema}, {"events", static_cast<std::int64_t>(*target)}});
    std::uint64_t checkpoint = 0;
    while (reader.position() < *target) {
      auto events = reader.read(*target, static_cast<std::size_t>(options.batch_size));
      pqxx::work tx(*connection);
      const BatchResult result = apply_batch(tx, checkpoint, std::move(events));
      tx.commit();
      checkpoint = result.checkpoint;
      report.events += result.applied;
    }

    // The swap: the live applier waits on the lock, so nothing it commits can be lost in between.
    pqxx::work tx(*connection);
    lock_projections(tx);
    const auto live =
        tx.exec_params("SELECT last_seq FROM public.projection_checkpoint WHERE name = $1",
                       std::string(kCheckpointName));
    const std::uint64_t live_seq = live.empty() ? 0 : live[0][0].as<std::uint64_t>();
    if (live_seq > reader.position()) {
      auto events = reader.read(live_seq, static_cast<std::size_t>(-1));
      const BatchResult result = apply_batch(tx, checkpoint, std::move(events));
      checkpoint = result.checkpoint;
      report.events += result.applied;
    }
    const std::string old_schema = tx.quote_name(schema + "_old");
    tx.exec("CREATE SCHEMA " + old_schema);
    for (const auto& table : projection_tables()) {
      tx.exec("ALTER TABLE public." + tx.quote_name(table) + " SET SCHEMA " + old_schema);
      tx.exec("ALTER TABLE " + tx.quote_name(schema) + "." + tx.quote_name(table) +
              " SET SCHEMA public");
    }
    tx.exec("DROP SCHEMA " + old_schema + " CASCADE");
    tx.exec("DROP SCHEMA " + tx.quote_name(schema) + " CASCADE");
    tx.commit();
    report.checkpoint = checkpoint;
  } catch (const std::exception& e) {
    log::error("rebuild failed; live tables untouched", {{"error", e.what()}});
    try {
      auto cleanup = store::connect(options.database_url);
      drop_schema(*cleanup, schema);
    } catch (const std::exception& cleanup_error) {
      // The rebuild's own error is the one to report; the schema only wastes space.
      log::warn("dropping the unfinished rebuild schema failed",
                {{"schema", schema}, {"error", cleanup_error.what()}});
    }
    throw;
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  log::info("rebuild swapped in", {{"events", static_cast<std::int64_t>(report.events)},
                                   {"checkpoint", static_cast<std::int64_t>(report.checkpoint)},
                                   {"seconds", report.seconds}});
  return report;
}

}  // namespace kiln::analytics
