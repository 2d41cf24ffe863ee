// `kiln build PATH`: a local directory (or `-`, a Dockerfile on standard input) built the way
// `docker buildx build` builds it. The context is packed once into a content-addressed tar.gz
// (context_pack.h), sent only when the server does not hold that digest for this tenant yet,
// and built from the upload; the build is followed live unless --detach.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "cli/args.h"
#include "cli/cli_error.h"
#include "cli/commands.h"
#include "cli/context_pack.h"
#include "cli/output.h"
#include "cli/secret_option.h"
#include "oci/digest.h"
#include "oci/reference.h"

namespace kiln::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string mebibytes(std::int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

// Progress of a long transfer on stderr: a bar redrawn in place on a terminal, otherwise a plain
// line at every tenth.
class TransferProgress {
 public:
  TransferProgress(std::string label, std::int64_t total, bool tty)
      : label_(std::move(label)), total_(total), tty_(tty), started_(Clock::now()) {}

  void update(std::int64_t done) {
    const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    const int tenth = total_ > 0 ? static_cast<int>(done * 10 / total_) : 10;
    if (tty_) {
      const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0;
      std::fprintf(stderr, "\r\033[2K%s %s / %s  %s/s  ETA %.0f s", label_.c_str(),
                   mebibytes(done).c_str(), mebibytes(total_).c_str(),
                   mebibytes(static_cast<std::int64_t>(rate)).c_str(), eta);
    } else if (tenth > last_tenth_) {
      std::fprintf(stderr, "%s %d %% (%s of %s, %s/s)\n", label_.c_str(), tenth * 10,
                   mebibytes(done).c_str(), mebibytes(total_).c_str(),
                   mebibytes(static_cast<std::int64_t>(rate)).c_str());
    }
    last_tenth_ = std::max(last_tenth_, tenth);
  }
  void finish() {
    if (tty_) std::fprintf(stderr, "\n");
  }

 private:
  std::string label_;
  std::int64_t total_;
  bool tty_;
  Clock::time_point started_;
  int last_tenth_ = 0;
};

std::string read_all(std::istream& in) {
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The -t references: one repository on one registry, any number of tags.
struct Target {
  std::string registry, repository;
  std::vector<std::string> tags;
};

Target parse_targets(const std::vector<std::string>& references) {
  if (references.empty()) {
    throw CliError(kExitUsage, "name the image with -t REGISTRY/REPOSITORY[:TAG]");
  }
  Target target;
  for (const auto& text : references) {
    auto parsed = oci::parse_image_reference(text);
    if (!parsed.ok()) {
      throw CliError(kExitUsage, "-t " + text + ": " + parsed.error().message +
                                     " (give the registry, e.g. 127.0.0.1:5000/me/app:dev)");
    }
    if (!parsed->digest.empty()) throw CliError(kExitUsage, "-t " + text + ": no digest here");
    if (target.repository.empty()) {
      target.registry = parsed->host;
      target.repository = parsed->repository;
    } else if (parsed->host != target.registry || parsed->repository != target.repository) {
      throw CliError(kExitUsage, "every -t must name the same repository (" + target.registry +
                                     "/" + target.repository + "), not " + text);
    }
    target.tags.push_back(parsed->tag.empty() ? "latest" : parsed->tag);
  }
  return target;
}

// The upload id of a context the server holds for this tenant; empty when it holds none.
std::string stored_upload(Context& ctx, const std::string& digest) {
  try {
    return field(ctx.api->command("GET", "/v1/uploads/" + digest), "upload_id");
  } catch (const CliError& e) {
    if (e.http_status() != 404) throw;
  }
  return {};
}

// Where the digest of a directory's last pack is kept with the signature of its tree
// ($XDG_CACHE_HOME or ~/.cache, kiln/contexts/<hash of the directory and Dockerfile>).
std::string signature_file(const std::string& dir, const std::string& dockerfile) {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::string base = xdg && *xdg ? xdg : std::string(home ? home : "/tmp") + "/.cache";
  std::error_code ec;
  const std::string key = fs::absolute(dir, ec).string() + '\n' + dockerfile;
  return base + "/kiln/contexts/" + oci::sha256_digest(key).substr(7, 32);
}

// The digest packed last time when the tree's signature is still the same.
std::string remembered_digest(const std::string& file, const std::string& signature) {
  std::ifstream in(file);
  std::string stored_signature, digest;
  in >> stored_signature >> digest;
  return stored_signature == signature && oci::is_valid_digest(digest) ? digest : std::string();
}

void remember_digest(const std::string& file, const std::string& signature,
                     const std::string& digest) {
  std::error_code ec;
  fs::create_directories(fs::path(file).parent_path(), ec);
  std::ofstream(file, std::ios::trunc) << signature << " " << digest << "\n";
}

// Sends the packed context unless the server holds it already; returns its upload id.
std::string upload_context(Context& ctx, const std::string& archive, const PackedContext& packed,
                           bool tty) {
  const std::string hex = packed.digest.substr(7);
  if (auto id = stored_upload(ctx, packed.digest); !id.empty()) {
    std::fprintf(stderr, "context %s unchanged: already on the server, nothing sent\n",
                 packed.digest.c_str());
    return id;
  }
  TransferProgress progress("sending context", packed.archive_bytes, tty);
  std::int64_t sent = 0;
  auto stored = ctx.api->upload_file("/v1/uploads?sha256=" + hex, archive, [&](std::int64_t n) {
    sent += n;
    progress.update(sent);
  });
  progress.finish();
  return field(stored, "upload_id");
}

// The upload id of the context of `dir`: nothing packed or sent when the tree is as it was at
// its last pack and the server still holds that; packed and sent only when the server lacks it.
std::string send_context(Context& ctx, const std::string& dir, PackOptions options, bool tty) {
  const std::string signature = context_signature(dir, options);
  const std::string remembered = signature_file(dir, options.dockerfile);
  if (const auto digest = remembered_digest(remembered, signature); !digest.empty()) {
    if (auto id = stored_upload(ctx, digest); !id.empty()) {
      std::fprintf(stderr, "context %s unchanged: already on the server, nothing sent\n",
                   digest.c_str());
      return id;
    }
  }
  const char* tmp = std::getenv("TMPDIR");
  const std::string archive = std::string(tmp && *tmp ? tmp : "/tmp") + "/kiln-context-" +
                              std::to_string(getpid()) + ".tar.gz";
  struct Remove {
    std::string path;
    ~Remove() { std::remove(path.c_str()); }
  } remove{archive};
  std::unique_ptr<TransferProgress> packing_bar;
  options.progress = [&](std::int64_t done, std::int64_t total) {
    if (!packing_bar) packing_bar = std::make_unique<TransferProgress>("packing", total, tty);
    packing_bar->update(done);
  };
  const PackedContext packed = pack_context(dir, archive, options);
  if (packing_bar) packing_bar->finish();
  for (const auto& skipped : packed.skipped) {
    std::fprintf(stderr, "not in the context (not a file, directory or link): %s\n",
                 skipped.c_str());
  }
  std::fprintf(stderr, "context: %lld files, %s, packed to %s (%s)\n",
               static_cast<long long>(packed.files), mebibytes(packed.file_bytes).c_str(),
               mebibytes(packed.archive_bytes).c_str(), packed.digest.c_str());
  const std::string id = upload_context(ctx, archive, packed, tty);
  remember_digest(remembered, signature, packed.digest);
  return id;
}

}  // namespace

bool is_local_build(const Argv& argv) {
  static const std::set<std::string> kTakesValue = {
      "--ref",  "--commit", "--build-arg", "--target",   "--tag",   "-t",      "--priority",
      "--file", "-f",       "--platform",  "--progress", "--label", "--secret"};
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& token = argv[i];
    if (token == "--project" || token.rfind("--project=", 0) == 0) return false;
    if (kTakesValue.count(token)) {
      ++i;
      continue;
    }
    if (token == "-") return true;
    if (token.rfind("-", 0) == 0) continue;  // an option, or --name=value
    if (token == "." || token.find('/') != std::string::npos) return true;
    std::error_code ec;
    if (fs::is_directory(token, ec)) return true;
  }
  return false;
}

