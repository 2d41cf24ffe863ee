#include "builder/upload_source.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "builder/process.h"
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

// Lexically normalised path relative to the root; false when it leaves the root.
bool stays_inside(const fs::path& relative) {
  int depth = 0;
  for (const auto& part : relative) {
    if (part == "..") {
      if (--depth < 0) return false;
    } else if (part != "." && !part.empty()) {
      ++depth;
    }
  }
  return true;
}

bool safe_name(const std::string& name) {
  return !name.empty() && name.front() != '/' && stays_inside(fs::path(name)) &&
         name.find("..") == std::string::npos;
}

}  // namespace

std::optional<std::string> unsafe_tar_entry(const std::string& line) {
  // mode owner/group size date time name[ -> target | link to target]
  std::istringstream in(line);
  std::string mode, owner, size, date, time;
  if (!(in >> mode >> owner >> size >> date >> time) || mode.empty()) {
    return "unreadable archive listing line: " + line;
  }
  std::string rest;
  std::getline(in, rest);
  if (!rest.empty() && rest.front() == ' ') rest.erase(0, 1);
  const char type = mode.front();
  if (type == 'c' || type == 'b' || type == 'p' || type == 's') {
    return "device files, FIFOs and sockets are not allowed: " + rest;
  }
  if (type != '-' && type != 'd' && type != 'l' && type != 'h') {
    return "unsupported archive entry type '" + std::string(1, type) + "': " + rest;
  }
  std::string name = rest;
  std::string target;
  const std::string arrow = type == 'l' ? " -> " : " link to ";
  if (type == 'l' || type == 'h') {
    const auto at = rest.find(arrow);
    if (at == std::string::npos || rest.find(arrow, at + 1) != std::string::npos) {
      return "ambiguous link entry: " + rest;
    }
    name = rest.substr(0, at);
    target = rest.substr(at + arrow.size());
  }
  if (!safe_name(name)) return "path leaves the context: " + name;
  if (type == 'h' && !safe_name(target)) return "hard link leaves the context: " + name;
  if (type == 'l') {
    if (target.empty() || target.front() == '/') {
      return "symbolic link leaves the context: " + name + " -> " + target;
    }
    if (!stays_inside(fs::path(name).parent_path() / target)) {
      return "symbolic link leaves the context: " + name + " -> " + target;
    }
  }
  return std::nullopt;
}

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

    // List first, refuse anything unsafe, then extract.
    // --absolute-names: list names exactly as stored (tar would otherwise strip "/" and "../"
    // with a warning line), so the checks below see what a careless unpacker would write.
    std::vector<std::string> list = {"tar",
                                     "--list",
                                     "--verbose",
                                     "--numeric-owner",
                                     "--absolute-names",
                                     "--quoting-style=literal",
                                     "-f",
                                     archive};
    if (gzip) list.insert(list.begin() + 1, "-z");
    auto listed = capture_process(list, {}, std::chrono::seconds(120));
    if (!listed.ok()) return fetch_failure("tar --list: " + listed.error().describe());
    if (listed->exit_code != 0) {
      return fetch_failure("the context archive is not a valid tar: " + one_line(listed->output),
                           listed->exit_code);
    }
    std::istringstream lines(listed->output);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      if (auto unsafe = unsafe_tar_entry(line)) return fetch_failure("unsafe context: " + *unsafe);
    }
    std::vector<std::string> extract = {"tar",
                                        "--extract",
                                        "--no-same-owner",
                                        "--no-same-permissions",
                                        "--no-overwrite-dir",
                                        "-f",
                                        archive,
                                        "-C",
                                        dir};
    if (gzip) extract.insert(extract.begin() + 1, "-z");
    ProcessOptions options;
    options.argv = extract;
    options.deadline = control.deadline;
    options.cancel = control.cancel;
    OutputTail tail;
    options.on_line = [&](OutputStream stream, std::string_view line) {
      tail.add(line);
      if (sink) sink(stream, line);
    };
    auto extracted = run_process(options);
    if (!extracted.ok()) return fetch_failure("tar --extract: " + extracted.error().describe());
    if (extracted->cancelled) return Failure{v1::FETCH, "cancelled while unpacking", 143, true};
    if (extracted->exit_code != 0) {
      return fetch_failure("unpacking the context failed: " + tail.reason(""),
                           extracted->exit_code);
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
