// Snapshot files (see snapshot_file.h): framing, atomic writing, checked reading.
#include "snapshot_file.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <utility>

#include "cairn/log/check.h"
#include "cairn/schema/snapshot_generated.h"

namespace cairn::detail {
namespace {

constexpr char kMagic[8] = {'C', 'A', 'I', 'R', 'N', 'S', 'N', 'P'};
constexpr size_t kFileHeaderBytes = 16;
constexpr size_t kFrameHeaderBytes = 16;
constexpr size_t kWriteBufferBytes = 1u << 20;
constexpr std::string_view kPrefix = "snapshot-";
constexpr std::string_view kSuffix = ".snap";
constexpr std::string_view kTmpSuffix = ".snap.tmp";

void put_u32(uint8_t* p, uint32_t v) {
  std::memcpy(p, &v, 4);
}
void put_u64(uint8_t* p, uint64_t v) {
  std::memcpy(p, &v, 8);
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint64_t frame_checksum(uint32_t kind, uint32_t len, const uint8_t* payload) {
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  uint8_t head[8];
  put_u32(head, kind);
  put_u32(head + 4, len);
  XXH3_64bits_update(&st, head, sizeof head);
  XXH3_64bits_update(&st, payload, len);
  return XXH3_64bits_digest(&st);
}

std::string join(const std::string& dir, std::string_view name) {
  return dir + "/" + std::string(name);
}

bool verify_payload(SnapshotFrameKind kind, std::span<const uint8_t> p) {
  flatbuffers::Verifier v(p.data(), p.size());
  namespace s = schema::snapshot;
  switch (kind) {
    case SnapshotFrameKind::kHeader:
      return v.VerifyBuffer<s::SnapshotHeader>(nullptr);
    case SnapshotFrameKind::kChunk:
      return v.VerifyBuffer<s::SnapshotChunk>(nullptr);
    case SnapshotFrameKind::kEnd:
      return v.VerifyBuffer<s::SnapshotEnd>(nullptr);
  }
  return false;
}

}  // namespace

std::string snapshot_file_name(uint64_t lsn) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "snapshot-%020llu.snap", static_cast<unsigned long long>(lsn));
  return buf;
}

Result<std::vector<SnapshotName>> list_snapshots(log::FileSystem& fs, const std::string& dir,
                                                 bool remove_leftovers) {
  CAIRN_ASSIGN_OR_RETURN(const bool exists, fs.exists(dir));
  std::vector<SnapshotName> out;
  if (!exists) return out;
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.list_dir(dir));
  for (const std::string& n : names) {
    if (!n.starts_with(kPrefix)) continue;
    if (n.ends_with(kTmpSuffix)) {
      // An unfinished write of a process that stopped: never renamed, so never relied on.
      if (remove_leftovers) CAIRN_RETURN_IF_ERROR(fs.remove(join(dir, n)));
      continue;
    }
    if (!n.ends_with(kSuffix)) continue;
    const std::string_view digits =
        std::string_view(n).substr(kPrefix.size(), n.size() - kPrefix.size() - kSuffix.size());
    uint64_t lsn = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), lsn);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.size() != 20) continue;
    out.push_back(SnapshotName{lsn, n});
  }
  std::sort(out.begin(), out.end(),
            [](const SnapshotName& a, const SnapshotName& b) { return a.lsn > b.lsn; });
  return out;
}

Result<std::unique_ptr<SnapshotFileWriter>> SnapshotFileWriter::create(
    std::shared_ptr<log::FileSystem> fs, std::string dir, uint64_t lsn, uint64_t bytes_max) {
  const std::string tmp = join(dir, snapshot_file_name(lsn) + ".tmp");
  (void)fs->remove(tmp);  // a leftover of an earlier attempt; absent is fine
  CAIRN_ASSIGN_OR_RETURN(
      int fd, fs->open(tmp, log::OpenFlags{.write = true, .create = true, .exclusive = true}));
  auto w = std::unique_ptr<SnapshotFileWriter>(
      new SnapshotFileWriter(std::move(fs), std::move(dir), lsn, fd, bytes_max));
  w->buf_.resize(kFileHeaderBytes);
  std::memcpy(w->buf_.data(), kMagic, sizeof kMagic);
  put_u32(w->buf_.data() + 8, kSnapshotFormatVersionBase);  // commit() raises it if need be
  put_u32(w->buf_.data() + 12, 0);
  return w;
}

SnapshotFileWriter::SnapshotFileWriter(std::shared_ptr<log::FileSystem> fs, std::string dir,
                                       uint64_t lsn, int fd, uint64_t bytes_max)
    : fs_(std::move(fs)), dir_(std::move(dir)), fd_(fd), bytes_max_(bytes_max) {
  path_ = join(dir_, snapshot_file_name(lsn));
  tmp_path_ = path_ + ".tmp";
}

