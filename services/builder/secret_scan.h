// The last line of defence for build secrets: a RUN step can copy a secret into the image
// (`cat /run/secrets/tok > /app/config`), where no log masking helps. Before a layout becomes a
// `built` event, every layer (gzip or plain tar) and the config are searched for each secret
// value and its base64; a build whose image holds one fails instead of being pushed.
//
// Errors: Result (a layout that cannot be read); a found secret is a value, not an error.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/result.h"

namespace kiln::builder {

struct SecretFinding {
  std::string secret_id;
  std::string blob_digest;  // the layer or config holding it
};

// Searches the image tagged `latest` in the OCI layout at `layout_dir` for any of `secrets`
// (id -> value; values shorter than 4 bytes are skipped, as in log masking).
Result<std::optional<SecretFinding>> find_secret_in_image(
    const std::string& layout_dir, const std::map<std::string, std::string>& secrets);

}  // namespace kiln::builder
