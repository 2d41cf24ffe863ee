// `kiln --help`: the commands, global options and exit codes (docs/configuration.md shows it too).
#pragma once

namespace kiln::cli {

const char* usage();

}  // namespace kiln::cli