SnapshotFileWriter::~SnapshotFileWriter() {
  // Only an uncommitted (or already synced and renamed) file is left here: nothing relies on a
  // .tmp file, and the next listing removes one this could not.
  if (fd_ >= 0) (void)fs_->close(fd_);
  if (!committed_) (void)fs_->remove(tmp_path_);
}

Status SnapshotFileWriter::add(SnapshotFrameKind kind, std::span<const uint8_t> payload) {
  if (payload.size() > kSnapshotFrameBytesMax) {
    return Status(StatusCode::kLimitExceeded,
                  "a snapshot frame of " + std::to_string(payload.size()) +
                      " bytes is over the limit of " + std::to_string(kSnapshotFrameBytesMax));
  }
  // Counted with what is still buffered: recovery refuses a file over the limit, so there is no
  // point writing the rest of one (nor, above all, committing it).
  const uint64_t after = bytes() + kFrameHeaderBytes + payload.size();
  if (after > bytes_max_) {
    return Status(StatusCode::kLimitExceeded,
                  "the snapshot passed " + std::to_string(bytes_max_) +
                      " bytes (snapshot_bytes_max) at " + std::to_string(after) +
                      " bytes and is not written: recovery would refuse it");
  }
  const size_t at = buf_.size();
  buf_.resize(at + kFrameHeaderBytes + payload.size());
  const auto k = static_cast<uint32_t>(kind);
  const auto len = static_cast<uint32_t>(payload.size());
  put_u32(buf_.data() + at, k);
  put_u32(buf_.data() + at + 4, len);
  std::memcpy(buf_.data() + at + kFrameHeaderBytes, payload.data(), payload.size());
  put_u64(buf_.data() + at + 8, frame_checksum(k, len, buf_.data() + at + kFrameHeaderBytes));
  return buf_.size() >= kWriteBufferBytes ? flush() : Status();
}

Status SnapshotFileWriter::flush() {
  if (buf_.empty()) return Status();
  CAIRN_RETURN_IF_ERROR(fs_->pwrite(fd_, buf_.data(), buf_.size(), offset_));
  offset_ += buf_.size();
  buf_.clear();
  return Status();
}

Status SnapshotFileWriter::commit() {
  CAIRN_CHECK(version_ <= kSnapshotFormatVersion);
  if (version_ != kSnapshotFormatVersionBase) {
    // The header went out with the first megabyte; the file is still only a .tmp.
    uint8_t v[4];
    put_u32(v, version_);
    if (offset_ == 0) {
      std::memcpy(buf_.data() + 8, v, sizeof v);
    } else {
      CAIRN_RETURN_IF_ERROR(fs_->pwrite(fd_, v, sizeof v, 8));
    }
  }
  CAIRN_RETURN_IF_ERROR(flush());
  CAIRN_RETURN_IF_ERROR(fs_->fdatasync(fd_));
  // Forgotten whether or not close succeeds: the descriptor is released either way (POSIX leaves
  // it unspecified, Linux always frees it), and the destructor closing the number again could
  // close a file someone else opened since.
  const int fd = std::exchange(fd_, -1);
  CAIRN_RETURN_IF_ERROR(fs_->close(fd));
  CAIRN_RETURN_IF_ERROR(fs_->rename(tmp_path_, path_));
  committed_ = true;
  return fs_->fsync_dir(dir_);
}

