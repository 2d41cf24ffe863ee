// docs/configuration.md, generated from the services' own option declarations (describe()), so
// the documentation cannot drift from the code: `make docs` writes it, configuration_test
// compares it.
#pragma once

#include <set>
#include <string>

namespace kiln::docs {

std::string configuration_markdown();

// KILN_<NAME> of every option some service declares.
std::set<std::string> declared_option_variables();

}  // namespace kiln::docs
