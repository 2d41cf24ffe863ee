// Hand-made tar archives for tests of uploaded build contexts: entries a normal tar would refuse
// to write (absolute or ".." paths, devices, links out of the tree) are the point.
#pragma once

#include <string>

namespace kiln::testing {

// One ustar header block (with checksum) of type `type` ('0' file, '2' symlink, ...) followed by
// `data` padded to 512 bytes. Names and link targets longer than 100 bytes are cut.
std::string tar_entry(const std::string& name, char type, const std::string& data = "",
                      const std::string& link = "");

}  // namespace kiln::testing