int cmd_build_local(Context& ctx, const Argv& argv) {
  Args args("kiln build PATH -t REGISTRY/REPOSITORY[:TAG] [options]",
            "Builds the local directory PATH (or `-`: a Dockerfile read from standard input, no "
            "context) and pushes the image. The context is packed as `docker build` packs it "
            "(.dockerignore applies) and sent only when the server does not have it yet. "
            "Follows the build live and prints IMAGE@DIGEST at the end.");
  args.value("file", "FILE", "the Dockerfile (default PATH/Dockerfile)", "f")
      .value("tag", "IMAGE[:TAG]", "image to push, with its registry (repeatable: more tags)", "t")
      .value("build-arg", "K=V", "build argument (repeatable)")
      .value("label", "K=V", "image label (repeatable)")
      .value("target", "STAGE", "target stage of a multi-stage Dockerfile")
      .value("platform", "OS/ARCH", "platform to build for (default: the builder's)")
      .value("secret", "id=NAME,src=FILE",
             "a secret for RUN --mount=type=secret,id=NAME (or env=VARIABLE); sent with the "
             "request, never in the context, deleted when the build ends (repeatable)")
      .value("progress", "MODE", "auto (a bar on a terminal), plain (lines, no escapes), json")
      .flag("no-cache", "do not reuse cached layers")
      .flag("detach", "print the build id and return at once", "d");
  if (!args.parse(argv)) return kExitOk;
  const std::string path = args.require_positional(0, "PATH");
  const std::string progress = args.get("progress", "auto");
  if (progress != "auto" && progress != "plain" && progress != "json") {
    throw CliError(kExitUsage, "--progress must be auto, plain or json");
  }
  if (progress == "json") ctx.json_output = true;
  if (progress == "plain") ctx.plain = true;
  const bool tty = progress == "auto" && isatty(STDERR_FILENO);
  const Target target = parse_targets(args.all("tag"));

  Poco::JSON::Object request;
  request.set("image", target.repository);
  request.set("registry", target.registry);
  Poco::JSON::Array::Ptr tags = new Poco::JSON::Array();
  for (const auto& tag : target.tags) tags->add(tag);
  request.set("tags", tags);
  if (args.has("target")) request.set("target", args.get("target"));
  if (args.has("platform")) request.set("platform", args.get("platform"));
  if (args.has("no-cache")) request.set("no_cache", true);
  const auto build_args = key_values(args.all("build-arg"), "--build-arg");
  if (build_args->size() > 0) request.set("build_args", build_args);
  const auto labels = key_values(args.all("label"), "--label");
  if (labels->size() > 0) request.set("labels", labels);
  const auto secrets = secrets_from_options(args.all("secret"));
  if (secrets->size() > 0) request.set("secrets", secrets);

  std::string dockerfile;
  if (path == "-") {
    if (args.has("file")) throw CliError(kExitUsage, "with `-` the Dockerfile is standard input");
    dockerfile = read_all(std::cin);
  } else {
    if (!fs::is_directory(path)) throw CliError(kExitUsage, path + " is not a directory");
    const std::string file = args.get("file", path + "/Dockerfile");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw CliError(kExitUsage, "cannot read the Dockerfile " + file);
    dockerfile = read_all(in);

    PackOptions options;
    // The Dockerfile goes in the request; inside the context it is kept only when it is there.
    std::error_code ec;
    const auto relative = fs::relative(fs::absolute(file), fs::absolute(path), ec);
    if (!ec && !relative.empty() && relative.begin()->string() != "..") {
      options.dockerfile = relative.generic_string();
    }
    request.set("context_upload_id", send_context(ctx, path, options, tty));
  }
  if (dockerfile.empty()) throw CliError(kExitUsage, "the Dockerfile is empty");
  request.set("dockerfile_base64", base64(dockerfile));

  std::ostringstream body;
  request.stringify(body);
  auto answer = ctx.api->command("POST", "/v1/builds", body.str());
  const std::string build_id = field(answer, "build_id");
  if (args.has("detach")) {
    std::cout << (ctx.json_output ? to_json(answer) : build_id) << "\n";
    return kExitOk;
  }
  if (!ctx.json_output) std::cerr << "build " << build_id << " requested\n";
  const int outcome = follow_build(ctx, build_id);
  if (outcome != kExitOk || ctx.json_output) return outcome;
  auto build = ctx.api->query("/v1/builds/" + build_id);
  std::cout << target.registry << "/" << target.repository << "@" << field(build, "digest") << "\n";
  return outcome;
}

}  // namespace kiln::cli
