// The source of a build without Git: the Dockerfile from the `requested` event and the context
// archive from KILN_UPLOADS (kiln.upload.<id>), reassembled, checked against the announced
// sha256 and unpacked by libs/archive's rules (relative paths inside the tree, links that stay
// inside, no device files or FIFOs, bounded entries and unpacked bytes).
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

}  // namespace kiln::builder
