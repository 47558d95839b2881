// SegmentRetention: the log's segments in order, and taking old ones out of it. Retention removes
// only whole segments that lie below an LSN its owner no longer needs, that were sealed (the
// next segment began) before a given time, and that no live reader may still read; it never
// removes the segment the writer writes. A removed segment is renamed to a recycled-*.tmp file,
// the directory is synced, and only then is the file handed to the SegmentPreparer as a spare:
// after a crash the old name either still holds the old segment or is gone, never a reused file.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cairn/log/io.h"
#include "cairn/log/log.h"
#include "log_directory.h"
#include "segment_preparer.h"

namespace cairn::log {

class SegmentRetention {
 public:
  SegmentRetention(std::shared_ptr<FileSystem> fs, std::string dir, SegmentPreparer& preparer);

  // The segments recovery left (sorted); then each one the writer starts.
  void reset(std::vector<SegmentFile> segments);
  void add(const SegmentFile& segment);

  // A reader that may read from `lsn` on: nothing at or after the segment holding it leaves
  // until unpin(lsn). Thread-safe.
  void pin(Lsn lsn);
  void unpin(Lsn lsn);

  Lsn first_lsn() const;
  size_t count() const;

  Result<SegmentsRemoved> remove_before(Lsn lsn,
                                        std::chrono::system_clock::time_point sealed_before);

 private:
  // When the segment after `index` began (its header's creation time), in ms since the epoch.
  Result<uint64_t> sealed_at_ms(size_t index) const;

  std::shared_ptr<FileSystem> fs_;
  std::string dir_;
  SegmentPreparer& preparer_;
  mutable std::mutex mu_;
  std::vector<SegmentFile> segments_;
  std::multiset<Lsn> pins_;
};

}  // namespace cairn::log
