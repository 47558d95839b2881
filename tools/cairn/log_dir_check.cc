// check_log_dir (see log_dir_check.h).
#include "log_dir_check.h"

#include <system_error>

namespace cairn::tools {

Status check_log_dir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Status(StatusCode::kIoError, "cannot read " + dir.string() + ": " + ec.message());
  }
  if (!fs::exists(st)) {
    return Status(StatusCode::kNotFound, "no such directory: " + dir.string());
  }
  if (!fs::is_directory(st)) {
    return Status(StatusCode::kInvalidArgument,
                  dir.string() +
                      " is not a directory (DIR is a log directory, the one passed "
                      "to Log::open, not a segment file)");
  }
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() == ".wal") return Status();
  }
  if (ec) return Status(StatusCode::kIoError, "cannot list " + dir.string() + ": " + ec.message());
  return Status(StatusCode::kNotFound, "no log segments (*.wal files) in " + dir.string() +
                                           ": is it a Cairn log directory?");
}

}  // namespace cairn::tools
