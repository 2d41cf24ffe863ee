#include "support/staged.h"

#include <stdexcept>

#include "registry/client.h"

namespace kiln::testing {
namespace {

registry::RegistryClient client_for(const events::v1::StagedImage& staged) {
  registry::RegistryOptions options;
  options.host = staged.registry();
  options.insecure = true;
  return registry::RegistryClient(options);
}

}  // namespace

StagedContent read_staged(const events::v1::ImageBuilt& built) {
  const auto& staged = built.staged();
  if (staged.tag().empty()) throw std::runtime_error("the built event names no staged image");
  auto client = client_for(staged);
  auto fetched = client.get_manifest(staged.repository(), staged.tag());
  if (!fetched.ok()) throw std::runtime_error(fetched.error().describe());
  if (fetched->digest != built.manifest_digest()) {
    throw std::runtime_error("staged manifest " + fetched->digest + " is not the built " +
                             built.manifest_digest());
  }
  auto manifest = oci::parse_manifest(fetched->raw, fetched->media_type);
  if (!manifest.ok()) throw std::runtime_error(manifest.error().describe());
  StagedContent out{std::move(*manifest), {}, {}};
  if (out.manifest.config) {
    auto config = client.get_blob(staged.repository(), out.manifest.config->digest);
    if (!config.ok()) throw std::runtime_error(config.error().describe());
    out.config = std::move(*config);
  }
  for (const auto& layer : out.manifest.layers) {
    auto bytes = client.get_blob(staged.repository(), layer.digest, 256 << 20);
    if (!bytes.ok()) throw std::runtime_error(bytes.error().describe());
    out.layers.push_back(std::move(*bytes));
  }
  return out;
}

bool is_staged(const events::v1::StagedImage& staged) {
  auto client = client_for(staged);
  auto fetched = client.get_manifest(staged.repository(), staged.tag());
  if (fetched.ok()) return true;
  if (fetched.error().code == ErrorCode::kNotFound) return false;
  throw std::runtime_error(fetched.error().describe());
}

}  // namespace kiln::testing