Result<SnapshotContents> read_snapshot_file(log::FileSystem& fs, const std::string& path,
                                            uint64_t bytes_max, bool* newer_format) {
  *newer_format = false;
  auto bad = [&](uint64_t off, const std::string& what) {
    return Status(StatusCode::kCorruption,
                  "snapshot " + path + " at offset " + std::to_string(off) + ": " + what);
  };
  CAIRN_ASSIGN_OR_RETURN(int fd, fs.open(path, log::OpenFlags{}));
  SnapshotContents out;
  Result<uint64_t> size = fs.file_size(fd);
  Status st = size.status();
  if (st.ok() && *size > bytes_max) {
    st = Status(StatusCode::kLimitExceeded, "snapshot " + path + " has " + std::to_string(*size) +
                                                " bytes, over snapshot_bytes_max (" +
                                                std::to_string(bytes_max) + ")");
  }
  if (st.ok()) {
    out.bytes.resize(*size);
    uint64_t got = 0;
    while (st.ok() && got < out.bytes.size()) {
      Result<size_t> n = fs.pread(fd, out.bytes.data() + got, out.bytes.size() - got, got);
      if (!n.ok()) {
        st = n.status();
      } else if (*n == 0) {
        st = bad(got, "the file ended while being read");
      } else {
        got += *n;
      }
    }
  }
  (void)fs.close(fd);  // read-only: a failed close loses nothing
  CAIRN_RETURN_IF_ERROR(st);
  const uint8_t* b = out.bytes.data();
  const uint64_t n = out.bytes.size();
  if (n < kFileHeaderBytes || std::memcmp(b, kMagic, sizeof kMagic) != 0) {
    return bad(0, "not a Cairn snapshot (no CAIRNSNP magic)");
  }
  const uint32_t version = get_u32(b + 8);
  if (version > kSnapshotFormatVersion) {
    *newer_format = true;
    return bad(8, "format version " + std::to_string(version) +
                      " is newer than this build reads (" + std::to_string(kSnapshotFormatVersion) +
                      "): it was written by a newer Cairn; open it with that version");
  }
  if (version == 0) return bad(8, "format version 0");
  uint64_t off = kFileHeaderBytes;
  bool ended = false;
  while (off < n) {
    if (ended) return bad(off, "bytes after the end frame");
    if (n - off < kFrameHeaderBytes) return bad(off, "a frame header cut short (torn file)");
    const uint32_t kind = get_u32(b + off);
    const uint32_t len = get_u32(b + off + 4);
    if (kind < 1 || kind > 3) return bad(off, "unknown frame kind " + std::to_string(kind));
    if (len > kSnapshotFrameBytesMax || len > n - off - kFrameHeaderBytes) {
      return bad(off, "a frame of " + std::to_string(len) + " bytes runs past the file's end");
    }
    const uint8_t* payload = b + off + kFrameHeaderBytes;
    if (get_u64(b + off + 8) != frame_checksum(kind, len, payload)) {
      return bad(off, "checksum mismatch");
    }
    const auto k = static_cast<SnapshotFrameKind>(kind);
    const bool first = out.frames.empty();
    if (first != (k == SnapshotFrameKind::kHeader)) {
      return bad(off, first ? "the first frame is not the header" : "a second header");
    }
    if (!verify_payload(k, {payload, len})) return bad(off, "a frame that does not verify");
    out.frames.push_back(SnapshotFrame{k, {payload, len}});
    ended = k == SnapshotFrameKind::kEnd;
    off += kFrameHeaderBytes + len;
  }
  if (!ended) return bad(n, "no end frame (the file is incomplete)");
  return out;
}

namespace {

log::FramePosition last_frame_in(std::span<const uint8_t> header_payload) {
  const auto* h = flatbuffers::GetRoot<schema::snapshot::SnapshotHeader>(header_payload.data());
  if (h->last_frame_segment() == 0 || h->lsn() == 0) return {};
  return log::FramePosition{h->last_frame_segment(), h->last_frame_offset(), h->lsn() - 1};
}

}  // namespace

log::FramePosition snapshot_last_frame(const SnapshotContents& snapshot) {
  if (snapshot.frames.empty()) return {};
  return last_frame_in(snapshot.frames.front().payload);
}

log::FramePosition read_snapshot_last_frame(log::FileSystem& fs, const std::string& path) {
  // The header frame holds counts and the cron cursors: far below this unless there are tens of
  // thousands of cron triggers (then no hint, and the log is followed from the segment's start).
  constexpr uint32_t kHeaderFrameBytesMax = 1u << 20;
  Result<int> fd = fs.open(path, log::OpenFlags{});
  if (!fd.ok()) return {};
  uint8_t head[kFileHeaderBytes + kFrameHeaderBytes];
  std::vector<uint8_t> payload;
  bool ok = false;
  Result<size_t> got = fs.pread(*fd, head, sizeof head, 0);
  if (got.ok() && *got == sizeof head && std::memcmp(head, kMagic, sizeof kMagic) == 0) {
    const uint32_t version = get_u32(head + 8);
    const uint32_t kind = get_u32(head + kFileHeaderBytes);
    const uint32_t len = get_u32(head + kFileHeaderBytes + 4);
    if (version >= 1 && version <= kSnapshotFormatVersion &&
        kind == static_cast<uint32_t>(SnapshotFrameKind::kHeader) && len <= kHeaderFrameBytesMax) {
      payload.resize(len);
      got = fs.pread(*fd, payload.data(), len, sizeof head);
      ok = got.ok() && *got == len &&
           get_u64(head + kFileHeaderBytes + 8) == frame_checksum(kind, len, payload.data()) &&
           verify_payload(SnapshotFrameKind::kHeader, payload);
    }
  }
  (void)fs.close(*fd);  // read-only: a failed close loses nothing
  return ok ? last_frame_in(payload) : log::FramePosition{};
}

std::optional<SnapshotName> newest_snapshot_by_name(log::FileSystem& fs, const std::string& dir,
                                                    const std::vector<SnapshotName>& newest_first) {
  for (const SnapshotName& s : newest_first) {
    Result<int> fd = fs.open(dir + "/" + s.name, log::OpenFlags{});
    if (!fd.ok()) continue;
    uint8_t head[sizeof kMagic];
    const Result<size_t> got = fs.pread(*fd, head, sizeof head, 0);
    (void)fs.close(*fd);  // read-only: a failed close loses nothing
    if (got.ok() && *got == sizeof head && std::memcmp(head, kMagic, sizeof kMagic) == 0) return s;
  }
  return std::nullopt;
}

}  // namespace cairn::detail
