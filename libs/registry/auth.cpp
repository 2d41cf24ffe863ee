#include "registry/auth.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cctype>

#include "common/strings.h"

namespace kiln::registry {
namespace {

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~/").find(c) != std::string_view::npos;
}

void skip_spaces(std::string_view s, std::size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

std::string read_token(std::string_view s, std::size_t& i) {
  const std::size_t start = i;
  while (i < s.size() && is_token_char(s[i])) ++i;
  return std::string(s.substr(start, i - start));
}

}  // namespace

std::string AuthChallenge::param(std::string_view name) const {
  auto it = params.find(std::string(name));
  return it == params.end() ? std::string() : it->second;
}

std::vector<AuthChallenge> parse_www_authenticate(std::string_view header) {
  std::vector<AuthChallenge> out;
  std::size_t i = 0;
  while (i < header.size()) {
    skip_spaces(header, i);
    while (i < header.size() && (header[i] == ',' || header[i] == ' ')) ++i;
    const std::string scheme = read_token(header, i);
    if (scheme.empty()) break;
    AuthChallenge challenge;
    challenge.scheme = to_lower(scheme);
    // auth-params: name=value pairs separated by commas, until the next scheme token.
    for (;;) {
      skip_spaces(header, i);
      const std::size_t mark = i;
      const std::string name = read_token(header, i);
      skip_spaces(header, i);
      if (name.empty() || i >= header.size() || header[i] != '=') {
        i = mark;  // not a param: the next challenge starts here (or garbage)
        break;
      }
      ++i;  // '='
      skip_spaces(header, i);
      std::string value;
      if (i < header.size() && header[i] == '"') {
        ++i;
        while (i < header.size() && header[i] != '"') {
          if (header[i] == '\\' && i + 1 < header.size()) ++i;
          value += header[i++];
        }
        if (i < header.size()) ++i;  // closing quote
      } else {
        // Lenient: an unquoted value runs to the next comma or space (realms are URLs).
        const std::size_t start = i;
        while (i < header.size() && header[i] != ',' && header[i] != ' ' && header[i] != '\t') ++i;
        value = std::string(header.substr(start, i - start));
      }
      challenge.params[to_lower(name)] = value;
      skip_spaces(header, i);
      if (i < header.size() && header[i] == ',') {
        ++i;
        continue;
      }
      break;
    }
    out.push_back(std::move(challenge));
    if (i < header.size() && !is_token_char(header[i]) && header[i] != ',' && header[i] != ' ') {
      break;  // garbage
    }
  }
  return out;
}

std::string repository_scope(std::string_view repository, std::string_view actions) {
  return "repository:" + std::string(repository) + ":" + std::string(actions);
}

Result<BearerToken> parse_token_response(std::string_view body) {
  try {
    Poco::JSON::Parser parser;
    auto obj = parser.parse(std::string(body)).extract<Poco::JSON::Object::Ptr>();
    if (!obj) return make_error(ErrorCode::kInvalidArgument, "token response is not an object");
    BearerToken token;
    token.token = obj->optValue<std::string>("token", "");
    if (token.token.empty()) token.token = obj->optValue<std::string>("access_token", "");
    if (token.token.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "token response has no token");
    }
    const auto expires = obj->optValue<Poco::Int64>("expires_in", 0);
    if (expires >= 1) token.expires_in = std::chrono::seconds(expires);
    return token;
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string("token response is not valid JSON: ") + e.what());
  }
}

}  // namespace kiln::registry
