// The source of a build without Git: the Dockerfile from the `requested` event and the context
// archive from KILN_UPLOADS (kiln.upload.<id>), reassembled, checked against the announced
// sha256 and unpacked safely (no absolute or ".." paths, no links leaving the tree, no device
// files or FIFOs).
#pragma once

#include <optional>
#include <string>

#include "builder/build_engine.h"
#include "builder/failure.h"
#include "bus/bus.h"
#include "kiln/events/v1/events.pb.h"

namespace kiln::builder {

std::optional<Failure> fetch_upload(bus::Bus& bus, const events::v1::UploadSource& upload,
                                    const std::string& dir, const events::v1::BuildSpec& spec,
                                    const LineSink& sink, const RunControl& control);

// One line of `tar -tv` output checked against the rules above; a reason when it breaks one.
std::optional<std::string> unsafe_tar_entry(const std::string& listing_line);

}  // namespace kiln::builder
