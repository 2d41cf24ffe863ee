#include "builder/image_store.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

namespace kiln::builder {
namespace {

std::string strip_algorithm(const std::string& id) {
  return id.rfind("sha256:", 0) == 0 ? id.substr(7) : id;
}

// The top-level array of a metadata file; an absent file is an empty storage.
Result<Poco::JSON::Array::Ptr> read_array(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Poco::JSON::Array::Ptr(new Poco::JSON::Array);
  std::stringstream text;
  text << in.rdbuf();
  try {
    auto parsed = Poco::JSON::Parser().parse(text.str());
    auto array = parsed.extract<Poco::JSON::Array::Ptr>();
    if (array.isNull()) return make_error(ErrorCode::kDataLoss, path + ": not a JSON array");
    return array;
  } catch (const Poco::Exception& e) {
    return make_error(ErrorCode::kDataLoss, path + ": " + e.displayText());
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kDataLoss, path + ": " + e.what());
  }
}

std::string string_field(const Poco::JSON::Object::Ptr& object, const std::string& key) {
  if (!object->has(key) || object->isNull(key)) return {};
  return object->getValue<std::string>(key);
}

}  // namespace

std::int64_t parse_storage_time(const std::string& text) {
  std::tm tm{};
  std::istringstream in(text.substr(0, 19));
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  if (in.fail() || text.size() < 20) return 0;
  std::int64_t millis = 0;
  std::size_t at = 19;
  if (text[at] == '.') {
    int digits = 0;
    for (++at; at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])); ++at) {
      if (digits++ < 3) millis = millis * 10 + (text[at] - '0');
    }
    for (; digits < 3; ++digits) millis *= 10;
  }
  // containers/storage writes UTC ("Z"); any offset is not what it writes, so not trusted.
  if (at >= text.size() || text[at] != 'Z') return 0;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + millis;
}

Result<StorageState> read_storage(const std::string& root) {
  StorageState state;
  auto images = read_array(root + "/vfs-images/images.json");
  if (!images.ok()) return images.error();
  auto layers = read_array(root + "/vfs-layers/layers.json");
  if (!layers.ok()) return layers.error();
  try {
    for (std::size_t i = 0; i < (*images)->size(); ++i) {
      auto object = (*images)->getObject(static_cast<unsigned>(i));
      if (object.isNull()) continue;
      StoredImage image;
      image.id = string_field(object, "id");
      image.top_layer = string_field(object, "layer");
      image.created_ms = parse_storage_time(string_field(object, "created"));
      if (auto names = object->getArray("names"); !names.isNull()) {
        for (std::size_t n = 0; n < names->size(); ++n) {
          image.names.push_back(names->getElement<std::string>(static_cast<unsigned>(n)));
        }
      }
      if (!image.id.empty()) state.images.push_back(std::move(image));
    }
    for (std::size_t i = 0; i < (*layers)->size(); ++i) {
      auto object = (*layers)->getObject(static_cast<unsigned>(i));
      if (object.isNull()) continue;
      state.layers.push_back({string_field(object, "id"), string_field(object, "parent")});
    }
  } catch (const Poco::Exception& e) {
    return make_error(ErrorCode::kDataLoss,
                      root + ": unexpected storage metadata: " + e.displayText());
  }
  return state;
}

std::vector<std::string> build_step_images(const StorageState& storage, const std::string& final_id,
                                           std::int64_t created_since_ms,
                                           const std::string& names_prefix) {
  const std::string wanted = strip_algorithm(final_id);
  const auto final_image =
      std::find_if(storage.images.begin(), storage.images.end(),
                   [&](const StoredImage& image) { return image.id == wanted; });
  if (final_image == storage.images.end()) return {};

  std::set<std::string> chain;
  // A parent loop would be a corrupt storage; the bound keeps the walk finite regardless.
  std::string layer = final_image->top_layer;
  for (std::size_t hops = 0; !layer.empty() && hops <= storage.layers.size(); ++hops) {
    chain.insert(layer);
    const auto found = std::find_if(storage.layers.begin(), storage.layers.end(),
                                    [&](const StoredLayer& l) { return l.id == layer; });
    layer = found == storage.layers.end() ? std::string() : found->parent;
  }

  std::vector<std::string> steps;
  for (const auto& image : storage.images) {
    const bool named_elsewhere =
        std::any_of(image.names.begin(), image.names.end(), [&](const std::string& name) {
          return names_prefix.empty() || name.rfind(names_prefix, 0) != 0;
        });
    if (named_elsewhere) continue;
    const bool in_chain = chain.count(image.top_layer) > 0;
    const bool made_since = created_since_ms > 0 && image.created_ms >= created_since_ms;
    if (in_chain || made_since) steps.push_back(image.id);
  }
  return steps;
}

bool holds_image(const StorageState& storage, const std::string& id) {
  const std::string wanted = strip_algorithm(id);
  return std::any_of(storage.images.begin(), storage.images.end(),
                     [&](const StoredImage& image) { return image.id == wanted; });
}

}  // namespace kiln::builder
