// LogReader over a log directory: segment after segment, checking that each starts where the
// previous one ended. A live reader (Log::read_from) is bounded by the durable LSN and re-reads
// when it reaches bytes the writer has made durable since it last looked.
#include <algorithm>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "cairn/log/reader.h"
#include "log_directory.h"
#include "segment_cursor.h"

namespace cairn::log {
namespace {

class DirectoryReader final : public LogReader {
 public:
  DirectoryReader(std::shared_ptr<FileSystem> fs, std::string dir, ReaderOptions options,
                  std::function<Lsn()> durable_end, std::function<void()> on_close = {})
      : fs_(std::move(fs)),
        dir_(std::move(dir)),
        options_(std::move(options)),
        durable_end_(std::move(durable_end)),
        on_close_(std::move(on_close)) {}
  ~DirectoryReader() override {
    if (on_close_) on_close_();
  }

  Status init() {
    CAIRN_ASSIGN_OR_RETURN(DirectoryListing listing, list_log_directory(*fs_, dir_));
    segments_ = std::move(listing.segments);
    if (segments_.empty()) return Status();
    size_t start = 0;
    for (size_t i = 0; i < segments_.size(); ++i) {
      // Past a name that does not begin after the one before it (a broken sequence), "the last
      // segment that begins at or before `from`" means nothing: start before the break, and
      // reading reaches it and reports it, as verify does. (Two files named for LSN 0 made a
      // reader skip the first and read the second as the log.)
      if (i > 0 && segments_[i].first_lsn <= segments_[i - 1].first_lsn) break;
      if (segments_[i].first_lsn <= options_.from) start = i;
    }
    return open_segment(start);
  }

  Result<const ReadRecord*> next() override {
    Result<const ReadRecord*> r = next_record();
    // A live reader's segments are pinned; an offline one's are not, and on a running engine's log
    // retention may remove or recycle (rename, then overwrite) the segment being read. What that
    // leaves looks like damage or a missing file: say what happened instead.
    if (!r.ok() && !durable_end_) {
      if (std::optional<Status> changed = left_the_log(r.status())) return *changed;
    }
    return r;
  }

 private:
  static constexpr int kRereadAttempts = 3;

  Result<const ReadRecord*> next_record() {
    for (int stalls = 0;;) {
      if (!cursor_) return nullptr;  // empty directory
      const Lsn bound = durable_end_ ? durable_end_() : kNoLsn;
      if (cursor_->expected_lsn() >= bound) return nullptr;
      format::DecodedFrame f;
      uint64_t offset = 0;
      CAIRN_ASSIGN_OR_RETURN(SegmentCursor::Next n, cursor_->next(&f, &offset));
      if (n == SegmentCursor::Next::kFrame) {
        reread_ = false;
        if (f.header.lsn < options_.from) continue;
        record_ = ReadRecord{f.header.lsn, f.header.type, f.payload, segments_[index_].seq, offset};
        return &record_;
      }
      const bool live_gap = bound != kNoLsn && cursor_->expected_lsn() < bound;
      const bool header_ok = cursor_->header_state() == format::HeaderState::kValid;
      if (n == SegmentCursor::Next::kEnd && !live_gap) {
        if (index_ + 1 < segments_.size()) {
          CAIRN_RETURN_IF_ERROR(advance());
          continue;
        }
        return nullptr;
      }
      if (!live_gap) return damage_error();
      // Live, and durable records are missing: the writer wrote them after we read. Read this
      // segment again from where we are first; move on only when it really ends here.
      if (!reread_ && header_ok) {
        reread_ = true;
        cursor_->retry();
        continue;
      }
      // A header we read before the writer wrote it says nothing about where this segment ends:
      // read it again (below) before moving on.
      if (header_ok && n == SegmentCursor::Next::kEnd &&
          (index_ + 1 < segments_.size() || relist_has_next())) {
        reread_ = false;
        CAIRN_RETURN_IF_ERROR(advance());
        continue;
      }
      if (++stalls <= kRereadAttempts) {
        reread_ = false;
        CAIRN_RETURN_IF_ERROR(reopen_at_expected());  // e.g. the header was not written yet
        continue;
      }
      return damage_error();
    }
  }

  // kNotFound naming the segment when the one being read, or the next, is no longer in the
  // directory under its name (the names are never used again: the sequence number is in them).
  std::optional<Status> left_the_log(const Status& error) const {
    const size_t end = std::min(index_ + 2, segments_.size());
    const std::optional<SegmentGone> gone = first_segment_gone(
        *fs_, dir_, std::span<const SegmentFile>(segments_).subspan(index_, end - index_));
    if (!gone) return std::nullopt;
    const std::string first =
        gone->log_starts_at ? std::to_string(*gone->log_starts_at) : std::string("none");
    return Status(StatusCode::kNotFound,
                  "log " + dir_ + ": segment " + gone->name +
                      " left the log while it was read (a running engine's retention removes or "
                      "recycles the segments it no longer needs; the log now starts at LSN " +
                      first + "): read it again (what it said: " + error.message() + ")");
  }

