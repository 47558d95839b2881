// SegmentPreparer: a background thread that keeps a spare ready for the writer's next segment, so
// that rotation costs a rename and no write into a new segment lands on blocks that do not exist
// yet (docs/architecture.md, "Disk facts"). A spare is a recycled segment when retention gave one
// back — its header block zeroed and synced, the rest old frames that readers tell from new ones
// by their LSNs — so in steady state nothing is written twice; else a new file written full of
// zeros and synced. The pool of recycled files is bounded; what does not fit is deleted.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "cairn/log/io.h"

namespace cairn::log {

struct Spare {
  std::string path;
  uint64_t bytes = 0;  // the file's size: the next segment's
  bool recycled = false;
};

class SegmentPreparer {
 public:
  // `recycled_max`: recycled files kept for reuse; more are deleted.
  SegmentPreparer(std::shared_ptr<FileSystem> fs, std::string dir, uint32_t recycled_max);
  // Stops the thread (a spare being made is finished first); keeps recycled files on disk, and a
  // zero-filled spare nobody took renamed as one (recycled-N.tmp, N >= kKeptSpareNumberBase): the
  // next open takes them back.
  ~SegmentPreparer();

  // Asks for a spare of about `bytes` (a recycled file of any size is taken first). Cheap; any
  // thread.
  void request(uint64_t bytes);
  // Blocks until a spare is ready and returns it (the caller renames it), or the error that
  // prevented making one (ENOSPC, EIO): then the next call tries again. When none was asked for
  // (or making it failed), asks for one of `bytes` first: the size the caller needs.
  Result<Spare> take(uint64_t bytes);
  // True when take() would not block (a spare is ready).
  bool ready() const;

  // A file that left the log (renamed into the directory as a recycled-*.tmp file, the rename
  // synced): it becomes a spare when one is wanted, or is deleted when the pool is full.
  void add_recycled(std::string path, uint64_t bytes);
  uint32_t recycled_count() const;

  // Makes one zero-filled, synced file at `path` (also used for the very first segment).
  static Status prepare_file(FileSystem& fs, const std::string& dir, const std::string& path,
                             uint64_t bytes);
  // Zeroes the header block of a recycled file and syncs it: an unwritten spare's header must read
  // as empty, never as the old segment's.
  static Status reset_header(FileSystem& fs, const std::string& path);

 private:
  void run();
  Result<Spare> make_spare(uint64_t bytes);
  // Renames the zero-filled spare at `path` to a free recycled-N.tmp (or deletes it).
  void keep_as_recycled(const std::string& path);

  std::shared_ptr<FileSystem> fs_;
  std::string dir_;
  const uint32_t recycled_max_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t wanted_bytes_ = 0;  // 0: none wanted
  bool busy_ = false;
  bool stop_ = false;
  std::optional<Spare> ready_;
  std::deque<Spare> recycled_;
  Status error_;
  uint64_t counter_ = 0;
  std::thread thread_;
};

}  // namespace cairn::log
