// docs/configuration.md and the list of known KILN_* variables match what the services declare.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config-docs/configuration_doc.h"
#include "service/service.h"

namespace kiln {
namespace {

TEST(Configuration, KnownVariablesAreExactlyTheDeclaredOptions) {
  const auto declared = docs::declared_option_variables();
  const auto listed = service::option_variables();
  for (const auto& name : declared) {
    EXPECT_TRUE(listed.count(name)) << name << " is declared by a service but missing from "
                                    << "kOptionVariables in libs/service/environment.cpp";
  }
  for (const auto& name : listed) {
    EXPECT_TRUE(declared.count(name)) << name << " is listed in libs/service/environment.cpp "
                                      << "but no service declares it";
  }
  for (const auto& other : service::other_kiln_variables()) {
    EXPECT_FALSE(declared.count(other.name)) << other.name << " is an option, list it once";
  }
}

TEST(Configuration, DocsMatchTheDeclarations) {
  std::ifstream in(std::string(KILN_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md is missing: run `make docs`";
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), docs::configuration_markdown())
      << "docs/configuration.md is stale: run `make docs`";
}

}  // namespace
}  // namespace kiln
