// SegmentPreparer: a background thread that keeps a zero-filled, synced spare file ready for the
// writer's next segment, so that rotation costs a rename and no write into a fresh file has to
// commit file-system metadata on the commit path (docs/architecture.md, "Disk facts").
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "cairn/log/io.h"

namespace cairn::log {

class SegmentPreparer {
 public:
  SegmentPreparer(std::shared_ptr<FileSystem> fs, std::string dir, uint64_t segment_bytes);
  ~SegmentPreparer();  // stops the thread and removes a spare nobody took

  // Asks for a spare if none is ready or being made. Cheap; any thread.
  void request();
  // Blocks until a spare is ready and returns its path (the caller renames it), or the error that
  // prevented making it (ENOSPC, EIO).
  Result<std::string> take();

  // Makes one zero-filled, synced file at `path` (also used for the very first segment).
  static Status prepare_file(FileSystem& fs, const std::string& dir, const std::string& path,
                             uint64_t segment_bytes);

 private:
  void run();

  std::shared_ptr<FileSystem> fs_;
  std::string dir_;
  uint64_t segment_bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool busy_ = false;
  bool stop_ = false;
  std::optional<std::string> ready_;
  Status error_;
  uint64_t counter_ = 0;
  std::thread thread_;
};

}  // namespace cairn::log
