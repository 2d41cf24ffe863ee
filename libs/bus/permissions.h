// Who may do what on kiln's NATS: one user per service, each allowed to publish only the events
// it produces (docs/design.md "Events and projections") and to write only its own buckets, plus
// an operator user with every right. infra/stack.sh renders this into nats-server's
// authorization block (kiln-nats-auth), and tests start their servers with the same block, so
// the rules the suite runs under are the rules a deployment gets.
//
// Errors: Result<T> (common/result.h), nothing throws.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace kiln::bus {

struct UserPermissions {
  std::string user;
  std::vector<std::string> publish;    // subjects it may publish to (wildcards allowed)
  std::vector<std::string> subscribe;  // subjects it may subscribe to
};

inline constexpr char kAdminUser[] = "admin";

// The five services ("webhook-ingest", "scheduler", "builder", "pusher", "analytics") and the
// operator (kAdminUser), in that order.
const std::vector<UserPermissions>& kiln_permissions();

// nats-server configuration text: an `authorization { users: [...] }` block with every user of
// kiln_permissions() and its password from `passwords` (every user must have one).
Result<std::string> authorization_config(const std::map<std::string, std::string>& passwords);

// A service's NATS credentials, kept in a file of one line "user:password" readable by its owner
// only (nats.credentials-file).
struct Credentials {
  std::string user;
  std::string password;
};
Result<Credentials> read_credentials_file(const std::string& path);
// Writes `credentials` to `path` with mode 0600 (replacing what is there).
Status write_credentials_file(const std::string& path, const Credentials& credentials);
// A fresh random password (32 hex characters from the system's CSPRNG).
std::string random_password();

}  // namespace kiln::bus
