// `kiln-analytics rebuild`: recreates every projection from KILN_EVENTS sequence 1 while the live
// tables keep serving, then swaps the new tables in within one transaction.
//
// How: the projection migrations (migrations/*projections*.sql) run again inside a scratch schema
// `kiln_rebuild_<ms>`; a connection whose search_path puts that schema first applies the stream
// to it with the same code as the live applier. The swap transaction takes the projection write
// lock (so the live applier pauses), catches up to the live checkpoint, moves the live tables into
// a schema that is dropped and the new ones into `public`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bus/bus.h"

namespace kiln::analytics {

struct RebuildOptions {
  std::string database_url;
  std::string migrations_dir = "migrations";
  int batch_size = 2000;
};

struct RebuildReport {
  std::uint64_t events = 0;      // applied to the new tables
  std::uint64_t checkpoint = 0;  // the checkpoint the swapped-in tables carry
  double seconds = 0;
};

// Throws (std::exception) on failure; the scratch schema is dropped and the live tables untouched.
RebuildReport rebuild(bus::Bus& bus, const RebuildOptions& options);

// The tables a rebuild replaces, in the order they are swapped.
const std::vector<std::string>& projection_tables();

}  // namespace kiln::analytics
