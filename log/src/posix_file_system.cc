// FileSystem on the real POSIX calls; every failure becomes a Status naming the call and the path.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "cairn/log/io.h"

namespace cairn::log {
namespace {

const char* file_type_text(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISCHR(mode)) return "a character device";
  return "of an unknown type";
}

// What open() says of a FIFO, directory, socket or device by a name the log or engine uses.
Status not_a_regular_file(const std::string& path, mode_t mode) {
  return Status(StatusCode::kInvalidArgument,
                path + " is " + file_type_text(mode) +
                    ", not a regular file: a log or engine directory holds only the files it "
                    "made by these names; move it out");
}

class PosixFileSystem final : public FileSystem {
 public:
  Status create_dir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) != 0) return errno_status(errno, "creating directory " + path);
    return Status();
  }

  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return errno_status(errno, "listing directory " + path);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = ::readdir(d)) {
      std::string_view n(e->d_name);
      if (n != "." && n != "..") names.emplace_back(n);
    }
    const int err = errno;
    ::closedir(d);
    if (err != 0) return errno_status(err, "reading directory " + path);
    return names;
  }

  Result<bool> exists(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) return true;
    if (errno == ENOENT) return false;
    return errno_status(errno, "stat " + path);
  }

  Result<int> open(const std::string& path, OpenFlags f) override {
    // O_NONBLOCK only for the open itself: opening a FIFO named like a segment would otherwise
    // wait for a writer for good. Kept, it could make io_uring fail reads with EAGAIN.
    int flags = O_CLOEXEC | O_NONBLOCK | (f.write ? O_RDWR : O_RDONLY);
    if (f.create) flags |= O_CREAT;
    if (f.exclusive) flags |= O_EXCL;
    if (f.direct) flags |= O_DIRECT;
    if (f.dsync) flags |= O_DSYNC;
    int fd;
    do {
      fd = ::open(path.c_str(), flags, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0 && errno == EISDIR) return not_a_regular_file(path, S_IFDIR);
    if (fd < 0) return errno_status(errno, "opening " + path);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return errno_status(err, "fstat " + path);
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return not_a_regular_file(path, st.st_mode);
    }
    const int status_flags = ::fcntl(fd, F_GETFL);
    if (status_flags < 0 || ::fcntl(fd, F_SETFL, status_flags & ~O_NONBLOCK) != 0) {
      const int err = errno;
      ::close(fd);
      return errno_status(err, "fcntl " + path);
    }
    return fd;
  }

  Status close(int fd) override {
    if (::close(fd) != 0 && errno != EINTR) return errno_status(errno, "close");
    return Status();
  }

  Result<size_t> pread(int fd, void* buf, size_t len, uint64_t offset) override {
    size_t done = 0;
    while (done < len) {
      const ssize_t n = ::pread(fd, static_cast<char*>(buf) + done, len - done,
                                static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_status(errno, "pread");
      }
      if (n == 0) break;  // end of file
      done += static_cast<size_t>(n);
    }
    return done;
  }

  Status pwrite(int fd, const void* buf, size_t len, uint64_t offset) override {
    size_t done = 0;
    while (done < len) {
      const ssize_t n = ::pwrite(fd, static_cast<const char*>(buf) + done, len - done,
                                 static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_status(errno, "pwrite");
      }
      done += static_cast<size_t>(n);
    }
    return Status();
  }

  Status fdatasync(int fd) override {
    // Never retried: after a failed fdatasync the kernel may have dropped the dirty pages, so a
    // second call that succeeds proves nothing.
    if (::fdatasync(fd) != 0) return errno_status(errno, "fdatasync");
    return Status();
  }

  void drop_cached_pages(int fd) override {
    // Only advice: a refusal leaves clean pages that the kernel reclaims when it needs to.
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  }

  Status fsync_dir(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_status(errno, "opening directory " + path);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return errno_status(err, "fsync of directory " + path);
    return Status();
  }

  Result<uint64_t> file_size(int fd) override {
    struct stat st;
    if (::fstat(fd, &st) != 0) return errno_status(errno, "fstat");
    return static_cast<uint64_t>(st.st_size);
  }

  Status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return errno_status(errno, "renaming " + from + " to " + to);
    }
    return Status();
  }

  Status remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return errno_status(errno, "removing " + path);
    return Status();
  }

  Status lock(int fd) override {
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) return errno_status(errno, "flock");
    return Status();
  }
};

}  // namespace

std::shared_ptr<FileSystem> posix_file_system() {
  static const std::shared_ptr<FileSystem> fs = std::make_shared<PosixFileSystem>();
  return fs;
}

}  // namespace cairn::log
