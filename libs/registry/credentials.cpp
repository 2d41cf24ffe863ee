#include "registry/credentials.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/strings.h"

namespace kiln::registry {
namespace {

// "https://Host:5000/v1/" -> "host:5000"
std::string normalize_host(std::string_view key) {
  if (const auto scheme = key.find("://"); scheme != std::string_view::npos) {
    key = key.substr(scheme + 3);
  }
  if (const auto slash = key.find('/'); slash != std::string_view::npos) {
    key = key.substr(0, slash);
  }
  return to_lower(key);
}

bool is_docker_hub(std::string_view host) {
  return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io";
}

bool host_matches(std::string_view key, std::string_view host) {
  const std::string a = normalize_host(key);
  const std::string b = normalize_host(host);
  return a == b || (is_docker_hub(a) && is_docker_hub(b));
}

}  // namespace

std::string Credentials::describe() const {
  if (empty()) return "anonymous";
  return "user '" + username + "'";
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string in;
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ') in += c;
  }
  if (in.empty()) return std::string();
  while (in.size() % 4 != 0) in += '=';  // tolerate missing padding
  std::string out(3 * (in.size() / 4), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  std::size_t padding = 0;
  if (in.size() >= 1 && in[in.size() - 1] == '=') ++padding;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

std::optional<Credentials> credentials_from_env() {
  const char* user = std::getenv(kEnvUsername);
  if (user == nullptr || *user == '\0') return std::nullopt;
  const char* password = std::getenv(kEnvPassword);
  return Credentials{user, password == nullptr ? "" : password};
}

Result<std::optional<Credentials>> credentials_from_docker_config(std::string_view json,
                                                                  std::string_view host) {
  try {
    Poco::JSON::Parser parser;
    auto root = parser.parse(std::string(json)).extract<Poco::JSON::Object::Ptr>();
    if (!root) return make_error(ErrorCode::kInvalidArgument, "docker config is not an object");
    auto auths = root->getObject("auths");
    if (!auths) return std::optional<Credentials>();
    for (const auto& [key, value] : *auths) {
      if (!host_matches(key, host)) continue;
      auto entry = value.extract<Poco::JSON::Object::Ptr>();
      if (!entry) continue;
      const auto auth = entry->optValue<std::string>("auth", "");
      if (!auth.empty()) {
        auto decoded = base64_decode(auth);
        if (!decoded) {
          return make_error(ErrorCode::kInvalidArgument,
                            "docker config: \"auth\" of " + key + " is not valid base64");
        }
        const auto colon = decoded->find(':');
        if (colon == std::string::npos) {
          return make_error(ErrorCode::kInvalidArgument,
                            "docker config: \"auth\" of " + key + " is not user:password");
        }
        return std::optional<Credentials>(
            Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)});
      }
      const auto user = entry->optValue<std::string>("username", "");
      if (!user.empty()) {
        return std::optional<Credentials>(
            Credentials{user, entry->optValue<std::string>("password", "")});
      }
    }
    return std::optional<Credentials>();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string("docker config is not valid JSON: ") + e.what());
  }
}

Result<std::optional<Credentials>> load_docker_config(const std::string& path,
                                                      std::string_view host) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::optional<Credentials>();
  std::ostringstream text;
  text << in.rdbuf();
  auto result = credentials_from_docker_config(text.str(), host);
  if (!result) {
    return make_error(result.error().code, path + ": " + result.error().message);
  }
  return result;
}

Result<Credentials> resolve_credentials(std::string_view host,
                                        const std::string& docker_config_path) {
  if (auto env = credentials_from_env()) return *env;
  std::string path = docker_config_path;
  if (path.empty()) {
    if (const char* dir = std::getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0') {
      path = std::string(dir) + "/config.json";
    } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
      path = std::string(home) + "/.docker/config.json";
    }
  }
  if (path.empty()) return Credentials{};
  auto found = load_docker_config(path, host);
  if (!found) return found.error();
  return found->value_or(Credentials{});
}

}  // namespace kiln::registry
