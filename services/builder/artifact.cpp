#include "builder/artifact.h"

#include "oci/layout.h"

namespace kiln::builder {

Status describe_layout(const std::string& layout_dir, events::v1::ImageBuilt& built) {
  auto layout = oci::ImageLayout::open(layout_dir);
  if (!layout.ok()) return layout.error();
  auto entry = layout->find("latest");
  if (!entry.ok()) return entry.error();
  auto manifest = layout->read_manifest(*entry);
  if (!manifest.ok()) return manifest.error();
  if (manifest->is_index() || !manifest->config) {
    return make_error(ErrorCode::kInternal,
                      "the layout at " + layout_dir + " holds an index, not an image manifest");
  }
  built.set_artifact_location(layout_dir);
  built.set_manifest_digest(manifest->digest);
  built.set_manifest_media_type(manifest->media_type);
  built.set_config_digest(manifest->config->digest);
  built.clear_layers();
  for (const auto& descriptor : manifest->layers) {
    auto* layer = built.add_layers();
    layer->set_digest(descriptor.digest);
    layer->set_size(descriptor.size);
    layer->set_media_type(descriptor.media_type);
  }
  built.set_image_size(manifest->content_size());
  return {};
}

}  // namespace kiln::builder
