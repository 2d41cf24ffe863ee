#include "builder/artifact.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "oci/digest.h"
#include "oci/layout.h"
#include "oci/manifest.h"

namespace kiln::builder {
namespace {

namespace fs = std::filesystem;

Result<std::string> read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Written beside and renamed over, so a reader never sees half a file.
Status write_atomically(const fs::path& path, const std::string& bytes) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out.flush()) return make_error(ErrorCode::kInternal, "cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    return make_error(ErrorCode::kInternal, "cannot rename " + tmp.string() + ": " + ec.message());
  return {};
}

std::string to_json(const Poco::JSON::Object::Ptr& object) {
  std::ostringstream out;
  object->stringify(out);
  return out.str();
}

fs::path blob_path(const std::string& layout_dir, const std::string& digest) {
  return fs::path(layout_dir) / "blobs" / "sha256" / digest.substr(digest.find(':') + 1);
}

}  // namespace

Status annotate_layout(const std::string& layout_dir,
                       const std::map<std::string, std::string>& annotations) {
  const fs::path index_path = fs::path(layout_dir) / "index.json";
  auto index_text = read_text(index_path);
  if (!index_text.ok()) return index_text.error();
  try {
    // Object order preserved: the manifest stays byte-identical when nothing changes.
    Poco::JSON::Parser index_parser(new Poco::JSON::ParseHandler(true));
    auto index = index_parser.parse(*index_text).extract<Poco::JSON::Object::Ptr>();
    auto manifests = index->getArray("manifests");
    if (!manifests) return make_error(ErrorCode::kInvalidArgument, "index.json has no manifests");
    for (std::size_t i = 0; i < manifests->size(); ++i) {
      auto entry = manifests->getObject(static_cast<unsigned>(i));
      auto entry_annotations = entry ? entry->getObject("annotations") : nullptr;
      if (!entry_annotations || entry_annotations->optValue<std::string>(
                                    std::string(oci::kAnnotationRefName), "") != "latest") {
        continue;
      }
      const std::string old_digest = entry->getValue<std::string>("digest");
      auto manifest_text = read_text(blob_path(layout_dir, old_digest));
      if (!manifest_text.ok()) return manifest_text.error();
      Poco::JSON::Parser manifest_parser(new Poco::JSON::ParseHandler(true));
      auto manifest = manifest_parser.parse(*manifest_text).extract<Poco::JSON::Object::Ptr>();
      auto values = manifest->getObject("annotations");
      if (!values) {
        values = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
        manifest->set("annotations", values);
      }
      bool changed = false;
      for (const auto& [key, value] : annotations) {
        if (values->has(key) && values->optValue<std::string>(key, "") == value) continue;
        values->set(key, value);
        changed = true;
      }
      // Untouched bytes keep the digest buildah computed (and its JSON spelling).
      if (!changed) return {};
      const std::string bytes = to_json(manifest);
      const std::string digest = oci::sha256_digest(bytes);
      if (auto s = write_atomically(blob_path(layout_dir, digest), bytes); !s.ok()) return s;
      entry->set("digest", digest);
      entry->set("size", static_cast<Poco::Int64>(bytes.size()));
      if (auto s = write_atomically(index_path, to_json(index)); !s.ok()) return s;
      std::error_code ec;
      fs::remove(blob_path(layout_dir, old_digest), ec);  // nothing else in the layout names it
      return {};
    }
    return make_error(ErrorCode::kNotFound, "no manifest tagged latest in " + index_path.string());
  } catch (const Poco::Exception& e) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot annotate the layout at " + layout_dir + ": " + e.displayText());
  }
}

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
