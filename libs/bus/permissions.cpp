#include "bus/permissions.h"

#include "bus/topology.h"
#include "common/private_file.h"
#include "events/subjects.h"

namespace kiln::bus {
namespace {

std::string stream_of_bucket(const std::string& bucket) { return "KV_" + bucket; }

// What every service does on the JetStream API: provision kiln's streams and buckets at start
// (create and update only, never delete or purge), read any of them (info, message gets,
// consumers: every service may read the whole log), acknowledge, and answer flow control.
std::vector<std::string> shared_jetstream_rights() {
  std::vector<std::string> rights = {"$JS.API.INFO",
                                     "$JS.API.STREAM.NAMES",
                                     "$JS.API.STREAM.INFO.*",
                                     "$JS.API.STREAM.MSG.GET.*",
                                     "$JS.API.DIRECT.GET.>",
                                     "$JS.API.CONSUMER.>",
                                     "$JS.ACK.>",
                                     "$JS.FC.>"};
  for (const auto& stream : kiln_streams()) {
    rights.push_back("$JS.API.STREAM.CREATE." + stream.name);
    rights.push_back("$JS.API.STREAM.UPDATE." + stream.name);
  }
  for (const char* bucket : {kProjectsBucket, kLeasesBucket, kWorkersBucket, kBuildSecretsBucket}) {
    rights.push_back("$JS.API.STREAM.CREATE." + stream_of_bucket(bucket));
  }
  return rights;
}

std::string events_of(const char* type) { return events::build_subject_filter(type); }
std::string writes_to(const char* bucket) { return std::string("$KV.") + bucket + ".>"; }

UserPermissions service(std::string user, std::vector<std::string> own_rights) {
  UserPermissions permissions{std::move(user), shared_jetstream_rights(), {"_INBOX.>"}};
  permissions.publish.insert(permissions.publish.end(), own_rights.begin(), own_rights.end());
  return permissions;
}

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string subject_list(const std::vector<std::string>& subjects) {
  std::string out = "[";
  for (std::size_t i = 0; i < subjects.size(); ++i) {
    out += (i == 0 ? "" : ", ") + quoted(subjects[i]);
  }
  return out + "]";
}

}  // namespace

const std::vector<UserPermissions>& kiln_permissions() {
  static const std::vector<UserPermissions> permissions = {
      service("webhook-ingest",
              {events_of("requested"), events_of("cancel_requested"), events::upload_subject("*"),
               std::string("$JS.API.STREAM.PURGE.") + kUploadsStream, writes_to(kProjectsBucket),
               writes_to(kBuildSecretsBucket)}),
      service("scheduler",
              {events_of("requested"), events_of("queued"), events_of("dispatched"),
               events_of("failed"), events_of("cancel_requested"), events_of("cancelled"),
               "$JS.API.STREAM.CREATE." + stream_of_bucket(kSchedulerBucket),
               writes_to(kLeasesBucket), writes_to(kSchedulerBucket)}),
      service("builder", {events_of("started"), events_of("step_started"),
                          events_of("step_finished"), events_of("built"), events_of("failed"),
                          events_of("cancelled"), events::log_subject("*"),
                          writes_to(kWorkersBucket), writes_to(kBuildSecretsBucket)}),
      service("pusher", {events_of("pushed"), events_of("succeeded"), events_of("failed"),
                         events_of("cancelled"), writes_to(kWorkersBucket)}),
      service("analytics", {}),
      UserPermissions{kAdminUser, {">"}, {">"}},
  };
  return permissions;
}

Result<std::string> authorization_config(const std::map<std::string, std::string>& passwords) {
  std::string out =
      "# kiln's NATS users and what each may publish (libs/bus/permissions.cpp); anything\n"
      "# else is refused by the server. Written by kiln-nats-auth.\n"
      "authorization {\n  users: [\n";
  for (const auto& user : kiln_permissions()) {
    auto password = passwords.find(user.user);
    if (password == passwords.end() || password->second.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "no NATS password for user " + user.user);
    }
    out += "    {\n      user: " + quoted(user.user) +
           "\n      password: " + quoted(password->second) +
           "\n      permissions: {\n        publish: { allow: " + subject_list(user.publish) +
           " }\n        subscribe: { allow: " + subject_list(user.subscribe) +
           " }\n      }\n    }\n";
  }
  return out + "  ]\n}\n";
}

Result<Credentials> read_credentials_file(const std::string& path) {
  auto content = read_private_file(path, "NATS credentials file");
  if (!content.ok()) return content.error();
  std::string line = content->substr(0, content->find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const auto colon = line.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == line.size()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "NATS credentials file " + path + " must hold one line user:password");
  }
  return Credentials{line.substr(0, colon), line.substr(colon + 1)};
}

Status write_credentials_file(const std::string& path, const Credentials& credentials) {
  return write_private_file(path, credentials.user + ":" + credentials.password + "\n",
                            "NATS credentials file", /*replace=*/true);
}

std::string random_password() { return random_hex(16); }

}  // namespace kiln::bus