  Status open_segment(size_t i) {
    index_ = i;
    cursor_ =
        std::make_unique<SegmentCursor>(*fs_, join_path(dir_, segments_[i].name), segments_[i],
                                        options_.chunk_bytes, options_.payload_verifier);
    cursor_->check_from(options_.from);  // what comes before `from` is never returned
    CAIRN_RETURN_IF_ERROR(cursor_->open());
    return cursor_->start_near(options_.from_frame);
  }

  bool relist_has_next() {
    auto listing = list_log_directory(*fs_, dir_);
    if (!listing.ok()) return false;
    // Retention may have taken segments before ours out of the log since the last listing (they
    // lie below this reader's pin, ours never leaves): find ours again by its sequence number
    // rather than by its old index, which would now name a later segment, or none.
    const uint64_t seq = segments_[index_].seq;
    const auto it = std::find_if(listing->segments.begin(), listing->segments.end(),
                                 [seq](const SegmentFile& s) { return s.seq == seq; });
    if (it == listing->segments.end()) return false;  // not ours to judge here: keep the old list
    index_ = static_cast<size_t>(it - listing->segments.begin());
    segments_ = std::move(listing->segments);
    return index_ + 1 < segments_.size();
  }

  Status advance() {
    const SegmentFile& cur = segments_[index_];
    const SegmentFile& nxt = segments_[index_ + 1];
    if (auto why = why_not_next_segment(cur, cursor_->expected_lsn(), nxt)) {
      return Status(StatusCode::kCorruption, "log " + dir_ + ": segment " + nxt.name +
                                                 " does not follow " + cur.name + ": " + *why);
    }
    return open_segment(index_ + 1);
  }

  Status reopen_at_expected() {
    const Lsn want = cursor_->expected_lsn();
    CAIRN_RETURN_IF_ERROR(open_segment(index_));
    format::DecodedFrame f;
    uint64_t offset = 0;
    while (cursor_->expected_lsn() < want) {
      CAIRN_ASSIGN_OR_RETURN(SegmentCursor::Next n, cursor_->next(&f, &offset));
      if (n != SegmentCursor::Next::kFrame) return damage_error().status();
    }
    return Status();
  }

  Result<const ReadRecord*> damage_error() {
    const SegmentFile& s = segments_[index_];
    std::string what = cursor_->header_state() == format::HeaderState::kInvalid
                           ? "bad segment header: " + cursor_->header_problem()
                           : cursor_->bad_what();
    if (what.empty()) what = "durable records are missing";
    return Status(StatusCode::kCorruption, "log " + dir_ + ": damage in " + s.name + " at offset " +
                                               std::to_string(cursor_->bad_offset()) + " (LSN " +
                                               std::to_string(cursor_->expected_lsn()) +
                                               "): " + what);
  }

  std::shared_ptr<FileSystem> fs_;
  std::string dir_;
  ReaderOptions options_;
  std::function<Lsn()> durable_end_;
  std::function<void()> on_close_;  // a live reader's: lets retention go on
  std::vector<SegmentFile> segments_;
  size_t index_ = 0;
  std::unique_ptr<SegmentCursor> cursor_;
  ReadRecord record_;
  bool reread_ = false;  // the current segment was read again since the last record
};

}  // namespace

Result<std::unique_ptr<LogReader>> LogReader::open(const std::filesystem::path& dir,
                                                   ReaderOptions options) {
  auto fs = options.file_system ? options.file_system : posix_file_system();
  CAIRN_ASSIGN_OR_RETURN(bool exists, fs->exists(dir.string()));
  if (!exists) return Status(StatusCode::kNotFound, "no log directory " + dir.string());
  auto r = std::make_unique<DirectoryReader>(fs, dir.string(), std::move(options), nullptr);
  CAIRN_RETURN_IF_ERROR(r->init());
  return std::unique_ptr<LogReader>(std::move(r));
}

std::unique_ptr<LogReader> make_live_reader(std::shared_ptr<FileSystem> fs, std::string dir,
                                            Lsn from, FramePosition near, PayloadVerifier verifier,
                                            std::function<Lsn()> durable_end,
                                            std::function<void()> on_close, Status* error) {
  ReaderOptions options;
  options.from = from;
  options.from_frame = near;
  options.payload_verifier = verifier;
  auto r = std::make_unique<DirectoryReader>(std::move(fs), std::move(dir), std::move(options),
                                             std::move(durable_end), std::move(on_close));
  *error = r->init();
  if (!error->ok()) return nullptr;
  return r;
}

}  // namespace cairn::log
