// admin.json (see admin_file.h).
#include "admin_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

namespace cairn::web {
namespace {

Status io_error(const std::string& what, int err) {
  return Status(StatusCode::kIoError, what + ": " + std::strerror(err));
}

Status write_all_and_sync(const std::filesystem::path& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("creating " + path.string(), errno);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      return io_error("writing " + path.string(), err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return io_error("syncing " + path.string(), err);
  }
  if (::close(fd) != 0) return io_error("closing " + path.string(), errno);
  return Status();
}

}  // namespace

Status write_admin_file(const std::filesystem::path& engine_dir, const std::string& url,
                        bool token_required) {
  const nlohmann::json doc{
      {"url", url}, {"pid", static_cast<int64_t>(::getpid())}, {"token_required", token_required}};
  const std::filesystem::path final_path = engine_dir / kAdminFileName;
  std::filesystem::path tmp_path = final_path;
  tmp_path += ".tmp." + std::to_string(::getpid());
  CAIRN_RETURN_IF_ERROR(write_all_and_sync(tmp_path, doc.dump() + "\n"));
  if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    return io_error("renaming " + tmp_path.string() + " to " + final_path.string(), err);
  }
  return Status();
}

void remove_admin_file(const std::filesystem::path& engine_dir) {
  const std::filesystem::path path = engine_dir / kAdminFileName;
  std::error_code ec;
  // Not ours unless a regular file (reading a FIFO by this name would block the shutdown).
  if (!std::filesystem::is_regular_file(path, ec)) return;
  std::ifstream in(path);
  if (!in) return;
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (!doc.is_object() || !doc.contains("pid") || doc["pid"] != static_cast<int64_t>(::getpid())) {
    return;  // not ours: another engine on this directory wrote it since
  }
  ::unlink(path.c_str());
}

}  // namespace cairn::web
