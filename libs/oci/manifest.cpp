#include "oci/manifest.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "oci/digest.h"

namespace kiln::oci {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

Error invalid(const std::string& what) { return make_error(ErrorCode::kInvalidArgument, what); }

Result<Descriptor> descriptor_from(const Object::Ptr& obj, const std::string& where) {
  if (!obj) return invalid(where + " is not an object");
  Descriptor d;
  try {
    if (obj->has("mediaType")) d.media_type = obj->getValue<std::string>("mediaType");
    if (!obj->has("digest")) return invalid(where + " has no digest");
    d.digest = obj->getValue<std::string>("digest");
    if (!obj->has("size")) return invalid(where + " has no size");
    d.size = obj->getValue<Poco::Int64>("size");
    if (auto ann = obj->getObject("annotations")) {
      for (const auto& [key, value] : *ann) d.annotations[key] = value.convert<std::string>();
    }
    if (auto platform = obj->getObject("platform")) {
      d.platform = platform->optValue<std::string>("os", "") + "/" +
                   platform->optValue<std::string>("architecture", "");
      const auto variant = platform->optValue<std::string>("variant", "");
      if (!variant.empty()) d.platform += "/" + variant;
    }
  } catch (const Poco::Exception& e) {
    return invalid(where + ": " + e.displayText());
  } catch (const std::exception& e) {
    return invalid(where + ": " + e.what());
  }
  if (auto parsed = Digest::parse(d.digest); !parsed) {
    return invalid(where + ": " + parsed.error().message);
  }
  if (d.size < 0) return invalid(where + " has a negative size");
  return d;
}

Result<Object::Ptr> parse_object(std::string_view json, const std::string& what) {
  try {
    Poco::JSON::Parser parser;
    auto value = parser.parse(std::string(json));
    auto obj = value.extract<Object::Ptr>();
    if (!obj) return invalid(what + " is not a JSON object");
    return obj;
  } catch (const Poco::Exception& e) {
    return invalid(what + " is not valid JSON: " + e.displayText());
  } catch (const std::exception& e) {
    return invalid(what + " is not a JSON object: " + e.what());
  }
}

}  // namespace

bool is_index_media_type(std::string_view media_type) {
  return media_type == kMediaTypeOciIndex || media_type == kMediaTypeDockerManifestList;
}

bool is_manifest_media_type(std::string_view media_type) {
  return media_type == kMediaTypeOciManifest || media_type == kMediaTypeDockerManifest ||
         is_index_media_type(media_type);
}

std::vector<Descriptor> Manifest::blobs() const {
  std::vector<Descriptor> out;
  if (config) out.push_back(*config);
  out.insert(out.end(), layers.begin(), layers.end());
  return out;
}

std::int64_t Manifest::content_size() const {
  std::int64_t total = static_cast<std::int64_t>(raw.size());
  for (const auto& b : blobs()) total += b.size;
  return total;
}

Result<Descriptor> parse_descriptor_json(std::string_view json) {
  auto obj = parse_object(json, "descriptor");
  if (!obj) return obj.error();
  return descriptor_from(*obj, "descriptor");
}

Result<Manifest> parse_manifest(std::string raw, std::string_view fallback_media_type) {
  auto parsed = parse_object(raw, "manifest");
  if (!parsed) return parsed.error();
  const Object::Ptr& obj = *parsed;
  Manifest m;
  try {
    const auto schema = obj->optValue<int>("schemaVersion", 0);
    if (schema != 2) {
      return invalid("manifest schemaVersion is " + std::to_string(schema) + ", expected 2");
    }
    m.media_type = obj->optValue<std::string>("mediaType", "");
    if (m.media_type.empty()) m.media_type = std::string(fallback_media_type);
    const bool has_manifests = obj->has("manifests");
    if (m.media_type.empty()) {
      m.media_type = std::string(has_manifests ? kMediaTypeOciIndex : kMediaTypeOciManifest);
    }
    if (m.is_index()) {
      auto list = obj->getArray("manifests");
      if (!list) return invalid("index has no manifests array");
      for (std::size_t i = 0; i < list->size(); ++i) {
        auto d = descriptor_from(list->getObject(static_cast<unsigned>(i)),
                                 "manifests[" + std::to_string(i) + "]");
        if (!d) return d.error();
        m.manifests.push_back(std::move(*d));
      }
    } else {
      auto config = descriptor_from(obj->getObject("config"), "config");
      if (!config) return config.error();
      m.config = std::move(*config);
      auto layers = obj->getArray("layers");
      if (!layers) return invalid("manifest has no layers array");
      for (std::size_t i = 0; i < layers->size(); ++i) {
        auto d = descriptor_from(layers->getObject(static_cast<unsigned>(i)),
                                 "layers[" + std::to_string(i) + "]");
        if (!d) return d.error();
        m.layers.push_back(std::move(*d));
      }
    }
  } catch (const Poco::Exception& e) {
    return invalid("manifest: " + e.displayText());
  } catch (const std::exception& e) {
    return invalid(std::string("manifest: ") + e.what());
  }
  m.digest = sha256_digest(raw);
  m.raw = std::move(raw);
  return m;
}

}  // namespace kiln::oci
