// The SQL of the projections as named prepared statements: parsed and planned once per
// connection instead of once per event, which is most of what applying an event used to cost.
//
// libpqxx registers a statement with the server on first use, and prepare_statements() is cheap to
// call again (same name, same text: nothing happens), so apply_batch() calls it every time and any
// connection works, the live applier's and a rebuild's (whose search_path points at its scratch
// schema before the first statement runs).
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace kiln::analytics::stmt {

inline constexpr char kLoadStatus[] = "kiln_load_status";  // ($1 text[])
inline constexpr char kInsertBuild[] = "kiln_insert_build";
inline constexpr char kStepStarted[] = "kiln_step_started";
inline constexpr char kStepFinished[] = "kiln_step_finished";
inline constexpr char kCancelRequested[] = "kiln_cancel_requested";
inline constexpr char kQueued[] = "kiln_queued";
inline constexpr char kDispatched[] = "kiln_dispatched";
inline constexpr char kStarted[] = "kiln_started";
inline constexpr char kBuilt[] = "kiln_built";
inline constexpr char kPushed[] = "kiln_pushed";
inline constexpr char kSucceeded[] = "kiln_succeeded";
inline constexpr char kFailed[] = "kiln_failed";
inline constexpr char kCancelled[] = "kiln_cancelled";
inline constexpr char kFinish[] = "kiln_finish";
inline constexpr char kRollup[] = "kiln_rollup";
inline constexpr char kHistory[] = "kiln_history";  // arrays, one per column

void prepare_statements(pqxx::connection_base& connection);

// PostgreSQL array literals for passing many rows as one parameter ({"a","b\"c"}, {1,2}).
std::string text_array(const std::vector<std::string>& values);
std::string int_array(const std::vector<std::int64_t>& values);
std::string bool_array(const std::vector<bool>& values);

}  // namespace kiln::analytics::stmt
