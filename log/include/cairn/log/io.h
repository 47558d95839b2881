// The narrow interfaces through which the log touches the disk: FileSystem for synchronous file
// and directory operations, IoQueue for the asynchronous writes and syncs of the commit path.
// Tests wrap them to inject short writes, EIO, ENOSPC and fsync failures; a simulator can replace
// them with a fake disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cairn/log/status.h"

namespace cairn::log {

struct OpenFlags {
  bool write = false;
  bool create = false;     // create if missing (O_CREAT)
  bool exclusive = false;  // fail when it exists (O_EXCL)
  bool direct = false;     // O_DIRECT: 4 KiB-aligned buffers, offsets and lengths
  bool dsync = false;      // O_DSYNC: a completed write is durable
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates one directory (mkdir). kAlreadyExists when something has that name; kNotFound when
  // its parent is missing. The new entry is durable only after fsync_dir of the parent.
  virtual Status create_dir(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, in no particular order.
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;
  virtual Result<bool> exists(const std::string& path) = 0;
  // Returns a file descriptor. O_DIRECT may be refused by the file system (EINVAL): callers that
  // ask for it must be ready to retry without.
  virtual Result<int> open(const std::string& path, OpenFlags flags) = 0;
  virtual Status close(int fd) = 0;
  // Reads up to len bytes; fewer only at the end of the file.
  virtual Result<size_t> pread(int fd, void* buf, size_t len, uint64_t offset) = 0;
  // Writes all len bytes or fails.
  virtual Status pwrite(int fd, const void* buf, size_t len, uint64_t offset) = 0;
  virtual Status fdatasync(int fd) = 0;
  virtual Status fsync_dir(const std::string& path) = 0;
  virtual Result<uint64_t> file_size(int fd) = 0;
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  virtual Status remove(const std::string& path) = 0;
  // An exclusive, non-blocking advisory lock on an open file, held until the fd is closed.
  virtual Status lock(int fd) = 0;
  // A hint that the file's cached pages are not wanted (posix_fadvise DONTNEED): a spare segment
  // written through the page cache leaves none behind. Nothing depends on it, so it reports
  // nothing; the default does nothing.
  virtual void drop_cached_pages(int /*fd*/) {}
};

// The process's real file system (POSIX calls).
std::shared_ptr<FileSystem> posix_file_system();

// A path in `dir` for `name` that nothing holds yet: `name`, else `name.1` ... `name.999`. A file
// moved aside (into a quarantine) must never replace an earlier one of the same name: the rename
// would delete the bytes that one kept. kAlreadyExists when every one is taken. The answer holds
// only while nothing else creates files in `dir` (the log's lock keeps other processes out).
Result<std::string> unused_path_in(FileSystem& fs, const std::string& dir, const std::string& name);

// Replaces the file `name` in `dir` with `bytes`, all or nothing: they go to `name`.tmp (made
// anew, so nothing of an older one is left past their end), which is synced, renamed over `name`,
// and then the directory is synced. A crash at any point leaves the old file or the new one,
// never a mix; it may leave `name`.tmp, which the next call replaces. For small files the log and
// the engine keep beside their records (the clean-close marker, the engine's options file). The
// caller keeps other writers of `name` out (the log's lock).
Status write_file_atomically(FileSystem& fs, const std::string& dir, const std::string& name,
                             std::span<const std::byte> bytes);

enum class IoOp : uint8_t {
  kWrite,          // pwrite; durable on completion only if the fd is O_DSYNC
  kWriteThenSync,  // pwrite, then fdatasync of the same fd once the write completed
  kSync,           // fdatasync
};

struct IoRequest {
  IoOp op = IoOp::kWrite;
  int fd = -1;
  const void* buf = nullptr;
  uint32_t len = 0;
  uint64_t offset = 0;
  uint64_t tag = 0;  // returned in the completion
};

struct IoCompletion {
  uint64_t tag = 0;
  // Bytes written (for writes; may be less than asked: a short write), 0 for a sync, or -errno.
  // A kWriteThenSync reports the write's error or short count if the write failed, else the
  // sync's error if that failed, else the length.
  int64_t result = 0;
};

class IoQueue {
 public:
  virtual ~IoQueue() = default;
  // Starts every request; each gets exactly one completion. Called by one thread only.
  virtual Status submit(std::span<const IoRequest> requests) = 0;
  // Collects completions into `out`. With block = true it waits until at least one completion is
  // there or wake() was called, and may then return 0. Called by the submitting thread only.
  virtual Result<size_t> wait(std::span<IoCompletion> out, bool block) = 0;
  // Makes a blocked wait() return. Safe from any thread.
  virtual void wake() = 0;
  // "io_uring" or "sync", for reports.
  virtual const char* name() const = 0;
};

// io_uring when the kernel allows it, else a queue that runs each request synchronously.
std::unique_ptr<IoQueue> default_io_queue(uint32_t depth);
// Only the synchronous fallback (for tests, and for kernels without io_uring).
std::unique_ptr<IoQueue> sync_io_queue();

}  // namespace cairn::log
