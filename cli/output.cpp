#include "cli/output.h"

#include <Poco/Base64Encoder.h>

#include <iostream>
#include <sstream>

#include "cli/cli_error.h"

namespace kiln::cli {

std::string to_json(const Poco::JSON::Object::Ptr& object) {
  std::ostringstream out;
  object->stringify(out);
  return out.str();
}

std::string field(const Poco::JSON::Object::Ptr& object, const std::string& name) {
  if (!object || !object->has(name) || object->isNull(name)) return "";
  try {
    return object->get(name).convert<std::string>();
  } catch (const std::exception&) {
    return "";
  }
}

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size());
  for (size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  auto print_row = [&widths](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) {
      std::cout << row[i];
      if (i + 1 < row.size()) std::cout << std::string(widths[i] - row[i].size() + 2, ' ');
    }
    std::cout << "\n";
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

std::string base64(const std::string& bytes) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);
  encoder << bytes;
  encoder.close();
  return out.str();
}

Poco::JSON::Object::Ptr key_values(const std::vector<std::string>& items,
                                   const std::string& option) {
  Poco::JSON::Object::Ptr object = new Poco::JSON::Object();
  for (const auto& kv : items) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw CliError(kExitUsage, option + " needs KEY=VALUE, got '" + kv + "'");
    }
    object->set(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return object;
}

int print_outcome(Context& ctx, const Poco::JSON::Object::Ptr& build) {
  const std::string status = field(build, "status");
  if (ctx.json_output) {
    std::cout << to_json(build) << "\n";
  } else if (status == "succeeded") {
    std::cout << "build " << field(build, "build_id") << " succeeded\n"
              << "image:  " << field(build, "image_url") << "\n"
              << "digest: " << field(build, "digest") << "\n";
  } else if (status == "failed") {
    std::cerr << "build " << field(build, "build_id") << " failed in stage "
              << field(build, "failure_stage") << ": " << field(build, "failure_reason") << "\n";
  } else if (status == "cancelled") {
    std::cerr << "build " << field(build, "build_id") << " was cancelled\n";
  } else {
    std::cerr << "build " << field(build, "build_id") << " is still " << status << "\n";
  }
  return status == "succeeded" ? kExitOk : kExitBuildFailed;
}

}  // namespace kiln::cli
