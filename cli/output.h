// Printing answers for people (aligned text) or scripts (--output json).
#pragma once

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <string>
#include <vector>

#include "cli/commands.h"

namespace kiln::cli {

std::string to_json(const Poco::JSON::Object::Ptr& object);
// A string field, or "" (numbers are formatted).
std::string field(const Poco::JSON::Object::Ptr& object, const std::string& name);
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);
// The final line(s) of a finished build; the exit code for it.
int print_outcome(Context& ctx, const Poco::JSON::Object::Ptr& build);

// `bytes` in base64, on one line (Dockerfiles and secrets in JSON requests).
std::string base64(const std::string& bytes);

// KEY=VALUE items of a repeatable option (--build-arg, --label) as a JSON object; a usage error
// naming `option` for an item without a key or '='.
Poco::JSON::Object::Ptr key_values(const std::vector<std::string>& items,
                                   const std::string& option);

}  // namespace kiln::cli
