#include "cli/secret_option.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "cli/cli_error.h"
#include "cli/output.h"

namespace kiln::cli {
namespace {

// What the server takes (secrets/build_secrets.h: kMaxBuildSecretBytes).
constexpr std::size_t kMaxSecretBytes = 64 * 1024;

std::map<std::string, std::string> fields_of(const std::string& item) {
  std::map<std::string, std::string> fields;
  std::istringstream in(item);
  std::string part;
  while (std::getline(in, part, ',')) {
    const auto eq = part.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw CliError(kExitUsage, "--secret " + item + ": '" + part + "' is not KEY=VALUE");
    }
    fields[part.substr(0, eq)] = part.substr(eq + 1);
  }
  return fields;
}

std::string read_secret_file(const std::string& item, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CliError(kExitUsage, "--secret " + item + ": cannot read " + path);
  std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (value.size() > kMaxSecretBytes) {
    throw CliError(kExitUsage, "--secret " + item + ": " + path + " is larger than 64 KiB");
  }
  return value;
}

}  // namespace

Poco::JSON::Object::Ptr secrets_from_options(const std::vector<std::string>& items) {
  Poco::JSON::Object::Ptr secrets = new Poco::JSON::Object();
  for (const auto& item : items) {
    auto fields = fields_of(item);
    const std::string id = fields["id"];
    if (id.empty()) throw CliError(kExitUsage, "--secret " + item + ": give id=NAME");
    const std::string type = fields["type"];
    if (!type.empty() && type != "file" && type != "env") {
      throw CliError(kExitUsage, "--secret " + item + ": type is file or env");
    }
    std::string src = fields.count("src") ? fields["src"] : fields["source"];
    std::string env = fields["env"];
    if (type == "env" && env.empty()) std::swap(env, src);  // type=env,src=VARIABLE
    // Docker's shorthand: --secret id=TOKEN reads $TOKEN.
    if (src.empty() && env.empty()) env = id;
    if (!src.empty() && !env.empty()) {
      throw CliError(kExitUsage, "--secret " + item + ": give src=FILE or env=VARIABLE, not both");
    }
    std::string value;
    if (!src.empty()) {
      value = read_secret_file(item, src);
    } else {
      const char* from_env = std::getenv(env.c_str());
      if (from_env == nullptr) {
        throw CliError(kExitUsage, "--secret " + item + ": $" + env + " is not set");
      }
      value = from_env;
    }
    if (secrets->has(id)) throw CliError(kExitUsage, "--secret id=" + id + " is given twice");
    secrets->set(id, base64(value));
  }
  return secrets;
}

}  // namespace kiln::cli
