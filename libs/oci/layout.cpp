#include "oci/layout.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "oci/digest.h"

namespace kiln::oci {
namespace {

Result<std::string> read_small_file(const std::string& path, std::int64_t max_size) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInternal,
                      "cannot stat " + path + ": " + std::strerror(errno));
  }
  if (st.st_size > max_size) {
    return make_error(ErrorCode::kResourceExhausted, path + " is " + std::to_string(st.st_size) +
                                                         " bytes, more than " +
                                                         std::to_string(max_size));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kInternal, "cannot open " + path);
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return make_error(ErrorCode::kInternal, "cannot read " + path);
  return out.str();
}

}  // namespace

Result<ImageLayout> ImageLayout::open(const std::string& dir) {
  ImageLayout layout;
  layout.dir_ = dir;
  while (layout.dir_.size() > 1 && layout.dir_.back() == '/') layout.dir_.pop_back();

  auto marker = read_small_file(layout.dir_ + "/oci-layout", 1 << 16);
  if (!marker) {
    if (marker.error().code == ErrorCode::kNotFound) {
      return make_error(ErrorCode::kNotFound, dir + " is not an OCI image layout (no oci-layout)");
    }
    return marker.error();
  }
  try {
    Poco::JSON::Parser parser;
    auto obj = parser.parse(*marker).extract<Poco::JSON::Object::Ptr>();
    const auto version = obj->optValue<std::string>("imageLayoutVersion", "");
    if (version.rfind("1.", 0) != 0) {
      return make_error(ErrorCode::kInvalidArgument, dir + "/oci-layout has imageLayoutVersion \"" +
                                                         version + "\", expected 1.x");
    }
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidArgument,
                      dir + "/oci-layout is not valid JSON: " + e.what());
  }

  auto index_raw = read_small_file(layout.dir_ + "/index.json", 16 << 20);
  if (!index_raw) return index_raw.error();
  auto index = parse_manifest(std::move(*index_raw), kMediaTypeOciIndex);
  if (!index) {
    return make_error(ErrorCode::kInvalidArgument, dir + "/index.json: " + index.error().message);
  }
  if (!index->is_index()) {
    return make_error(
        ErrorCode::kInvalidArgument,
        dir + "/index.json has media type " + index->media_type + ", expected an image index");
  }
  layout.entries_ = std::move(index->manifests);
  return layout;
}

Result<Descriptor> ImageLayout::find(std::string_view ref_name) const {
  auto name_of = [](const Descriptor& d) {
    auto it = d.annotations.find(std::string(kAnnotationRefName));
    return it == d.annotations.end() ? std::string() : it->second;
  };
  if (ref_name.empty()) {
    if (entries_.size() == 1) return entries_.front();
    if (entries_.empty()) {
      return make_error(ErrorCode::kNotFound, dir_ + "/index.json lists no manifest");
    }
    std::string names;
    for (const auto& e : entries_) names += (names.empty() ? "" : ", ") + name_of(e);
    return make_error(
        ErrorCode::kFailedPrecondition,
        dir_ + " holds " + std::to_string(entries_.size()) + " manifests; name one of: " + names);
  }
  for (const auto& e : entries_) {
    if (name_of(e) == ref_name) return e;
  }
  return make_error(ErrorCode::kNotFound, "no manifest named \"" + std::string(ref_name) +
                                              "\" in " + dir_ + "/index.json");
}

std::string ImageLayout::blob_path(std::string_view digest) const {
  std::string path = dir_ + "/blobs/";
  const auto colon = digest.find(':');
  if (colon == std::string_view::npos) return path + std::string(digest);
  path += digest.substr(0, colon);
  path += '/';
  path += digest.substr(colon + 1);
  return path;
}

Result<std::int64_t> ImageLayout::blob_size(std::string_view digest) const {
  if (auto parsed = Digest::parse(digest); !parsed) return parsed.error();
  const std::string path = blob_path(digest);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInternal,
                      "blob " + std::string(digest) + " missing from layout: " + path + ": " +
                          std::strerror(errno));
  }
  return static_cast<std::int64_t>(st.st_size);
}

Result<std::string> ImageLayout::read_blob(const Descriptor& d, std::int64_t max_size) const {
  if (auto parsed = Digest::parse(d.digest); !parsed) return parsed.error();
  if (d.size > max_size) {
    return make_error(ErrorCode::kResourceExhausted, "blob " + d.digest + " is " +
                                                         std::to_string(d.size) +
                                                         " bytes, too big to read into memory");
  }
  auto data = read_small_file(blob_path(d.digest), max_size);
  if (!data) return data.error();
  if (static_cast<std::int64_t>(data->size()) != d.size) {
    return make_error(ErrorCode::kDataLoss,
                      "blob " + d.digest + " in " + dir_ + " has " + std::to_string(data->size()) +
                          " bytes, descriptor says " + std::to_string(d.size));
  }
  const std::string actual = sha256_digest(*data);
  if (actual != d.digest) {
    return make_error(ErrorCode::kDataLoss,
                      "blob " + d.digest + " in " + dir_ + " hashes to " + actual);
  }
  return data;
}

Result<Manifest> ImageLayout::read_manifest(const Descriptor& d) const {
  auto raw = read_blob(d);
  if (!raw) return raw.error();
  auto m = parse_manifest(std::move(*raw), d.media_type);
  if (!m) {
    return make_error(m.error().code, "manifest " + d.digest + ": " + m.error().message);
  }
  return m;
}

Status ImageLayout::verify_blob(const Descriptor& d) const {
  if (auto parsed = Digest::parse(d.digest); !parsed) return parsed.error();
  return verify_file(blob_path(d.digest), d.digest, d.size);
}

}  // namespace kiln::oci
