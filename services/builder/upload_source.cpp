#include "builder/upload_source.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

#include "archive/context_archive.h"
#include "bus/consumer.h"
#include "bus/topology.h"
#include "events/subjects.h"
#include "oci/digest.h"

namespace kiln::builder {
namespace {

namespace fs = std::filesystem;
namespace v1 = events::v1;

constexpr int kChunkWaitMs = 5000;

Failure fetch_failure(const std::string& reason, int exit_code = 1) {
  return Failure{v1::FETCH, reason, exit_code, false};
}

bool safe_name(const std::string& name) {
  return !name.empty() && archive::stays_inside("", name) && name.find("..") == std::string::npos;
}

}  // namespace

std::optional<Failure> fetch_upload(bus::Bus& bus, const v1::UploadSource& upload,
                                    const std::string& dir, const v1::BuildSpec& spec,
                                    const LineSink& sink, const RunControl& control) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fetch_failure("cannot create " + dir + ": " + ec.message());

  if (!upload.context_upload_id().empty()) {
    if (!events::valid_token(upload.context_upload_id())) {
      return fetch_failure("invalid context upload id");
    }
    const bool gzip = upload.context_format() == "tar.gz";
    const std::string archive = dir + "/../context" + (gzip ? ".tar.gz" : ".tar");
    auto reader = bus::SubjectReader::open(bus, bus::kUploadsStream,
                                           events::upload_subject(upload.context_upload_id()),
                                           bus::SubjectReader::Start::kAll);
    if (!reader.ok()) return fetch_failure("reading the upload: " + reader.error().describe());
    std::ofstream out(archive, std::ios::binary | std::ios::trunc);
    oci::Sha256 sha;
    std::int64_t expected_index = 0;
    std::string announced;
    while (true) {
      if (control.cancel && control.cancel->cancelled()) {
        return Failure{v1::FETCH, "cancelled while reading the upload", 143, true};
      }
      auto next = (*reader)->next(kChunkWaitMs);
      if (!next.ok()) return fetch_failure("reading the upload: " + next.error().describe());
      if (!next->has_value()) {
        return fetch_failure("the context upload " + upload.context_upload_id() +
                             " is incomplete (no last chunk)");
      }
      v1::UploadChunk chunk;
      const auto data = (*next)->data();
      if (!chunk.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
        return fetch_failure("the context upload holds a message that is not an UploadChunk");
      }
      if (chunk.index() != expected_index) {
        return fetch_failure("the context upload is out of order: chunk " +
                             std::to_string(chunk.index()) + " where " +
                             std::to_string(expected_index) + " was expected");
      }
      ++expected_index;
      out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
      sha.update(chunk.data());
      if (chunk.last()) {
        announced = chunk.sha256();
        break;
      }
    }
    out.close();
    if (!out) return fetch_failure("cannot write " + archive);
    const std::string actual = sha.finish().substr(7);  // without "sha256:"
    if (actual != announced ||
        (!upload.context_sha256().empty() && actual != upload.context_sha256())) {
      return fetch_failure("the context upload's sha256 " + actual +
                           " does not match the announced " +
                           (upload.context_sha256().empty() ? announced : upload.context_sha256()));
    }

    bool timed_out = false;
    auto stop = [&]() -> std::optional<std::string> {
      if (control.cancel && control.cancel->cancelled()) return "cancelled while unpacking";
      if (control.deadline && std::chrono::steady_clock::now() >= *control.deadline) {
        timed_out = true;
        return "timed out while unpacking the context";
      }
      return std::nullopt;
    };
    auto unpacked = archive::extract_context(archive, dir, archive::ContextLimits{}, stop);
    if (!unpacked.ok()) {
      const Error& error = unpacked.error();
      if (error.code != ErrorCode::kCancelled) {
        return fetch_failure("unsafe or unreadable context: " + error.message);
      }
      if (timed_out) return Failure{v1::TIMEOUT, error.message, 124, false};
      return Failure{v1::FETCH, error.message, 143, true};
    }
    if (sink) {
      sink(OutputStream::kStdout, "unpacked the context: " + std::to_string(unpacked->entries) +
                                      " entries, " + std::to_string(unpacked->unpacked_bytes) +
                                      " bytes");
    }
    fs::remove(archive, ec);
  }

  if (!upload.dockerfile().empty()) {
    const std::string context = spec.context().empty() ? "." : spec.context();
    const std::string name = spec.dockerfile().empty() ? "Dockerfile" : spec.dockerfile();
    if (!safe_name(context == "." ? name : context + "/" + name)) {
      return fetch_failure("Dockerfile path leaves the context");
    }
    const fs::path path = fs::path(dir) / context / name;
    fs::create_directories(path.parent_path(), ec);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << upload.dockerfile();
  }
  return std::nullopt;
}

}  // namespace kiln::builder
