// `kiln push-layout DIR IMAGE`: pushes an OCI image layout directory with kiln's registry client
// (the same code the pusher service runs), no daemon and no other service needed.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "cli/args.h"
#include "cli/cli_error.h"
#include "cli/commands.h"
#include "registry/credentials.h"
#include "registry/push.h"

namespace kiln::cli {
namespace {

struct ImageName {
  std::string host, repository, tag;
};

// host[:port]/repo/path[:tag]
ImageName parse_image(const std::string& image) {
  ImageName out;
  const auto slash = image.find('/');
  if (slash == std::string::npos) {
    throw CliError(kExitUsage, "IMAGE must be host[:port]/repository[:tag], got '" + image + "'");
  }
  out.host = image.substr(0, slash);
  std::string rest = image.substr(slash + 1);
  const auto colon = rest.rfind(':');
  if (colon != std::string::npos) {
    out.tag = rest.substr(colon + 1);
    rest.resize(colon);
  }
  out.repository = rest;
  return out;
}

}  // namespace

int cmd_push_layout(Context& ctx, const Argv& argv) {
  Args args("kiln push-layout DIR IMAGE [options]",
            "Pushes the OCI image layout in DIR to IMAGE (host[:port]/repository[:tag]) over the "
            "OCI distribution API: blobs the registry has are skipped, others uploaded in "
            "parallel. Credentials come from KILN_REGISTRY_USERNAME/PASSWORD or Docker's "
            "config.json.");
  args.value("tag", "TAG", "an additional tag (repeatable)", "t")
      .value("mount-from", "REPO",
             "repository on the same registry to mount blobs from (repeatable)")
      .value("ref", "NAME", "which image of the layout (index.json ref.name annotation)")
      .value("parallel", "N", "blob uploads at once (default 4)")
      .value("docker-config", "FILE", "Docker config.json with registry credentials")
      .flag("insecure", "plain HTTP (for a local registry)");
  if (!args.parse(argv)) return kExitOk;
  const std::string dir = args.require_positional(0, "DIR");
  const ImageName image = parse_image(args.require_positional(1, "IMAGE"));

  registry::RegistryOptions options;
  options.host = image.host;
  options.insecure = args.has("insecure");
  if (args.has("parallel"))
    options.parallelism = std::max(1, std::atoi(args.get("parallel").c_str()));
  auto credentials = registry::resolve_credentials(image.host, args.get("docker-config"));
  if (!credentials.ok()) throw CliError(kExitUsage, credentials.error().describe());
  options.credentials = *credentials;
  registry::RegistryClient client(options);

  registry::PushRequest request;
  request.layout_dir = dir;
  request.ref_name = args.get("ref");
  request.repository = image.repository;
  if (!image.tag.empty()) request.tags.push_back(image.tag);
  for (const auto& t : args.all("tag")) request.tags.push_back(t);
  request.mount_from = args.all("mount-from");
  request.on_progress = [&ctx](const registry::PushProgress& p) {
    if (ctx.json_output || p.kind != registry::PushProgress::Kind::kBlobDone) return;
    std::cerr << "  " << p.blobs_done << "/" << p.blobs_total << " " << p.digest.substr(0, 19)
              << " " << registry::to_string(p.outcome) << " (" << p.size << " bytes)\n";
  };
  auto report = registry::push_layout(client, request);
  if (!report.ok()) {
    throw CliError(report.error().code == ErrorCode::kInvalidArgument ||
                           report.error().code == ErrorCode::kNotFound
                       ? kExitUsage
                       : kExitApiError,
                   "push failed: " + report.error().describe());
  }
  if (ctx.json_output) {
    std::cout << "{\"digest\":\"" << report->manifest_digest
              << "\",\"bytes_uploaded\":" << report->bytes_uploaded
              << ",\"bytes_skipped\":" << report->bytes_skipped
              << ",\"duration_ms\":" << report->duration.count() << "}\n";
  } else {
    for (const auto& ref : report->image_refs) std::cout << ref << "\n";
    std::cerr << "uploaded " << report->bytes_uploaded << " bytes, skipped "
              << report->bytes_skipped << " bytes in " << report->duration.count() << " ms\n";
  }
  return kExitOk;
}

}  // namespace kiln::cli
