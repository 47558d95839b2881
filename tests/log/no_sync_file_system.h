// A FileSystem that does everything the real one does except make it durable: fdatasync and
// fsync_dir succeed at once. Tests that open hundreds of damaged logs only to check what recovery
// decides and writes use it; syncs change no byte a test could read, and on a shared disk each
// costs milliseconds.
#pragma once

#include <string>

#include "support/forwarding_file_system.h"

namespace cairn::testing {

class NoSyncFileSystem final : public ForwardingFileSystem {
 public:
  Status fdatasync(int) override { return Status(); }
  Status fsync_dir(const std::string&) override { return Status(); }
};

}  // namespace cairn::testing
