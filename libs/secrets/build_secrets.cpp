#include "secrets/build_secrets.h"

#include <algorithm>

#include "bus/topology.h"

namespace kiln::secrets {
namespace {

std::string key_of(const std::string& build_id, const std::string& secret_id) {
  return build_id + "." + secret_id;
}

}  // namespace

bool valid_secret_id(const std::string& id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

Result<std::unique_ptr<BuildSecrets>> BuildSecrets::open(bus::Bus& bus, SealingKey key) {
  auto bucket =
      bus::KeyValue::open(bus, bus::kBuildSecretsBucket, bus::build_secrets_bucket_options());
  if (!bucket.ok()) return bucket.error();
  return std::unique_ptr<BuildSecrets>(new BuildSecrets(std::move(bucket.value()), key));
}

Status BuildSecrets::put(const std::string& build_id, const std::string& secret_id,
                         const std::string& value) {
  const std::string key = key_of(build_id, secret_id);
  auto put = bucket_->put(key, key_.seal(value, key));
  if (!put.ok()) return put.error();
  return {};
}

Result<std::optional<std::string>> BuildSecrets::get(const std::string& build_id,
                                                     const std::string& secret_id) {
  const std::string key = key_of(build_id, secret_id);
  auto entry = bucket_->get(key);
  if (!entry.ok()) return entry.error();
  if (!entry->has_value() || (*entry)->deleted) return std::optional<std::string>{};
  auto opened = key_.open((*entry)->value, key);
  if (!opened.ok()) return opened.error();
  return std::optional<std::string>(std::move(opened.value()));
}

Status BuildSecrets::purge(const std::string& build_id,
                           const std::vector<std::string>& secret_ids) {
  Status first;
  for (const auto& id : secret_ids) {
    if (auto s = bucket_->purge(key_of(build_id, id)); !s.ok() && first.ok()) first = s;
  }
  return first;
}

}  // namespace kiln::secrets
