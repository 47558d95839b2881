// Data directories of cairn-bench (see bench_dir.h).
#include "bench_dir.h"

#include <unistd.h>

namespace cairn::bench {

namespace fs = std::filesystem;

fs::path default_data_dir(const std::string& kind) {
  return fs::path("cairn-bench-data") / (kind + "-" + std::to_string(::getpid()));
}

Status prepare_empty_dir(const fs::path& dir) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) {
      return Status(StatusCode::kInvalidArgument, dir.string() + " exists and is not a directory");
    }
    if (!fs::is_empty(dir, ec) || ec) {
      return Status(StatusCode::kInvalidArgument,
                    "--dir " + dir.string() +
                        " already holds files; give a new or empty directory (the benchmark "
                        "leaves its log there and never writes into existing data)");
    }
    return Status();
  }
  fs::create_directories(dir, ec);
  if (ec) {
    return Status(StatusCode::kInvalidArgument,
                  "cannot create " + dir.string() + ": " + ec.message());
  }
  return Status();
}

}  // namespace cairn::bench
