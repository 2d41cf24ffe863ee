#include "builder/secret_scan.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <vector>

#include "oci/layout.h"

namespace kiln::builder {
namespace {

constexpr std::size_t kMinLength = 4;
constexpr std::size_t kChunk = 256 * 1024;

struct Needle {
  std::string id;
  std::string bytes;
};

std::string base64(std::string_view data) {
  std::string out(((data.size() + 2) / 3) * 4 + 1, '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                  reinterpret_cast<const unsigned char*>(data.data()),
                  static_cast<int>(data.size()));
  out.pop_back();
  return out;
}

// Feeds a stream through in chunks, keeping the tail of the previous chunk so a needle split
// across two chunks is still found.
class Matcher {
 public:
  explicit Matcher(const std::vector<Needle>& needles) : needles_(needles) {
    for (const auto& n : needles_) longest_ = std::max(longest_, n.bytes.size());
  }
  const Needle* feed(const char* data, std::size_t size) {
    window_.append(data, size);
    for (const auto& n : needles_) {
      if (window_.find(n.bytes) != std::string::npos) return &n;
    }
    if (window_.size() > longest_) window_.erase(0, window_.size() - longest_);
    return nullptr;
  }

 private:
  const std::vector<Needle>& needles_;
  std::size_t longest_ = 0;
  std::string window_;
};

Result<const Needle*> scan_file(const std::string& path, const std::vector<Needle>& needles) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kInternal, "cannot read " + path);
  Matcher matcher(needles);
  std::vector<char> input(kChunk);
  std::vector<char> output(kChunk);
  z_stream z{};
  bool gzip = false;
  bool first = true;
  struct InflateEnd {
    z_stream* z;
    bool* active;
    ~InflateEnd() {
      if (*active) inflateEnd(z);
    }
  } end{&z, &gzip};
  while (in) {
    in.read(input.data(), static_cast<std::streamsize>(input.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;
    if (first) {
      first = false;
      if (got >= 2 && static_cast<unsigned char>(input[0]) == 0x1f &&
          static_cast<unsigned char>(input[1]) == 0x8b) {
        if (inflateInit2(&z, 15 + 32) != Z_OK) {
          return make_error(ErrorCode::kInternal, "zlib init failed");
        }
        gzip = true;
      }
    }
    if (!gzip) {
      if (const Needle* hit = matcher.feed(input.data(), got)) return hit;
      continue;
    }
    z.next_in = reinterpret_cast<Bytef*>(input.data());
    z.avail_in = static_cast<uInt>(got);
    while (z.avail_in > 0) {
      z.next_out = reinterpret_cast<Bytef*>(output.data());
      z.avail_out = static_cast<uInt>(output.size());
      const int rc = inflate(&z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        return make_error(ErrorCode::kInternal, "layer " + path + " is not valid gzip");
      }
      const std::size_t produced = output.size() - z.avail_out;
      if (const Needle* hit = matcher.feed(output.data(), produced)) return hit;
      if (rc == Z_STREAM_END) {
        // Concatenated gzip members are valid; start the next one.
        if (z.avail_in == 0) break;
        inflateReset(&z);
      } else if (rc == Z_BUF_ERROR && produced == 0) {
        break;
      }
    }
  }
  return static_cast<const Needle*>(nullptr);
}

}  // namespace

Result<std::optional<SecretFinding>> find_secret_in_image(
    const std::string& layout_dir, const std::map<std::string, std::string>& secrets) {
  std::vector<Needle> needles;
  for (const auto& [id, value] : secrets) {
    if (value.size() < kMinLength) continue;
    needles.push_back({id, value});
    needles.push_back({id, base64(value)});
  }
  if (needles.empty()) return std::optional<SecretFinding>{};
  auto layout = oci::ImageLayout::open(layout_dir);
  if (!layout.ok()) return layout.error();
  auto top = layout->find("latest");
  if (!top.ok()) return top.error();
  auto manifest = layout->read_manifest(*top);
  if (!manifest.ok()) return manifest.error();
  std::vector<oci::Descriptor> blobs = manifest->layers;
  if (manifest->config) blobs.push_back(*manifest->config);
  for (const auto& blob : blobs) {
    auto hit = scan_file(layout->blob_path(blob.digest), needles);
    if (!hit.ok()) return hit.error();
    if (*hit != nullptr)
      return std::optional<SecretFinding>{SecretFinding{(*hit)->id, blob.digest}};
  }
  return std::optional<SecretFinding>{};
}

}  // namespace kiln::builder
