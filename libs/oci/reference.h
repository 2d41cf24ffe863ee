// Image references ("host[:port]/repository[:tag][@digest]") and the name rules of the OCI
// distribution spec.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace kiln::oci {

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*, at most 255 chars.
bool is_valid_repository(std::string_view name);
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool is_valid_tag(std::string_view tag);

struct ImageReference {
  std::string host;        // "registry.example.com", "127.0.0.1:5000"
  std::string repository;  // "team/app"
  std::string tag;         // empty when absent
  std::string digest;      // empty when absent

  // host/repository[:tag][@digest]
  std::string str() const;
};

// Parses "host[:port]/repo[:tag][@sha256:...]". The first component is the host when it contains
// '.' or ':' or is "localhost"; otherwise `default_host` is used (kInvalidArgument if empty).
Result<ImageReference> parse_image_reference(std::string_view text,
                                             std::string_view default_host = {});

}  // namespace kiln::oci
