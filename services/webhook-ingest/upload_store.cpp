#include "webhook-ingest/upload_store.h"

#include "bus/consumer.h"
#include "bus/topology.h"
#include "common/log.h"
#include "events/envelope.h"
#include "events/subjects.h"

namespace kiln::webhook {
namespace {

std::string hex(const unsigned char* data, unsigned n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xf];
  }
  return out;
}

}  // namespace

UploadWriter::UploadWriter(bus::Bus& bus, std::string upload_id, std::string tenant, int timeout_ms)
    : bus_(bus),
      upload_id_(std::move(upload_id)),
      tenant_(std::move(tenant)),
      timeout_ms_(timeout_ms),
      digest_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(digest_, EVP_sha256(), nullptr);
  buffer_.reserve(kUploadChunkBytes);
}

UploadWriter::~UploadWriter() {
  EVP_MD_CTX_free(digest_);
  if (finished_ || index_ == 0) return;
  // Refused or cut short: its chunks would wait out the stream's max age for nothing.
  if (Status s = bus::purge_subject(bus_, bus::kUploadsStream, events::upload_subject(upload_id_));
      !s.ok()) {
    log::warn("removing the chunks of an unfinished upload failed",
              {{"upload_id", upload_id_}, {"error", s.error().describe()}});
  }
}

Status UploadWriter::write(std::string_view bytes) {
  EVP_DigestUpdate(digest_, bytes.data(), bytes.size());
  size_ += bytes.size();
  while (!bytes.empty()) {
    const std::size_t n = std::min(kUploadChunkBytes - buffer_.size(), bytes.size());
    buffer_.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    if (buffer_.size() == kUploadChunkBytes) {
      if (Status s = publish(false); !s.ok()) return s;
    }
  }
  return {};
}

Status UploadWriter::finish(const std::string& expected_sha256) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(digest_, digest, &len);
  sha256_ = hex(digest, len);
  if (!expected_sha256.empty() && expected_sha256 != sha256_) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "the content's sha256 is " + sha256_ + ", not " + expected_sha256);
  }
  Status published = publish(true);
  finished_ = published.ok();
  return published;
}

Status UploadWriter::publish(bool last) {
  events::v1::UploadChunk chunk;
  chunk.set_upload_id(upload_id_);
  chunk.set_index(index_);
  chunk.set_data(buffer_);
  chunk.set_last(last);
  if (last) {
    chunk.set_sha256(sha256_);
    chunk.set_total_size(static_cast<std::int64_t>(size_));
    chunk.set_tenant(tenant_);
  }
  const std::string data = chunk.SerializeAsString();
  auto ack = bus_.publish_within(events::upload_subject(upload_id_), data,
                                 upload_id_ + ":" + std::to_string(index_), timeout_ms_);
  if (!ack.ok()) return ack.error();
  ++index_;
  buffer_.clear();
  return {};
}

Result<StoredUpload> find_upload(bus::Bus& bus, const std::string& upload_id) {
  const std::string subject = events::upload_subject(upload_id);
  auto last = bus::last_message(bus, bus::kUploadsStream, subject);
  if (!last.ok()) return last.error();
  events::v1::UploadChunk chunk;
  if (!last.value() ||
      !chunk.ParseFromArray(last.value()->data().data(),
                            static_cast<int>(last.value()->data().size())) ||
      !chunk.last()) {
    return make_error(ErrorCode::kNotFound,
                      "upload " + upload_id + " does not exist or did not complete");
  }
  StoredUpload out{chunk.sha256(), chunk.total_size(), "tar", chunk.tenant()};
  // The format is in the first bytes of the first chunk (gzip magic).
  auto reader =
      bus::SubjectReader::open(bus, bus::kUploadsStream, subject, bus::SubjectReader::Start::kAll);
  if (!reader.ok()) return reader.error();
  auto first = (*reader)->next(2000);
  if (!first.ok()) return first.error();
  events::v1::UploadChunk head;
  if (first.value() && head.ParseFromArray(first.value()->data().data(),
                                           static_cast<int>(first.value()->data().size()))) {
    const std::string& d = head.data();
    if (d.size() >= 2 && static_cast<unsigned char>(d[0]) == 0x1f &&
        static_cast<unsigned char>(d[1]) == 0x8b) {
      out.format = "tar.gz";
    }
  }
  return out;
}

}  // namespace kiln::webhook
