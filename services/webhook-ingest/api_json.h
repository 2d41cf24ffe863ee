// Reading command-API request bodies: malformed JSON is 400, a bad or missing field is 422 with
// the field's path first in the message.
#pragma once

#include <string_view>

#include "json/reader.h"

namespace kiln::webhook {

// The body's top-level object; throws http::HttpError 400 when it is not one.
json::Reader api_body(std::string_view body);
// Turns a json::Reader Error into the HTTP error a client sees (400 or 422).
[[noreturn]] void throw_field_error(const Error& error);

}  // namespace kiln::webhook
