// ForwardingFileSystem: the real file system, call for call. Tests that change one operation
// (fail a close, skip syncs, run a hook at the first read) derive from it and override only that.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cairn/log/io.h"

namespace cairn::testing {

class ForwardingFileSystem : public log::FileSystem {
 public:
  Status create_dir(const std::string& path) override { return real_->create_dir(path); }
  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    return real_->list_dir(path);
  }
  Result<bool> exists(const std::string& path) override { return real_->exists(path); }
  Result<int> open(const std::string& path, log::OpenFlags flags) override {
    return real_->open(path, flags);
  }
  Status close(int fd) override { return real_->close(fd); }
  Result<size_t> pread(int fd, void* buf, size_t len, uint64_t offset) override {
    return real_->pread(fd, buf, len, offset);
  }
  Status pwrite(int fd, const void* buf, size_t len, uint64_t offset) override {
    return real_->pwrite(fd, buf, len, offset);
  }
  Status fdatasync(int fd) override { return real_->fdatasync(fd); }
  Status fsync_dir(const std::string& path) override { return real_->fsync_dir(path); }
  Result<uint64_t> file_size(int fd) override { return real_->file_size(fd); }
  Status rename(const std::string& from, const std::string& to) override {
    return real_->rename(from, to);
  }
  Status remove(const std::string& path) override { return real_->remove(path); }
  Status lock(int fd) override { return real_->lock(fd); }

 protected:
  std::shared_ptr<log::FileSystem> real_ = log::posix_file_system();
};

}  // namespace cairn::testing
