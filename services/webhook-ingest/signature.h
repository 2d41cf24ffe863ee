// Webhook authenticity checks on the raw body, before any JSON is parsed. Every comparison is
// constant time; a malformed header is simply "no match".
#pragma once

#include <string_view>

namespace kiln::webhook {

// GitHub: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(secret, body).
bool verify_github_signature(std::string_view secret, std::string_view header,
                             std::string_view body);
// Gitea / Forgejo: X-Gitea-Signature = bare hex HMAC-SHA256(secret, body).
bool verify_gitea_signature(std::string_view secret, std::string_view header,
                            std::string_view body);
// GitLab: X-Gitlab-Token is the secret itself.
bool verify_gitlab_token(std::string_view secret, std::string_view header);

}  // namespace kiln::webhook
